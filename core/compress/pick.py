"""Budget picker: the most accurate model of a lineage family under a latency and / or size budget.

    family(model, infos) -> [names]: the root ancestor of `model` and everything built from it
    candidates(names) -> [{model, method, accuracy, f1_macro, size_mb, latency_ms, latency_source}]
    pick(rows, max_ms=None, max_mb=None, metric="accuracy") -> {"chosen", "rows" (with fits / why not), ...}
Latency: batch-1 p50 from the newest saved `python -m core bench` run that holds the model (comparable numbers:
one interleaved run), else the latency measured when the model was saved (metrics latency_ms_p50; noisier).
Size and accuracy are the artifact's stored metrics. `pick` is pure (rows in, dict out) so it can be tested on
fake records.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ParamError


def root_of(model: str, parents: dict[str, str]) -> str:
    """The oldest ancestor of `model` whose parent is not a known model (cycles stop at the first repeat)."""
    seen = {model}
    while parents.get(model) in parents and parents[model] not in seen:
        model = parents[model]
        seen.add(model)
    return model


def family(model: str, infos: Sequence[Any]) -> list[str]:
    """`model`'s lineage family: its root ancestor first, then every variant built from it (breadth first)."""
    from ..lineage import descendants

    parents = {i.name: i.parent for i in infos}
    if model not in parents:
        raise ParamError(f"no model named {model!r}")
    root = root_of(model, parents)
    return [root, *descendants(root, infos)]


def _bench_latency() -> dict[str, float]:
    """{model: latency_p50_ms} of the newest bench run holding each model (newest first wins)."""
    from ..bench import list_runs, load_run

    out: dict[str, float] = {}
    for path in list_runs()[:50]:
        try:
            df, _ = load_run(path)
        except Exception:  # noqa: BLE001 - an unreadable old run is skipped, never fatal
            continue
        for r in df.itertuples():
            if r.model not in out and r.latency_p50_ms == r.latency_p50_ms:  # skip NaN
                out[str(r.model)] = float(r.latency_p50_ms)
    return out


def candidates(names: Sequence[str]) -> list[dict[str, Any]]:
    """One record per model (see the module docstring); models without an accuracy are left out."""
    from ..artifacts import get_artifact

    bench = _bench_latency()
    rows = []
    for n in names:
        info = get_artifact(n)
        m = info.metrics or {}
        if info.broken or m.get("accuracy") is None:
            continue
        lat, src = (bench[n], "bench") if n in bench else (m.get("latency_ms_p50"), "saved metrics")
        rows.append({"model": n, "method": (info.manifest.get("compression") or {}).get("method", ""),
                     "accuracy": float(m["accuracy"]), "f1_macro": m.get("f1_macro"), "size_mb": m.get("size_mb"),
                     "latency_ms": None if lat is None else float(lat), "latency_source": src if lat else ""})
    return rows


def pick(rows: Sequence[dict[str, Any]], max_ms: float | None = None, max_mb: float | None = None,
         metric: str = "accuracy") -> dict[str, Any]:
    """The row with the best `metric` among those within both budgets (a missing budget is no limit; a model
    with an unknown latency / size fails that budget). Ties: the faster, then the smaller model.

    Returns {"chosen": name or None, "metric", "max_ms", "max_mb", "rows": rows + fits, why_not}."""
    if max_ms is not None and max_ms <= 0 or max_mb is not None and max_mb <= 0:
        raise ParamError("budgets must be positive (omit one for no limit)")
    out = []
    for r in rows:
        why = []
        if max_ms is not None and (r.get("latency_ms") is None or r["latency_ms"] > max_ms):
            why.append("latency unknown" if r.get("latency_ms") is None else f"{r['latency_ms']:.2f} ms > {max_ms:g}")
        if max_mb is not None and (r.get("size_mb") is None or r["size_mb"] > max_mb):
            why.append("size unknown" if r.get("size_mb") is None else f"{r['size_mb']:.1f} MB > {max_mb:g}")
        if r.get(metric) is None:
            why.append(f"no {metric}")
        out.append({**r, "fits": not why, "why_not": "; ".join(why)})
    fits = [r for r in out if r["fits"]]
    best = max(fits, key=lambda r: (r[metric], -(r.get("latency_ms") or 0.0), -(r.get("size_mb") or 0.0)),
               default=None)
    out.sort(key=lambda r: (not r["fits"], -(r.get(metric) or 0.0)))
    return {"chosen": best["model"] if best else None, "metric": metric, "max_ms": max_ms, "max_mb": max_mb,
            "rows": out}


def pick_for(model: str, max_ms: float | None = None, max_mb: float | None = None,
             metric: str = "accuracy") -> dict[str, Any]:
    """`pick` over `model`'s lineage family (core.artifacts records), plus "family": the names considered."""
    from ..artifacts import list_artifacts

    names = family(model, list_artifacts())
    return {**pick(candidates(names), max_ms, max_mb, metric), "family": names}
