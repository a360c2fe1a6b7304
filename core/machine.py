"""The machine a measurement ran on: CPU model, cores, threads, RAM, OS, Python, torch and library versions.

Every benchmark stores this next to its numbers, because latency means nothing without the machine.
"""
from __future__ import annotations

import os
import platform
from typing import Any

#: CPU flags that decide int8 / bf16 kernel speed (VNNI = int8 dot products, AMX = matrix tiles)
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16", "neon", "asimddp")


def _cpuinfo() -> dict[str, str]:
    """First processor block of /proc/cpuinfo (Linux), else {}."""
    try:
        text = open("/proc/cpuinfo", encoding="utf-8", errors="replace").read()
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def cpu_flags() -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (empty off Linux)."""
    return set(_cpuinfo().get("flags", "").split())


def cpu_model() -> str:
    info = _cpuinfo()
    return info.get("model name") or info.get("Hardware") or platform.processor() or platform.machine()


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("numpy", "scikit-learn", "torch", "transformers", "tokenizers", "safetensors", "onnxruntime",
                "onnx", "scipy", "pandas"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def machine_info(threads: int | None = None) -> dict[str, Any]:
    """Description of this machine and software; `threads` = the torch intra-op threads used (default: current)."""
    import psutil

    flags = cpu_flags()
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "arch": platform.machine(),
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": psutil.cpu_count(logical=True),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu_flags": sorted(flags & set(FLAGS)),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "versions": _versions(),
    }
    try:
        import torch

        info["torch_threads"] = int(threads or torch.get_num_threads())
        info["torch_quantized_engine"] = torch.backends.quantized.engine
        info["cuda"] = bool(torch.cuda.is_available())
    except ImportError:
        info["torch_threads"] = threads
    return info


def summary(info: dict[str, Any]) -> str:
    """One line: 'AMD EPYC, 2 cores (2 threads used), 23.4 GB RAM, Linux-..., Python 3.11.7, torch 2.13.0'."""
    v = info.get("versions", {})
    return (f"{info.get('cpu')}, {info.get('logical_cores')} cores ({info.get('torch_threads')} threads used), "
            f"{info.get('ram_gb')} GB RAM, {info.get('os')}, Python {info.get('python')}, torch {v.get('torch', '-')}"
            + (f", load average {info['load_average_1min']}" if info.get("load_average_1min") is not None else ""))
