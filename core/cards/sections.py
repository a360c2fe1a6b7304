"""The sections of a model card and a lab report: a registry of small builders over `Facts`.

Each `Section` has a title, where it appears (card, report or both) and `build(facts) -> Part | None`
(None: nothing recorded for this model, the section is left out). A Part carries the card's markdown and the
report's content (anything core.explain.render.case_file_html accepts: text, a DataFrame, a plotly figure, a dict
or a list of these). Adding a section (say, fairness metrics) = one function + one row in SECTIONS.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import markdown as md
from .facts import Facts

#: A class / label whose test F1 is this far below the macro F1 is named under "Limitations".
WEAK_CLASS_GAP = 0.05
#: Expected calibration error above which the card warns that confidences should not be read as probabilities.
ECE_WARN = 0.05


@dataclass
class Part:
    markdown: str
    html: Any


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    build: Callable[[Facts], Part | None]
    card: bool = True
    report: bool = True


def _summary(f: Facts) -> Part:
    task = "multi-label" if f.multilabel else "multi-class"
    what = (f"A **{md.text(f.kind)}** {task} text classifier over {len(f.labels)} "
            f"{'labels' if f.multilabel else 'classes'}, trained on the dataset **{md.text(f.dataset)}** "
            f"with Text Classification Lab.")
    if f.manifest.get("parent"):
        comp = f.manifest.get("compression") or {}
        what += (f" It is a compressed variant ({md.text(comp.get('method', '?'))}) of "
                 f"**{md.text(f.manifest['parent'])}**.")
    scores = {title: value for _, _, title, value in f.headline()}
    use = ("Intended use: sorting or triaging texts like those of the training data, with a human checking the "
           "low-confidence and high-stakes cases. Not intended for texts of another domain or language, or for "
           "decisions about people without review.")
    return Part(f"{what}\n\n{md.pairs(scores)}\n\n{use}", [what.replace("**", ""), scores, use])


def _data(f: Facts) -> Part:
    preds = f.predictions
    values = {"dataset": f.dataset, "language": f.language,
              "dataset fingerprint": f.manifest.get("dataset_fingerprint"),
              "test set fingerprint": f.manifest.get("test_fingerprint"),
              "test texts": int(f.metrics.get("n") or (len(preds.texts) if preds else 0)),
              "classes" if not f.multilabel else "labels": ", ".join(f.labels[:40])
              + (f" … ({len(f.labels)} in all)" if len(f.labels) > 40 else "")}
    return Part(md.pairs(values), values)


def _training(f: Facts) -> Part:
    values: dict[str, Any] = dict(f.settings())
    for key, title in (("train_seconds", "training time (s)"), ("peak_memory_mb", "peak memory (MB)"),
                       ("size_mb", "size on disk (MB)"), ("n_parameters", "parameters"),
                       ("latency_ms_p50", "latency p50 (ms, 1 text)")):
        if f.metrics.get(key) is not None:
            values[title] = f.metrics[key]
    info = f.metrics.get("train_info") or {}
    values.update({f"train info: {k}": v for k, v in info.items() if isinstance(v, (str, int, float, bool))})
    return Part(md.pairs(values), values)


def _per_class(f: Facts) -> Part | None:
    frame = f.per_class()
    if frame.empty:
        return None
    return Part(md.table(frame, max_rows=100), frame)


def _lineage(f: Facts) -> Part | None:
    family = f.family
    if family.empty:
        return None
    shown = family.assign(model=[f"{m} (this model)" if t else m for m, t in zip(family["model"], family["this"])])
    shown = shown.drop(columns=["this"])
    return Part("The first row is the model the others were compressed from.\n\n" + md.table(shown), shown)


#: Worst slices listed on a card / in a report.
WORST_SLICES = 8


def _worst_slices(f: Facts) -> Part | None:
    """The slices where the main metric falls furthest below the whole test set's (core.slices). A card reads
    only a table computed before (fast, never at save time); a report computes it when missing."""
    from ..slices.table import largest_gaps, recorded_table, slice_table

    try:
        table = slice_table(f.name) if f.extras.get("compute") else recorded_table(f.name)
    except Exception:  # noqa: BLE001 - a model the slices cannot read (e.g. a broken record) has no section
        return None
    if table is None:
        return None
    gaps = largest_gaps(table, top=WORST_SLICES)
    if gaps.empty:
        return None
    main = table.attrs.get("main", "accuracy")
    overall = float(table[main].iloc[0])
    shown = gaps.loc[:, ["slice", "description", "n", main, f"{main}_lo", f"{main}_hi", "lift", "significant"]]
    note = (f"Slices of the test set where {main} falls furthest below the whole set's {overall:.4f} "
            f"(95% bootstrap intervals; significant = the interval lies wholly below). "
            f"The full table: python -m core slices {f.name}")
    return Part(f"{md.text(note)}\n\n{md.table(shown)}", [note, shown])


def _behaviour(f: Facts) -> Part | None:
    """Failure rates of the model's newest behavioural-test record (core.checks), with a few failing examples
    in the report. Read only: `python -m core check MODEL` or the Behavioural tests page writes the record."""
    from ..checks.store import load_record
    from ..checks.tables import examples, summary

    try:
        record = load_record(f.name)
    except Exception:  # noqa: BLE001 - an unreadable record leaves the section out
        return None
    if not record:
        return None
    table = summary(record)
    note = (f"{len(table)} tests of the suite (INV: the prediction must not change; DIR: it must move the "
            f"expected way; MFT: templates with expected labels). Re-run: python -m core check {f.name}")
    failing = examples(record).head(10)
    return Part(f"{md.text(note)}\n\n{md.table(table)}", [note, table] + ([failing] if len(failing) else []))


def limitations(f: Facts) -> list[str]:
    """Plain-language limitations drawn from the records (weak classes, calibration, test size, language)."""
    out: list[str] = []
    frame = f.per_class()
    macro = f.metrics.get("f1_macro")
    if not frame.empty and "f1" in frame and isinstance(macro, (int, float)):
        weak = frame[frame["f1"] < macro - WEAK_CLASS_GAP].sort_values("f1").head(5)
        if len(weak):
            names = ", ".join(f"{md.text(r.label)} (F1 {r.f1:.3f})" for r in weak.itertuples())
            out.append(f"Weaker on: {names}, against a macro F1 of {macro:.3f}.")
    ece = f.metrics.get("ece")
    if isinstance(ece, (int, float)) and ece > ECE_WARN:
        out.append(f"Confidences are not calibrated (ECE {ece:.3f}): do not read them as probabilities.")
    n = f.metrics.get("n")
    if isinstance(n, int) and n < 1000:
        out.append(f"Measured on only {n:,} test texts: differences of a point or two are within noise.")
    out.append(f"Trained on {md.text(f.language)} texts of one dataset; expect lower quality on other domains, "
               "languages or styles, and on texts much longer than the training texts.")
    if f.multilabel:
        out.append("Multi-label decisions depend on the thresholds stored with the model.")
    return out


def _limitations(f: Facts) -> Part:
    items = limitations(f)
    return Part("\n".join(f"- {x}" for x in items), [x.replace("\\", "") for x in items])


def _how_to_use(f: Facts) -> Part:
    code = (f"```python\nfrom core.artifacts import load_model\n\nmodel = load_model({f.name!r})\n"
            "proba = model.predict_proba([\"some text\"])  # (n, k) probabilities, columns = model.labels\n```\n\n"
            f"Command line: `python -m core predict {f.name} texts.csv --out scored.csv` scores a file.")
    return Part(code, code)


#: The card's and the report's sections, in order.
SECTIONS: list[Section] = [
    Section("summary", "Model summary", _summary),
    Section("data", "Data", _data),
    Section("training", "Training settings", _training),
    Section("per_class", "Metrics per class", _per_class),
    Section("worst_slices", "Worst slices", _worst_slices),
    Section("behaviour", "Behavioural tests", _behaviour),
    Section("lineage", "Compression lineage", _lineage),
    Section("limitations", "Limitations", _limitations),
    Section("how_to_use", "How to use", _how_to_use, report=False),
]


def parts(f: Facts, where: str, sections: list[Section] | None = None) -> list[tuple[Section, Part]]:
    """(section, part) of every section of `where` ("card" or "report") that has something to say."""
    out = []
    for s in SECTIONS if sections is None else sections:
        if not getattr(s, where):
            continue
        part = s.build(f)
        if part is not None:
            out.append((s, part))
    return out

