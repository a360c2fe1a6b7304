"""The default suite of a dataset, built from a model's stored test predictions (texts, true and predicted labels):

- INV: typos, punctuation and lower case on a seeded sample of test texts (text set "sample"); contractions, names,
  numbers and places on a seeded sample of the test texts each applies to (a perturbation that applies to no text
  is left out);
- DIR: for the model's most frequent confusion cells A → B, the cell's confusable words ("why A → B",
  core.explain.confusable) added to texts of A predicted correctly must raise p(B), and removed from the cell's
  texts must lower it. Multi-label: the cells are a label's false positives (texts without B predicted B);
- MFT: only when templates are given (a list of test mappings, see core.checks.suite).
"""
from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ParamError
from ..explain.confusable import confusable_pairs, confusable_words
from .cases import text_rng
from .perturb import PERTURBATIONS
from .suite import VERSION, dump_suite

#: INV perturbations on the shared sample, and those sampled among the texts they apply to.
SHARED_INV = (("typos", {"n": 1}), ("punctuation", {}), ("case", {"mode": "lower"}))
SPECIFIC_INV = ("contractions", "names", "numbers", "places")
DIR_TOLERANCE = 0.05


def _sample(texts: Sequence[str], n: int, seed: int, salt: str) -> list[str]:
    """Up to `n` distinct texts, a seeded sample in the texts' order."""
    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    if len(unique) <= n:
        return unique
    keep = sorted(random.Random(f"{seed}\x1f{salt}").sample(range(len(unique)), n))
    return [unique[i] for i in keep]


def _cells(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str], top: int
           ) -> list[tuple[str, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(title, target label b, 1-D "true" and "predicted" arrays where the cell is (0 -> 1) or (a -> b), a, b)
    for the `top` most frequent confusion cells; multi-label: a label's false positives (not b -> b)."""
    out = []
    if y_true.ndim == 2:
        fp = ((y_pred == 1) & (y_true == 0)).sum(axis=0)
        for b in np.argsort(-fp, kind="stable")[:top]:
            if fp[b]:
                out.append((f"not {labels[b]} → {labels[b]}", int(b), y_true[:, b], y_pred[:, b], 0, 1))
        return out
    m = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    for row in confusable_pairs(m, labels, top=top).itertuples():
        out.append((f"{row.label_a} → {row.label_b}", int(row.b), y_true, y_pred, int(row.a), int(row.b)))
    return out


def dir_tests(texts: list[str], y_true: np.ndarray, y_pred: np.ndarray, labels: list[str], *, top_cells: int = 3,
              n_words: int = 5, n_texts: int = 30, seed: int = 0, stop_words: Any = None) -> list[dict[str, Any]]:
    """Two DIR tests (add words / remove words) per confusion cell that has confusable words."""
    tests = []
    for title, b, yt, yp, a, b_in in _cells(np.asarray(y_true), np.asarray(y_pred), labels, top_cells):
        words_df = confusable_words(texts, yt, yp, a, b_in, top=n_words * 3, stop_words=stop_words)
        words = [w for w, s in zip(words_df["word"], words_df["score"]) if s > 0][:n_words]
        if not words:
            continue
        correct = [t for t, x, y in zip(texts, yt, yp) if x == a and y == a]
        cell = [t for t, x, y in zip(texts, yt, yp) if x == a and y == b_in]
        has_word = [t for t in cell if PERTURBATIONS["remove_words"](t, text_rng(seed, "", t), words=words)]
        label = labels[b]
        add = {"name": f"{title}: add its words", "type": "DIR", "perturbation": "add_words",
               "params": {"words": words, "count": 2, "position": "end"},
               "texts": _sample(correct, n_texts, seed, title + "add"),
               "expected": {"label": label, "direction": "up", "tolerance": DIR_TOLERANCE},
               "description": f"adding words of the cell {title} to correct texts must not lower p({label})"}
        remove = {"name": f"{title}: remove its words", "type": "DIR", "perturbation": "remove_words",
                  "params": {"words": words}, "texts": _sample(has_word, n_texts, seed, title + "remove"),
                  "expected": {"label": label, "direction": "down", "tolerance": DIR_TOLERANCE},
                  "description": f"removing the cell's words from texts of {title} must not raise p({label})"}
        tests += [t for t in (add, remove) if t["texts"]]
    return tests


def default_suite(dataset: str, texts: Sequence[str], y_true, y_pred, labels: Sequence[str], *, n_sample: int = 60,
                  n_specific: int = 25, top_cells: int = 3, n_words: int = 5, n_dir_texts: int = 20, seed: int = 0,
                  stop_words: Any = None, templates: list[dict[str, Any]] | None = None,
                  generated_from: str = "") -> str:
    """The default suite's YAML for `dataset` from test `texts` with true / predicted labels ((n,) indices or
    (n, k) 0/1 for multi-label). Sizes: `n_sample` texts for the shared INV tests, up to `n_specific` per
    specific INV test, `n_dir_texts` per DIR test, `n_words` confusable words of each of `top_cells` cells.
    The defaults (~600 distinct texts to score) keep a run of a MiniLM-sized model near 10 s on 2 cores."""
    texts, labels = list(texts), list(labels)
    sets: dict[str, list[str]] = {"sample": _sample(texts, n_sample, seed, "sample")}
    tests: list[dict[str, Any]] = [{"name": name, "type": "INV", "perturbation": name, "params": params,
                                    "texts": "sample"} for name, params in SHARED_INV if sets["sample"]]
    for name in SPECIFIC_INV:
        fn = PERTURBATIONS[name]
        applies = [t for t in dict.fromkeys(texts) if fn(t, text_rng(seed, name, t)) not in (None, t)]
        if applies:
            sets[name] = _sample(applies, n_specific, seed, name)
            tests.append({"name": name, "type": "INV", "perturbation": name, "params": {}, "texts": name})
    tests += dir_tests(texts, np.asarray(y_true), np.asarray(y_pred), labels, top_cells=top_cells, n_words=n_words,
                       n_texts=n_dir_texts, seed=seed, stop_words=stop_words)
    tests += list(templates or [])
    if not tests:
        raise ParamError(f"no test can be built for {dataset}: its test split has no text (give a suite file with "
                         "MFT templates instead)")
    if not sets["sample"]:
        del sets["sample"]
    generated = {"by": "default suite", "from_model": generated_from,
                 "at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    return dump_suite({"version": VERSION, "dataset": dataset, "seed": seed, "generated": generated,
                       "text_sets": sets, "tests": tests})
