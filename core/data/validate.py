"""Checking a user's table before it becomes a dataset: `validate_frame` returns a `ValidationReport` that
lists EVERY problem at once (an upload preview shows it before saving), separate from building the dataset
(frames.dataset_from_frame, which raises one `TableError` naming all problems when there are any).

Severities: "error" = the table cannot become a dataset as chosen; "warning" = it can, but the user should
know (kept in the dataset's meta["warnings"]); "info" = rows dropped (no text or no label; meta["dropped"]).
"""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .cells import as_list, flag, is_missing, joined_texts, label_name
from .labels import LabelCoding, code_labels, label_problems
from .splits import TEST_SIZE, VALIDATION_SIZE
from .types import DataError

#: Fewest labelled rows a user dataset may have.
MIN_ROWS = 10
#: How labels are written: one column of names, one column of delimited names (multi-label), one 0/1 column per
#: label (multi-label; one column = a binary task); "auto" picks one from the data.
LABEL_FORMATS = ("auto", "names", "delimited", "binary_columns")
#: Row positions listed per problem (the count is always complete).
ROWS_LISTED = 20
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Problem:
    """One finding. table: "file", "test file" or "settings"; column: the column concerned, if one;
    rows: the first ROWS_LISTED 0-based row positions concerned; n_rows: how many rows in all."""

    message: str
    severity: str = "error"
    table: str = "settings"
    column: str | None = None
    rows: tuple[int, ...] = ()
    n_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "table": self.table, "column": self.column, "message": self.message,
                "rows": list(self.rows), "n_rows": self.n_rows}


def _rows_of(positions: Sequence[int]) -> dict[str, Any]:
    return {"rows": tuple(int(i) for i in positions[:ROWS_LISTED]), "n_rows": len(positions)}


@dataclass
class TableRows:
    """The usable rows of one table: texts and their raw labels (names, lists of names or 0/1 lists)."""

    texts: list[str]
    raw: list


@dataclass
class ValidationReport:
    """Everything `validate_frame` found. rows / usable_rows: per table ("file", "test file"); dropped:
    "<reason>_<table>" -> rows (reasons missing_label, empty_text); class_counts: usable file rows per label
    (multi-label: positive rows); coding: the labels as arrays, set only when there is no error."""

    problems: list[Problem] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)
    label_columns: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    usable_rows: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    label_format: str | None = None
    class_counts: dict[str, int] = field(default_factory=dict)
    duplicate_rows: int = 0
    duplicate_texts: int = 0
    tables: dict[str, TableRows] = field(default_factory=dict)
    coding: LabelCoding | None = None

    def add(self, message: str, severity: str = "error", **where: Any) -> None:
        self.problems.append(Problem(message, severity, **where))

    def of(self, severity: str) -> list[Problem]:
        return [p for p in self.problems if p.severity == severity]

    @property
    def errors(self) -> list[Problem]:
        return self.of("error")

    @property
    def warnings(self) -> list[Problem]:
        return self.of("warning")

    @property
    def ok(self) -> bool:
        """True when the table can become a dataset (warnings and dropped rows allowed)."""
        return not self.errors

    @property
    def counts(self) -> dict[str, int]:
        """Problems per severity: {"error": n, "warning": n, "info": n}."""
        return {s: len(self.of(s)) for s in SEVERITIES}

    def message(self) -> str:
        """The errors as one text: the message itself for one, else a count and one line per error."""
        errors = self.errors
        if len(errors) == 1:
            return errors[0].message
        return f"{len(errors)} problems with this table:\n" + "\n".join(f"- {p.message}" for p in errors)

    def raise_for_problems(self) -> None:
        """Raise one TableError listing every error (nothing when there is none)."""
        if self.errors:
            raise TableError(self)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary for a preview: ok, counts, problems, rows, usable_rows, dropped, label_format,
        class_counts, duplicate_rows, duplicate_texts."""
        return {"ok": self.ok, "counts": self.counts, "problems": [p.as_dict() for p in self.problems],
                "rows": dict(self.rows), "usable_rows": dict(self.usable_rows), "dropped": dict(self.dropped),
                "text_columns": list(self.text_columns), "label_columns": list(self.label_columns),
                "label_format": self.label_format, "class_counts": dict(self.class_counts),
                "duplicate_rows": self.duplicate_rows, "duplicate_texts": self.duplicate_texts}


class TableError(DataError):
    """A user's table has one or more errors; `report` holds all of them (and the warnings)."""

    def __init__(self, report: ValidationReport):
        super().__init__(report.message())
        self.report = report


