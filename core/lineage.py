"""Lineage of compressed variants (parent → variant) and scorecards rebased on a chosen reference.

Used by the Compression page; every function reads `ArtifactInfo`s (manifest "parent" / "compression") or
a saved benchmark run (core.bench), nothing is loaded or re-run.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .artifacts import ArtifactInfo

#: Node colours of the lineage graph: the reference, every other model (the dashboard's blue and a grey).
REFERENCE_COLOUR, OTHER_COLOUR = "#2f6fb0", "#9aa5b1"


def default_reference(infos: Sequence[ArtifactInfo]) -> str:
    """The model most variants descend from directly (ties: the larger model on disk)."""
    names = {i.name for i in infos}
    children = {n: 0 for n in names}
    for i in infos:
        if i.parent in names:
            children[i.parent] += 1
    size = {i.name: float((i.metrics or {}).get("size_mb") or 0.0) for i in infos}
    return max(infos, key=lambda i: (children[i.name], size[i.name])).name


def descendants(root: str, infos: Sequence[ArtifactInfo]) -> list[str]:
    """Every artifact built from `root`, directly or through other variants (breadth first)."""
    kids: dict[str, list[str]] = {}
    for i in infos:
        kids.setdefault(i.parent, []).append(i.name)
    out, todo = [], [root]
    while todo:
        for k in kids.get(todo.pop(0), []):
            if k not in out and k != root:
                out.append(k)
                todo.append(k)
    return out


def lineage_frame(infos: Sequence[ArtifactInfo]) -> pd.DataFrame:
    """One row per model: model, parent ("" for none), method, what it is (compression description or kind),
    created."""
    return pd.DataFrame([{
        "model": i.name, "parent": i.parent,
        "method": (i.manifest.get("compression") or {}).get("method", ""),
        "what it is": (i.manifest.get("compression") or {}).get("description", "") or i.kind,
        "created": i.created.replace("T", " ")[:19]} for i in infos],
        columns=["model", "parent", "method", "what it is", "created"])


def lineage_dot(lineage: pd.DataFrame, reference: str) -> str | None:
    """Graphviz source of the parent → variant edges of `lineage` (lineage_frame), the reference highlighted;
    None when no model was built from another one. Artifact names are [A-Za-z0-9._-] (safe in quotes)."""
    names = list(lineage["model"])
    edges = lineage[lineage["parent"].isin(names)]
    if not len(edges):
        return None
    dot = ["digraph { rankdir=LR; node [shape=box, style=rounded, fontsize=11];"]
    dot += [f'"{n}" [color="{REFERENCE_COLOUR if n == reference else OTHER_COLOUR}"];' for n in names]
    dot += [f'"{r.parent}" -> "{r.model}" [label="{r.method}", fontsize=9];' for r in edges.itertuples()]
    return "\n".join(dot + ["}"])


def rebased(rows: pd.DataFrame, reference: str, run_reference: str,
            changed_share: Callable[[str], float | None] | None = None) -> pd.DataFrame:
    """Benchmark rows (core.bench.COLUMNS) with ratios against `reference` (a run stores them against its own
    `run_reference`) and `agreement` = 1 - share of changed predictions.

    changed_share(model) -> share of test predictions differing from `reference` (None if unknown): needed only
    when `reference` is not the run's reference.
    """
    df = rows.copy()
    ref = df.set_index("model").loc[reference]
    df["compression_ratio"] = ref["size_mb"] / df["size_mb"].where(df["size_mb"] > 0)
    df["speedup"] = ref["latency_p50_ms"] / df["latency_p50_ms"]
    df["speedup_real"] = ref["latency_real_p50_ms"] / df["latency_real_p50_ms"]
    df["throughput_ratio"] = df["throughput_per_s"] / ref["throughput_per_s"]
    if run_reference != reference and changed_share is not None:
        df["changed_vs_reference"] = [0.0 if m == reference else changed_share(m) for m in df["model"]]
    df["agreement"] = 1.0 - pd.to_numeric(df["changed_vs_reference"], errors="coerce")
    return df


def now_right(changed: pd.DataFrame) -> list[str]:
    """Per row of core.bench.changed_predictions: which side is right now ("variant", "reference" or "neither")."""
    ref_ok = changed["reference"] == changed["true"]
    var_ok = changed["variant"] == changed["true"]
    return ["variant" if v else ("reference" if r else "neither") for r, v in zip(ref_ok, var_ok)]
