"""One self-contained HTML lab report of a model, for a meeting or a bug report.

Sections: the card's sections (summary, data, settings, per-class metrics, lineage, limitations) plus the
report's own: confusion matrix (or per-label errors), reliability diagram, the most confident errors each with an
explanation from the model's default explainer, and the compression scorecard chart. Every user string is
escaped by core.explain.render.case_file_html; plotly.js is inlined once, so the file opens offline.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..evaluate import confusion_counts, label_counts
from .facts import Facts
from .sections import SECTIONS, Part, Section, parts

#: Most confident errors listed in the report, and how many of them are explained (explanations cost seconds).
N_ERRORS, N_EXPLAINED = 10, 3
#: Explainer budget in the report: smaller than the pages' default so a report of a transformer takes seconds.
REPORT_BUDGET = {"max_evals": 100, "n_steps": 16}

Progress = Callable[[float, str], None]


def _confusion(f: Facts) -> Part | None:
    from .. import plots
    from ..confusion import default_subset

    preds = f.predictions
    if preds is None:
        return None
    if preds.multilabel:
        c = label_counts(preds.y_true.astype(int), preds.y_pred)
        return Part("", plots.per_label_confusion(c["tp"], c["fp"], c["fn"], preds.labels))
    counts = confusion_counts(preds.y_true, preds.y_pred, len(preds.labels))
    idx = default_subset(counts)
    note = "" if len(idx) == len(preds.labels) else (
        f"The {len(idx)} classes of the most confused pairs, of {len(preds.labels)}.")
    fig = plots.confusion_heatmap(counts[np.ix_(idx, idx)], [preds.labels[i] for i in idx], indices=idx,
                                  row_totals=counts.sum(axis=1)[idx])
    return Part(note, [note, fig] if note else fig)


def _calibration(f: Facts) -> Part | None:
    from .. import plots

    bins = f.metrics.get("calibration_bins")
    if not bins:
        return None
    return Part("", plots.reliability_diagram({f.name: bins}))


def _errors(f: Facts) -> Part | None:
    """The most confident errors; the first N_EXPLAINED explained towards the predicted class."""
    table = f.top_errors(int(f.extras.get("n_errors", N_ERRORS)))
    if table.empty:
        return None
    content: list[Any] = [table]
    n_explain = int(f.extras.get("n_explained", N_EXPLAINED))
    if n_explain and not f.multilabel:
        content += _explained(f, table.head(n_explain), f.extras.get("progress"))
    return Part("", content)


def _explained(f: Facts, rows, progress: Progress | None) -> list[Any]:
    from ..artifacts import load_model
    from ..explain import registry
    from ..explain.render import attribution_html

    model = load_model(f.name)
    choices = registry.available(model)
    if not choices:
        return []
    e = choices[0]
    settings = {k: v for k, v in REPORT_BUDGET.items() if any(p.name == k for p in e.params)}
    out: list[Any] = [f"Explanations: {e.title}."]
    for n, row in enumerate(rows.itertuples(index=False)):
        if progress:
            progress(n / max(len(rows), 1), f"explaining error {n + 1} of {len(rows)}")
        cls = f.labels.index(row.predicted)
        attr = registry.run(e.name, model, row.text, cls, model_id=f.name, **settings)
        out.append(attribution_html(attr, row.predicted))
    return out


def _scorecard(f: Facts) -> Part | None:
    from ..plots_compress import tradeoff_scatter

    family = f.family
    if family.empty or family["latency_ms_p50"].isna().all():
        return None
    quality = "accuracy" if not f.multilabel else "f1_macro"
    fig = tradeoff_scatter(family["model"].tolist(), family["latency_ms_p50"].astype(float).tolist(),
                           family[quality].astype(float).tolist(), "latency p50 (ms, 1 text)", quality)
    return Part("", fig)


#: The report's own sections, placed after the card section named by the key.
REPORT_ONLY: list[tuple[str, Section]] = [
    ("summary", Section("confusion", "Confusion", _confusion, card=False)),
    ("confusion", Section("calibration", "Calibration", _calibration, card=False)),
    ("per_class", Section("errors", "Most confident errors", _errors, card=False)),
    ("lineage", Section("scorecard", "Compression scorecard", _scorecard, card=False)),
]


def report_sections() -> list[Section]:
    """SECTIONS with the report-only ones inserted after their anchors."""
    out = list(SECTIONS)
    for anchor, section in REPORT_ONLY:
        keys = [s.key for s in out]
        out.insert(keys.index(anchor) + 1 if anchor in keys else len(out), section)
    return out


def lab_report_html(name: str, *, n_errors: int = N_ERRORS, n_explained: int = N_EXPLAINED,
                    progress: Progress | None = None) -> str:
    """The lab report of the saved model `name` as one HTML document (str)."""
    from ..explain.render import case_file_html

    f = Facts.of(name)
    # a report may take seconds: it computes the slice table when none was recorded (a card never does)
    f.extras.update(n_errors=n_errors, n_explained=n_explained, progress=progress, compute=True)
    sections = [(s.title, p.html) for s, p in parts(f, "report", report_sections())]
    if progress:
        progress(1.0, "report ready")
    meta = {"model": f.name, "kind": f.kind, "dataset": f.dataset, "created": f.manifest.get("created", "")}
    return case_file_html(f"Lab report: {f.name}", sections, meta=meta)
