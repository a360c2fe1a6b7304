"""On-disk weight encodings for compressed variants: int8 per-row, fp16, bf16, and dropping all-zero rows/columns.

A variant stores its parent family's own folder (`base/`) with every `*.safetensors` file re-encoded; all other
files (configs, tokenizers) are copied unchanged. Decoding writes plain float32 safetensors into a temporary
folder that the family's own `load()` reads, so no family needs to know about compression.

Encodings of one float tensor `w` (recorded per tensor in the safetensors header, key `textlab_encoding`):
    int8   2-D+ tensors with ≥ `MIN_INT8` numbers: q = round(w / s) in [-127, 127] with one float32 scale per row,
           s = max|row| / 127 (stored as `<name>::scale`). Exact to re-encode: decode(encode(w)) encodes to the
           same q and s, so a saved -> loaded -> saved variant is bit-identical.
    fp16 / bf16   the tensor cast to half precision (decoded back to float32: compute stays fp32).
    rows / cols   2-D tensors whose rows (or columns) are all exactly zero keep only the non-zero ones plus their
           indices (`<name>::rows`, `<name>::cols`); pruned attention heads shrink the file this way.
Nothing is pickled: safetensors headers are JSON, tensors raw bytes.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from ..errors import ArtifactError, ParamError

ENCODING_KEY = "textlab_encoding"
STORAGES = ("fp32", "fp16", "bf16", "int8")
#: tensors smaller than this stay float32 under int8 storage (biases, norms: negligible size, sensitive)
MIN_INT8 = 1024
_HALF = {"fp16": torch.float16, "bf16": torch.bfloat16}


class StorageError(ArtifactError, ValueError):
    """A variant's weight files are missing or were not written by this module (also a ValueError, as before)."""


def int8_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row int8: w (r, ...) float -> (q int8 same shape, scale (r,) float32), w ≈ q * scale."""
    flat = w.detach().float().reshape(w.shape[0], -1)
    scale = (flat.abs().amax(dim=1) / 127.0).clamp_min(1e-12)
    q = torch.round(flat / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    return q.reshape(w.shape), scale


def dequant_rows(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Inverse of `int8_rows`: float32 tensor of q's shape."""
    flat = q.reshape(q.shape[0], -1).float() * scale.float()[:, None]
    return flat.reshape(q.shape)


def _zero_index(w: torch.Tensor, dim: int) -> torch.Tensor | None:
    """Indices kept along `dim` of a 2-D tensor when some slices are all zero (None when none is)."""
    nonzero = (w != 0).any(dim=1 - dim)
    if bool(nonzero.all()) or not bool(nonzero.any()):
        return None
    return torch.nonzero(nonzero).flatten().to(torch.int32)


def encode_tensors(tensors: dict[str, torch.Tensor], storage: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Encode one file's tensors; returns (tensors to write, per-tensor encoding record)."""
    if storage not in STORAGES:
        raise ParamError(f"storage must be one of {STORAGES}, got {storage!r}")
    out: dict[str, torch.Tensor] = {}
    record: dict[str, dict] = {}
    for name, w in tensors.items():
        if "::" in name:
            raise StorageError(f"tensor name {name!r} uses the reserved separator '::'")
        if not w.is_floating_point():
            out[name] = w.contiguous()
            continue
        info: dict = {"dtype": str(w.dtype).removeprefix("torch."), "shape": list(w.shape)}
        if w.ndim == 2:
            for dim, tag in ((0, "rows"), (1, "cols")):
                keep = _zero_index(w, dim)
                if keep is not None:
                    w = w.index_select(dim, keep.long())
                    out[f"{name}::{tag}"] = keep
                    info[tag] = True
        if storage == "int8" and w.ndim >= 2 and w.numel() >= MIN_INT8:
            q, scale = int8_rows(w)
            out[name], out[f"{name}::scale"] = q.contiguous(), scale.contiguous()
            info["enc"] = "int8"
        elif storage in _HALF:
            out[name] = w.to(_HALF[storage]).contiguous()
            info["enc"] = storage
        else:
            out[name] = w.contiguous()
            info["enc"] = "raw"
        record[name] = info
    return out, record


def decode_tensors(tensors: dict[str, torch.Tensor], record: dict) -> dict[str, torch.Tensor]:
    """Inverse of `encode_tensors`: original names, shapes and float dtypes."""
    out: dict[str, torch.Tensor] = {}
    for name, w in tensors.items():
        if "::" in name:
            continue
        info = record.get(name)
        if info is None:
            out[name] = w
            continue
        if info.get("enc") == "int8":
            if f"{name}::scale" not in tensors:
                raise StorageError(f"tensor {name!r} is int8 but its scale is missing")
            w = dequant_rows(w, tensors[f"{name}::scale"])
        w = w.float()
        shape = info["shape"]
        if info.get("cols"):
            full = torch.zeros((w.shape[0], shape[1]), dtype=w.dtype)
            full[:, tensors[f"{name}::cols"].long()] = w
            w = full
        if info.get("rows"):
            full = torch.zeros((shape[0], w.shape[1]), dtype=w.dtype)
            full[tensors[f"{name}::rows"].long()] = w
            w = full
        if list(w.shape) != list(shape):
            raise StorageError(f"tensor {name!r} decodes to shape {list(w.shape)}, expected {shape}")
        out[name] = w.to(getattr(torch, info["dtype"]))
    return out


def encode_folder(src: Path, dst: Path, storage: str) -> dict[str, int]:
    """Copy folder `src` to `dst`, re-encoding every safetensors file; returns byte counts {before, after}."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    src, dst = Path(src), Path(dst)
    shutil.copytree(src, dst, dirs_exist_ok=True)
    before = after = 0
    for f in sorted(dst.rglob("*.safetensors")):
        with safe_open(str(f), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        before += f.stat().st_size
        out, record = encode_tensors(tensors, storage)
        meta[ENCODING_KEY] = json.dumps(record)
        save_file(out, str(f), metadata=meta)
        after += f.stat().st_size
    return {"weights_bytes_before": before, "weights_bytes_after": after}


def decode_folder(src: Path, dst: Path) -> None:
    """Write a float32 copy of an encoded folder `src` into `dst` (readable by the family's own `load`)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise StorageError(f"{src} is missing")
    shutil.copytree(src, dst, dirs_exist_ok=True)
    files = sorted(dst.rglob("*.safetensors"))
    if not files:
        raise StorageError(f"{src} holds no weight files (*.safetensors)")
    for f in files:
        with safe_open(str(f), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        if ENCODING_KEY not in meta:
            raise StorageError(f"{f.relative_to(dst)} was not written by the compression module")
        record = json.loads(meta.pop(ENCODING_KEY))
        save_file(decode_tensors(tensors, record), str(f), metadata=meta)