def _check_settings(report: ValidationReport, text_columns: list[str], label_columns: list[str],
                    test_size: float, validation_size: float) -> None:
    if not text_columns:
        report.add("choose at least one text column")
    if not label_columns:
        report.add("choose at least one label column")
    both = sorted(set(text_columns) & set(label_columns))
    if both:
        report.add(f"a column cannot be both text and label: {both}", column=both[0])
    if not 0 < test_size < 1 or not 0 < validation_size < 1:
        report.add("test_size and validation_size must be between 0 and 1")


def _check_columns(report: ValidationReport, df, columns: list[str], what: str) -> list[str]:
    """Report each chosen column missing from `df` (with a did-you-mean hint); return the missing ones."""
    available = [str(c) for c in df.columns]
    missing = []
    for col in dict.fromkeys(columns):
        if col in available:
            continue
        close = difflib.get_close_matches(col, available, n=1) or \
            [c for c in available if c.lower().strip() == col.lower().strip()]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        report.add(f"column {col!r} not found in the {what}{hint}; available columns: "
                   f"{', '.join(repr(c) for c in available)}", table=what, column=col)
        missing.append(col)
    return missing


def _resolve_format(report: ValidationReport, df, label_columns: list[str], label_format: str,
                    delimiter: str) -> str | None:
    """The label format to use ("auto" decided from the file), or None after reporting why none fits."""
    if label_format not in LABEL_FORMATS:
        report.add(f"label_format must be one of {LABEL_FORMATS}, got {label_format!r}")
        return None
    if label_format == "auto":
        if len(label_columns) > 1:
            return "binary_columns"
        values = [v for v in df[label_columns[0]].tolist() if isinstance(v, str)]
        return "delimited" if delimiter and any(delimiter in v for v in values) else "names"
    if label_format in ("names", "delimited") and len(label_columns) > 1:
        report.add(f"label format {label_format!r} reads one label column; got {len(label_columns)}: "
                   f"{label_columns} (use 'binary_columns' for one 0/1 column per label)")
        return None
    return label_format


def _raw_labels(report: ValidationReport, df, label_columns: list[str], fmt: str, delimiter: str,
                what: str) -> tuple[list, list[bool]] | None:
    """Per row: its raw label (name, list of names or 0/1 list) and whether it is missing; None after
    reporting a 0/1 column holding something else."""
    if fmt == "delimited":
        # An empty cell means "no label" here (the only way to write that in this format): kept, counted.
        raw = [[] if is_missing(v) else [p.strip() for p in label_name(v).split(delimiter) if p.strip()]
               for v in df[label_columns[0]].tolist()]
        return raw, [False] * len(raw)
    if fmt == "names":
        names = [None if is_missing(v) else label_name(v) for v in df[label_columns[0]].tolist()]
        return names, [v is None for v in names]
    cols, bad = [], False
    for col in label_columns:
        values, out, wrong = df[col].tolist(), [], []
        for i, v in enumerate(values):
            try:
                out.append(flag(v))
            except ValueError:
                out.append(None)
                wrong.append(i)
        if wrong:
            report.add(f"label column {col!r} in the {what} must hold 0/1 values for the 'binary_columns' "
                       f"format; row {wrong[0]} holds {values[wrong[0]]!r}", table=what, column=col, **_rows_of(wrong))
            bad = True
        cols.append(out)
    if bad:
        return None
    raw = [list(r) for r in zip(*cols)]
    return raw, [any(v is None for v in r) for r in raw]


