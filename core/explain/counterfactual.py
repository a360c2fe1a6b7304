"""Counterfactuals for any model through `predict_proba`: edit-and-compare, the minimal flip, substitutions.

    cmp = compare(model.predict_proba, "the striker scored", "the striker invested", labels)
    cmp.delta                       # (k,) p(edited) - p(original) per class
    cmp.diff                        # word diff [DiffOp(tag, a, b)] (difflib on words)
    flip = minimal_flip(model.predict_proba, text, word_values, k, max_edits=5)
    flip.text, flip.removed, flip.path, flip.flipped

Attributions come from any registry explainer, mapped onto words (`TokenAttribution.to_words`). A flip means the
chosen class's decision changes: for a single-label model the class stops (or starts) being the argmax, for a
multi-label model its probability crosses the label's threshold.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .attribution import TokenAttribution, word_spans
from .edits import ProbaFn, rebuild, words

DEFAULT_MAX_EDITS = 5
#: Candidate words tried per greedy step (the ones with the largest attribution), one batch of predictions each.
DEFAULT_BEAM = 5
#: Word-diff size (words of a × words of b in the changed middle) up to which difflib runs without autojunk.
EXACT_DIFF_CELLS = 2_000 * 2_000


@dataclass(frozen=True)
class DiffOp:
    """One run of the word diff: tag "equal" / "replace" / "delete" (only in a) / "insert" (only in b)."""

    tag: str
    a: str
    b: str


def _run(text: str, spans: list[tuple[int, int]], i: int, j: int) -> str:
    """The original characters of words i..j-1 (their spacing and punctuation as typed); "" when i == j."""
    return text[spans[i][0]:spans[j - 1][1]] if j > i else ""


def word_diff(text_a: str, text_b: str) -> list[DiffOp]:
    """Word-level diff of two texts (difflib.SequenceMatcher over simple_tokenize words, autojunk off); each run
    holds the texts' own characters from its first to its last word."""
    sa, sb = word_spans(text_a), word_spans(text_b)
    wa, wb = [text_a[x:y] for x, y in sa], [text_b[x:y] for x, y in sb]
    # an edit is usually local: match the common head and tail first, so SequenceMatcher (quadratic on repetitive
    # texts) only sees the changed middle of a long text
    head = 0
    while head < min(len(wa), len(wb)) and wa[head] == wb[head]:
        head += 1
    tail = 0
    while tail < min(len(wa), len(wb)) - head and wa[-1 - tail] == wb[-1 - tail]:
        tail += 1
    mid_a, mid_b = wa[head:len(wa) - tail], wb[head:len(wb) - tail]
    # autojunk (words in over 1% of a long middle are not used as anchors) keeps two far-apart edits of a very
    # long text fast; short middles get the exact diff
    sm = difflib.SequenceMatcher(a=mid_a, b=mid_b, autojunk=len(mid_a) * len(mid_b) > EXACT_DIFF_CELLS)
    codes = [("equal", 0, head, 0, head)] if head else []
    codes += [(tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in sm.get_opcodes()]
    if tail:
        codes.append(("equal", len(wa) - tail, len(wa), len(wb) - tail, len(wb)))
    merged: list[tuple[str, int, int, int, int]] = []
    for c in codes:  # neighbouring equal runs (head + middle + tail) become one
        if merged and c[0] == "equal" == merged[-1][0]:
            merged[-1] = ("equal", merged[-1][1], c[2], merged[-1][3], c[4])
        elif c[2] > c[1] or c[4] > c[3]:
            merged.append(c)
    return [DiffOp(tag, _run(text_a, sa, i1, i2), _run(text_b, sb, j1, j2)) for tag, i1, i2, j1, j2 in merged]


@dataclass
class Comparison:
    """Two versions of a text through one model: (k,) probabilities, their delta, the word diff and, when an
    attribution function was given, per-word attributions towards `class_index` in both texts."""

    labels: list[str]
    proba_a: np.ndarray
    proba_b: np.ndarray
    diff: list[DiffOp]
    class_index: int
    words: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def delta(self) -> np.ndarray:
        return self.proba_b - self.proba_a

    def table(self) -> pd.DataFrame:
        """class, p_original, p_edited, delta (largest |delta| first)."""
        df = pd.DataFrame({"class": self.labels, "p_original": self.proba_a, "p_edited": self.proba_b,
                           "delta": self.delta})
        return df.reindex(df["delta"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)


def _word_sums(attr: TokenAttribution, text: str) -> pd.Series:
    w = attr.to_words(text)
    return pd.Series(w.values, index=[t.lower() for t in w.tokens], dtype=float).groupby(level=0).sum()


def compare(proba_fn: ProbaFn, text_a: str, text_b: str, labels: Sequence[str] | None = None,
            attribution: Callable[[str, int], TokenAttribution] | None = None,
            class_index: int | None = None) -> Comparison:
    """Edit-and-compare: probabilities of both texts (one batch), delta, word diff; with `attribution(text, class)`
    also a table word, value_original, value_edited, delta (summed per lower-cased word, largest |delta| first)
    towards `class_index` (default: the original's top class)."""
    p = np.asarray(proba_fn([text_a, text_b]), dtype=np.float64)
    labels = list(labels) if labels is not None else [str(j) for j in range(p.shape[1])]
    c = int(p[0].argmax()) if class_index is None else int(class_index)
    table = pd.DataFrame(columns=["word", "value_original", "value_edited", "delta"])
    if attribution is not None:
        a, b = _word_sums(attribution(text_a, c), text_a), _word_sums(attribution(text_b, c), text_b)
        both = pd.concat([a.rename("value_original"), b.rename("value_edited")], axis=1).fillna(0.0)
        both["delta"] = both["value_edited"] - both["value_original"]
        both = both[both["delta"].abs() > 1e-12]
        table = (both.reindex(both["delta"].abs().sort_values(ascending=False, kind="stable").index)
                 .rename_axis("word").reset_index())
    return Comparison(labels, p[0], p[1], word_diff(text_a, text_b), c, table)


def decision(proba: np.ndarray, class_index: int, multilabel: bool, threshold=0.5) -> np.ndarray:
    """(n,) bool: is class `class_index` predicted in each row of (n, k) probabilities (argmax, or above the
    label's threshold for a multi-label model)?"""
    p = np.atleast_2d(np.asarray(proba, dtype=np.float64))
    if multilabel:
        t = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (p.shape[1],))[class_index]
        return p[:, class_index] >= t
    return p.argmax(axis=1) == class_index


@dataclass
class Flip:
    """The result of `minimal_flip`.

    text: the edited text; removed: the words removed, in order; path: p(class) before and after each edit
    (len(removed) + 1 values); flipped: did the decision change; was_predicted: the decision before;
    prediction: the argmax class of the edited text (single-label) / the labels above threshold (multi-label).
    """

    text: str
    removed: list[str]
    path: list[float]
    flipped: bool
    class_index: int
    was_predicted: bool
    prediction: list[int]
    evaluations: int

    def to_dict(self) -> dict:
        return {"text": self.text, "removed": self.removed, "path": self.path, "flipped": self.flipped,
                "class_index": self.class_index, "was_predicted": self.was_predicted, "prediction": self.prediction,
                "evaluations": self.evaluations}


def _predicted(p: np.ndarray, multilabel: bool, threshold) -> list[int]:
    if multilabel:
        return [int(j) for j in np.flatnonzero(p >= np.broadcast_to(np.asarray(threshold, float), p.shape))]
    return [int(p.argmax())]


def minimal_flip(proba_fn: ProbaFn, text: str, word_values: np.ndarray, class_index: int, *,
                 multilabel: bool = False, threshold=0.5, max_edits: int = DEFAULT_MAX_EDITS,
                 beam: int = DEFAULT_BEAM) -> Flip:
    """Greedy word removal guided by the attributions until class `class_index`'s decision changes.

    word_values: (W,) attribution towards the class on `edits.words(text)` (e.g. attr.to_words(text).values).
    An edit removes every occurrence of one word (lower-cased). Each step tries the `beam` remaining words with
    the largest summed attribution in the direction of the current decision (towards the class when it is
    predicted, away from it when it is not) in one batch, and keeps the removal that moves p(class) furthest
    the other way; stops at a flip or after `max_edits` edits.
    """
    ws = [w.lower() for w in words(text)]
    values = np.asarray(word_values, dtype=np.float64)
    if len(values) != len(ws):
        raise ValueError(f"{len(ws)} words but {len(values)} word values")
    p0 = np.asarray(proba_fn([text]), dtype=np.float64)[0]
    was = bool(decision(p0, class_index, multilabel, threshold)[0])
    direction = 1.0 if was else -1.0  # remove words that support the current decision
    score = {}
    for w, v in zip(ws, values):
        score[w] = score.get(w, 0.0) + direction * v
    removed: list[str] = []
    path, current, p_now, evals = [float(p0[class_index])], text, p0, 1
    for _ in range(int(max_edits)):
        gone = set(removed)
        ranked = sorted((w for w in score if w not in gone and any(c.isalnum() for c in w)),
                        key=lambda w: (-score[w], w))[:beam]
        if not ranked:
            break
        drops = {w: [i for i, x in enumerate(ws) if x in gone or x == w] for w in ranked}
        candidates = [rebuild(text, drops[w]) for w in ranked]
        p = np.asarray(proba_fn(candidates), dtype=np.float64)
        evals += len(candidates)
        best = int(np.argmin(direction * p[:, class_index]))
        removed.append(ranked[best])
        current, p_now = candidates[best], p[best]
        path.append(float(p_now[class_index]))
        if bool(decision(p_now, class_index, multilabel, threshold)[0]) != was:
            break
    flipped = bool(decision(p_now, class_index, multilabel, threshold)[0]) != was
    return Flip(current, removed, path, flipped, int(class_index), was, _predicted(p_now, multilabel, threshold),
                evals)


def substitution_candidates(texts: Sequence[str], y_true, y_pred, a: int, b: int, top: int = 10) -> list[str]:
    """Words that pull class `a` texts towards `b`: the confusable words of the cell (true a, predicted b) from
    core.explain.confusable; when that cell is empty, the words that mark class b against class a (log-odds of
    texts labelled b vs a)."""
    from .confusable import confusable_words, log_odds, words_of

    cw = confusable_words(texts, y_true, y_pred, a, b, top=top)
    if not cw.empty:
        return cw["word"].tolist()
    y = np.asarray(y_true)
    docs = [words_of(t) for t in texts]
    z = log_odds([d for d, c in zip(docs, y) if c == b], [d for d, c in zip(docs, y) if c == a], docs)
    return z.sort_values(ascending=False, kind="stable").head(top).index.tolist() if len(z) else []


def suggest_substitutions(proba_fn: ProbaFn, text: str, word_values: np.ndarray, candidates: Sequence[str],
                          a: int, b: int, *, n_replace: int = 3, n_with: int = 5) -> pd.DataFrame:
    """Replace each of the `n_replace` words with the largest attribution towards `a` by each of the first
    `n_with` candidate words (one batch) -> DataFrame replace, with, p_a, p_b, gain (change of p_b - p_a),
    flips (b overtakes a), text; best gain first."""
    ws = words(text)
    values = np.asarray(word_values, dtype=np.float64)
    order = [int(i) for i in np.argsort(-values, kind="stable") if values[i] > 0 and any(c.isalnum() for c in ws[i])]
    targets = order[:n_replace]
    present = {w.lower() for w in ws}
    fill = [c for c in candidates if c.lower() not in present][:n_with]
    rows = [(i, c) for i in targets for c in fill]
    cols = ["replace", "with", "p_a", "p_b", "gain", "flips", "text"]
    if not rows:
        return pd.DataFrame(columns=cols)
    edited = [rebuild(text, replace={i: c}) for i, c in rows]
    p = np.asarray(proba_fn([text, *edited]), dtype=np.float64)
    margin0 = p[0, b] - p[0, a]
    df = pd.DataFrame({"replace": [ws[i] for i, _ in rows], "with": [c for _, c in rows], "p_a": p[1:, a],
                       "p_b": p[1:, b], "gain": (p[1:, b] - p[1:, a]) - margin0, "flips": p[1:, b] > p[1:, a],
                       "text": edited}, columns=cols)
    return df.sort_values("gain", ascending=False, kind="stable").reset_index(drop=True)


def word_values(model, text: str, class_index: int, method: str, settings: dict | None = None,
                model_id: str | None = None) -> np.ndarray:
    """(W,) attribution of `text` towards `class_index` by registry explainer `method`, on `edits.words(text)`.
    model: what registry.run takes (a TextClassifier, or a probability function for proba-only explainers)."""
    from . import registry

    return registry.run(method, model, text, class_index, model_id=model_id, **(settings or {})).to_words(text).values


def explained_flip(model, proba_fn: ProbaFn, text: str, class_index: int, method: str, settings: dict | None = None,
                   *, multilabel: bool = False, threshold=0.5, max_edits: int = DEFAULT_MAX_EDITS,
                   model_id: str | None = None) -> Flip:
    """`minimal_flip` guided by registry explainer `method`'s attribution towards `class_index`."""
    values = word_values(model, text, class_index, method, settings, model_id)
    return minimal_flip(proba_fn, text, values, class_index, multilabel=multilabel, threshold=threshold,
                        max_edits=max_edits)


def explained_substitutions(model, proba_fn: ProbaFn, text: str, a: int, b: int, reference, method: str,
                            settings: dict | None = None, model_id: str | None = None) -> pd.DataFrame:
    """`suggest_substitutions` for class `a` (predicted) against `b` (runner-up): words of the text ranked by
    `method`'s attribution towards a, candidates from the confusable words of `reference` = (texts, y_true,
    y_pred) of single-label predictions (e.g. the model's test predictions)."""
    texts, y_true, y_pred = reference
    candidates = substitution_candidates(texts, np.asarray(y_true).astype(int), np.asarray(y_pred), a, b)
    values = word_values(model, text, a, method, settings, model_id)
    return suggest_substitutions(proba_fn, text, values, candidates, a, b)


__all__ = ["word_values", "explained_flip", "explained_substitutions", "DiffOp", "word_diff", "Comparison", "compare", "decision", "Flip", "minimal_flip",
           "substitution_candidates", "suggest_substitutions", "DEFAULT_MAX_EDITS", "DEFAULT_BEAM"]
