"""Numeric precision of torch training and inference: bf16 autocast on CPUs with native bf16 dot products
(AVX512-BF16 or AMX), fp32 elsewhere.

    precision = "auto" | "bf16" | "fp32"     a family parameter (training), $TEXTLAB_PRECISION / --precision
    resolve_precision("auto") -> "bf16" | "fp32"       detection below; an explicit choice is kept as given
    with use_precision("bf16"): ...                     every torch forward inside (core.models.torch_base's
                                                         batched inference and the training loop) autocasts
    autocast(precision) -> context manager              torch.autocast("cpu", bfloat16) or a no-op

Why autocast and not a bf16 model: weights and optimizer state stay fp32 (no loss scaling, no drift), only the
matrix products run in bf16 -- about 2x faster per training step on AVX512-BF16 (`python -m core bench-train`).
Detection: /proc/cpuinfo flags avx512_bf16 / amx_bf16 (core.machine), falling back to
torch.backends.cpu.get_cpu_capability() reporting an AMX level. CUDA is left to the caller (fp32 here).
"""
from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

PRECISIONS = ("auto", "bf16", "fp32")
ENV = "TEXTLAB_PRECISION"

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("textlab_precision", default=None)


def bf16_supported() -> bool:
    """True when this CPU has native bf16 dot products (AVX512-BF16 or AMX-BF16)."""
    from .machine import cpu_flags

    if {"avx512_bf16", "amx_bf16"} & cpu_flags():
        return True
    try:
        import torch

        return "AMX" in str(torch.backends.cpu.get_cpu_capability()).upper()
    except (ImportError, AttributeError):
        return False


def resolve_precision(requested: str | None = None) -> str:
    """'bf16' or 'fp32': `requested` if explicit, else $TEXTLAB_PRECISION if explicit, else detected."""
    for choice in (requested, os.environ.get(ENV)):
        if choice in (None, "", "auto"):
            continue
        if choice not in PRECISIONS:
            from .errors import ParamError

            raise ParamError(f"precision must be one of {PRECISIONS}, got {choice!r}")
        return choice
    return "bf16" if bf16_supported() else "fp32"


def current_precision() -> str:
    """The precision of the enclosing `use_precision` block, else `resolve_precision()` (env / detection)."""
    return _current.get() or resolve_precision()


@contextlib.contextmanager
def use_precision(precision: str | None) -> Iterator[str]:
    """Run the block with `precision` resolved ('auto' -> detected); yields the resolved value."""
    token = _current.set(resolve_precision(precision))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def autocast(precision: str | None = None) -> contextlib.AbstractContextManager:
    """torch.autocast on the CPU in bfloat16 when `precision` (default: current) resolves to bf16, else a no-op."""
    import torch

    if (precision and resolve_precision(precision) or current_precision()) != "bf16":
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=torch.bfloat16)