def _table_rows(report: ValidationReport, df, text_columns: list[str], label_columns: list[str], fmt: str,
                delimiter: str, what: str) -> TableRows | None:
    """The rows of `df` with a text and a label; rows without are dropped and reported ("info"). None after
    reporting an error that leaves no usable row."""
    texts = joined_texts(df, text_columns)
    parsed = _raw_labels(report, df, label_columns, fmt, delimiter, what)
    if parsed is None:
        return None
    raw, missing = parsed
    no_label = [i for i, m in enumerate(missing) if m]
    no_text = [i for i, (t, m) in enumerate(zip(texts, missing)) if not m and not t]
    for reason, positions, text, cols in (
            ("missing_label", no_label, "have no label", label_columns),
            ("empty_text", no_text, "have an empty text", text_columns)):
        if positions:
            report.dropped[f"{reason}_{what}"] = len(positions)
            report.add(f"{len(positions)} rows of the {what} {text} and are dropped", "info", table=what,
                       column=", ".join(cols), **_rows_of(positions))
    drop = set(no_label) | set(no_text)
    rows = TableRows([t for i, t in enumerate(texts) if i not in drop], [r for i, r in enumerate(raw) if i not in drop])
    report.usable_rows[what] = len(rows.texts)
    if rows.texts:
        return rows
    if len(no_label) == len(raw):
        report.add(f"every row of the {what} has a missing label in {label_columns}; check the label column",
                   table=what, column=", ".join(label_columns))
    else:
        report.add(f"no row of the {what} has both a text and a label (empty texts: {len(no_text)}, missing "
                   f"labels: {len(no_label)})", table=what)
    return None


def _duplicates(report: ValidationReport, rows: TableRows) -> None:
    """Duplicates are kept (they are real data) but counted; repeated texts with other labels are a warning."""
    keys = [(t, tuple(r) if isinstance(r, list) else r) for t, r in zip(rows.texts, rows.raw)]
    report.duplicate_rows = len(keys) - len(set(keys))
    report.duplicate_texts = len(rows.texts) - len(set(rows.texts))
    conflicting = report.duplicate_texts - report.duplicate_rows
    if conflicting:
        report.add(f"{conflicting} repeated texts carry different labels", "warning", table="file")


def validate_frame(df, text_columns: str | Sequence[str], label_columns: str | Sequence[str], *,
                   label_format: str = "auto", delimiter: str = ",", test_frame=None, test_size: float = TEST_SIZE,
                   validation_size: float = VALIDATION_SIZE) -> ValidationReport:
    """Check a user's table (and optional separate test table) for `dataset_from_frame`; never raises for
    a data problem. Arguments as in dataset_from_frame. Every problem found is in the report: missing
    columns of both tables, bad settings, non-0/1 label cells, dropped rows, too few rows, a single class,
    classes too small to split, labels without examples, conflicting duplicates."""
    text_columns, label_columns = as_list(text_columns), as_list(label_columns)
    report = ValidationReport(text_columns=text_columns, label_columns=label_columns)
    _check_settings(report, text_columns, label_columns, test_size, validation_size)
    frames = {"file": df} if test_frame is None else {"file": df, "test file": test_frame}
    missing = {what: _check_columns(report, frame, text_columns + label_columns, what)
               for what, frame in frames.items()}
    report.rows = {what: len(frame) for what, frame in frames.items()}
    text_cols = [c for c in text_columns if c not in label_columns]
    if not label_columns or set(label_columns) & set(missing["file"]):
        return report
    fmt = report.label_format = _resolve_format(report, df, label_columns, label_format, delimiter)
    for what, frame in frames.items():
        present = [c for c in text_cols if c not in missing[what]]
        if fmt is not None and present and not set(label_columns) & set(missing[what]):
            rows = _table_rows(report, frame, present, label_columns, fmt, delimiter, what)
            if rows is not None:
                report.tables[what] = rows
    train = report.tables.get("file")
    if train is None:
        return report
    if len(train.texts) < MIN_ROWS:
        dropped = dict(report.dropped) or "none"
        report.add(f"only {len(train.texts)} usable rows; need at least {MIN_ROWS} labelled rows with text "
                   f"(dropped: {dropped})", table="file")
    test = report.tables.get("test file")
    coding = code_labels(train.raw, test.raw if test else [], fmt, label_columns)
    report.class_counts = coding.class_counts()
    for severity, message in label_problems(coding, fmt, label_columns, carve_test=test_frame is None):
        report.add(message, severity, table="file", column=label_columns[0] if len(label_columns) == 1 else None)
    _duplicates(report, train)
    if report.ok:
        report.coding = coding
    return report
