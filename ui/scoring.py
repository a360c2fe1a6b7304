"""Batch scoring in the browser and the "Evaluated on" switch of Errors, Explain and Compare.

- `score_table`: a table scored chunk by chunk through core.scoring (the engine of `python -m core predict`),
  the shared model locked per chunk only, with an st.progress bar;
- `evaluations_of` / `evaluated_on`: a model's evaluation records (core.evaluations) and the selectbox that
  switches a page between the model's own test split and one of them, showing the shift;
- `compare_on`: the same switch for Compare, over the evaluation sets of several models.
"""
from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core import artifacts, config, evaluations
from core.scoresets import ScoreSet
from core.scoring import Scorer, score_chunk
from core.table_stream import CHUNK_ROWS

from .cache import artifact_info, load_predictions, locked_model

OWN = ""  # the selectbox value of the model's own test split
#: Shift columns Compare adds when a leaderboard is drawn on an evaluation set: (key, title, format).
SHIFT_COLUMNS = [("delta_accuracy", "Δ accuracy", "%+.4f"), ("delta_f1_macro", "Δ F1 macro", "%+.4f"),
                 ("delta_ece", "Δ ECE", "%+.4f")]


def score_table(name: str, df: pd.DataFrame, text_columns: Sequence[str], keep_columns: Sequence[str],
                chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """`df` scored by model `name` (core.scoring.score_chunk per chunk: row, kept columns, label, confidence,
    p_<label>), with a progress bar. The shared model is locked per chunk, so other sessions interleave."""
    def predict(texts: list[str]):
        with locked_model(name) as model:
            return model.predict_proba(texts)

    with locked_model(name) as model:
        scorer = dataclasses.replace(Scorer.of(model), predict_proba=predict)
    bar = st.progress(0.0, text=f"Scoring {len(df):,} texts…")
    parts = []
    for start in range(0, len(df), chunk_rows):
        chunk = df.iloc[start:start + chunk_rows].astype(object).where(lambda c: c.notna(), None)
        parts.append(score_chunk(scorer, chunk, text_columns, keep_columns))
        done = min(start + chunk_rows, len(df))
        bar.progress(done / max(len(df), 1), text=f"Scored {done:,} of {len(df):,} texts")
    bar.empty()
    return pd.concat(parts, ignore_index=True)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


@st.cache_data(ttl=3, show_spinner=False)
def _evaluations(root: str, name: str, stamp: str) -> list[evaluations.EvaluationInfo]:
    return evaluations.list_evaluations(name)


def evaluations_of(name: str) -> list[evaluations.EvaluationInfo]:
    """The evaluation records of model `name`, newest first (cached for 3 s)."""
    return _evaluations(str(config.artifacts_dir()), name, artifacts.stamp(name))


def show_shift(own: dict, other: dict, columns=None) -> None:
    """accuracy, macro F1 and ECE on the evaluation set, each with its change from the own test split."""
    cols = columns or st.columns(3)
    titles = {"accuracy": "Accuracy", "f1_macro": "Macro F1", "ece": "ECE (calibration error)"}
    for col, (key, s) in zip(cols, evaluations.shift(own, other).items()):
        col.metric(titles[key], "–" if s["other"] is None else f"{s['other']:.3f}",
                   None if s["delta"] is None else f"{s['delta']:+.3f} vs own test split",
                   delta_color="inverse" if key == "ece" else "normal")


def evaluated_on(name: str, preds: artifacts.Predictions, key: str
                 ) -> tuple[str | None, artifacts.Predictions, dict]:
    """The "Evaluated on" switch for model `name`: (evaluation id or None, its predictions, its metrics).

    Without evaluation records it returns the own test split at once (with a hint on how to add one); with a
    record chosen it shows the shift from the own test split (accuracy, macro F1, ECE as metric deltas)."""
    info = artifact_info(name)
    own = (info.metrics if info else None) or {}
    records = {r.id: r for r in evaluations_of(name)}
    if not records:
        st.caption(f"Evaluated on its own test split. To score it on another labelled file: "
                   f"`python -m core evaluate {name} --dataset FILE`.")
        return None, preds, own
    if st.session_state.get(key) not in [OWN, *records]:
        st.session_state[key] = OWN
    choice = st.selectbox("Evaluated on", [OWN, *records], key=key,
                          format_func=lambda i: f"test split (own, {len(preds.texts):,} rows)" if i == OWN
                          else records[i].title,
                          help="The model's own test split, or a labelled set it was scored on later "
                               "(python -m core evaluate). Every panel below uses the chosen set.")
    if choice == OWN:
        return None, preds, own
    record = records[choice]
    r = record.record
    st.caption(f"Set “{r.get('set')}” ({int(r.get('n', 0)):,} rows, fingerprint {r.get('fingerprint')}, "
               f"scored {str(r.get('created', '')).replace('T', ' ')[:16]}); deltas against the own test split.")
    show_shift(own, record.metrics)
    return choice, load_predictions(name, choice), record.metrics


def compare_on(infos: list[artifacts.ArtifactInfo], key: str
               ) -> tuple[list[artifacts.ArtifactInfo], ScoreSet | None]:
    """The "Evaluated on" switch of Compare: the own test split, or an evaluation set (rows with the same
    fingerprint) that some of `infos` were scored on. Returns the infos to rank and, on a set, its ScoreSet
    (one group: only the models scored on it, their metrics replaced by the set's plus delta_<metric> = set -
    own) — None on the own test split."""
    sets: dict[str, list[tuple[artifacts.ArtifactInfo, evaluations.EvaluationInfo]]] = {}
    for info in infos:
        for rec in evaluations_of(info.name):
            sets.setdefault(str(rec.record.get("fingerprint")), []).append((info, rec))
    if not sets:
        return infos, None

    def title(fp: str) -> str:
        if fp == OWN:
            return "test split (own)"
        rec = sets[fp][0][1].record
        return f"{rec.get('set')} ({int(rec.get('n', 0)):,} rows, {len(sets[fp])} model(s))"

    if st.session_state.get(key) not in [OWN, *sets]:
        st.session_state[key] = OWN
    fp = st.selectbox("Evaluated on", [OWN, *sets], key=key, format_func=title,
                      help="Rank on the models' own test split, or on a labelled set they were scored on later "
                           "(python -m core evaluate); only models scored on that same set are ranked.")
    if fp == OWN:
        return infos, None
    out = []
    for info, rec in sets[fp]:
        own = info.metrics or {}
        deltas = {f"delta_{k}": s["delta"] for k, s in evaluations.shift(own, rec.metrics).items()}
        out.append(dataclasses.replace(info, metrics={**own, **rec.metrics, **deltas}))
    left = len(infos) - len(out)
    set_name = str(sets[fp][0][1].record.get("set"))
    st.caption(f"Ranked on “{set_name}” (fingerprint {fp}); Δ = change from each model's own test split."
               + (f" {left} model(s) not scored on this set are left out." if left else ""))
    return out, ScoreSet(fp, [set_name], out)
