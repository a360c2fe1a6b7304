"""SHAP for any text classifier through its `predict_proba`, plus the exact path for linear models.

`explain(model_or_fn, text, class_index)`:
- models declaring the "contributions" capability (TF-IDF + linear) answer exactly and fast via the declared
  `model.contributions(text, class_index) -> list[(token, value)]` and
  `model.contributions_base(class_index) -> float` (the base value);
- everything else goes through shap's Partition explainer with a Text masker whose tokenizer is a
  regex word tokenizer (`WordTokenizer`, same units as `core.base.simple_tokenize`, no network). Masked
  words are replaced by "..." (a collapse of consecutive masked words into one), which a TF-IDF model
  ignores and a transformer reads as punctuation.

The budget `max_evals` bounds model calls: Partition needs about 2 * words evaluations for a full
first-level split, and stops refining at the budget. The default (DEFAULT_MAX_EVALS = 200) keeps a 64-token
text on MiniLM near 4 s on 2 idle CPU cores: measured, 256 evaluations cost 13.5x one forward pass of a 32 x 64
batch (0.37 s idle), so 200 cost ~10.5x, ~3.9 s.

Texts longer than MAX_SHAP_WORDS (300) words are cut to their first 300 words before SHAP runs; the result's
`extra["notice"]` then says so (never an error).

The first SHAP call in a process compiles shap's numba kernels (seconds); `warmup()` pays that up front.
Results are cached in memory (LRU keyed on model id + text + class + budget + output) and, when a
`model_id` is given (use the artifact name), on disk under core.config.cache_dir()/shap as .npz.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..base import CapabilityError, TextClassifier
from .attribution import WORD_RE, TokenAttribution

DEFAULT_MAX_EVALS = 200
#: Longest text SHAP explains, in regex words; longer texts are cut to their first MAX_SHAP_WORDS words (the
#: result's extra["notice"] says so). Partition SHAP's cost and its per-word resolution at a fixed budget both
#: degrade with length: at 200 evaluations, 300 words already get less than one evaluation per word.
MAX_SHAP_WORDS = 300
# trailing space: shap replaces a word *and its following space* by " " + mask, so without it the
# next word would be glued to the dots ("...goal") and whitespace tokenizers would miss it.
MASK_TOKEN = "... "
_MEMORY: OrderedDict[tuple, TokenAttribution] = OrderedDict()
_LOCK = threading.Lock()  # the dashboard explains from several threads
_MEMORY_SIZE = 256

ProbaFn = Callable[[Sequence[str]], np.ndarray]

__all__ = ["TokenAttribution", "WordTokenizer", "explain", "shap_values", "linear_contributions", "clear_cache",
           "warmup", "cap_words", "DEFAULT_MAX_EVALS", "MAX_SHAP_WORDS"]


class WordTokenizer:
    """Regex word tokenizer in the minimal HF-tokenizer shape shap's Text masker needs.

    `tok(s, return_offsets_mapping=True)` -> {"input_ids": [word strings], "offset_mapping": [(start, end)]}.
    The empty string gives no tokens, so shap keeps no prefix/suffix tokens.
    """

    def __call__(self, s: str, return_offsets_mapping: bool = True) -> dict:
        matches = list(WORD_RE.finditer(s))
        out: dict = {"input_ids": [m.group() for m in matches]}
        if return_offsets_mapping:
            out["offset_mapping"] = [m.span() for m in matches]
        return out


def _proba_fn(model: TextClassifier | ProbaFn) -> ProbaFn:
    return model.predict_proba if isinstance(model, TextClassifier) else model


def linear_contributions(model, text: str, class_index: int, contrast: int | None = None) -> TokenAttribution:
    """Exact attribution of a linear model (needs the "contributions" capability).

    contrast: explain the score difference class - contrast (coefficient difference × tf-idf), exactly additive
    like the single-class path."""
    if not (isinstance(model, TextClassifier) and model.has("contributions")):
        raise CapabilityError(f"{getattr(model, 'kind', type(model).__name__)} models do not provide contributions")
    t0 = time.perf_counter()
    pairs = list(model.contributions(text, class_index))
    base = float(model.contributions_base(class_index))
    tokens = [str(t) for t, _ in pairs]
    values = np.array([float(v) for _, v in pairs], dtype=np.float64)
    if contrast is not None:
        # contributions() lists every display token of the text in order, whatever the class: same tokens
        other = list(model.contributions(text, int(contrast)))
        if [str(t) for t, _ in other] != tokens:
            raise CapabilityError("this model's contributions list different tokens per class; explain the "
                                  "contrast with SHAP instead")
        values = values - np.array([float(v) for _, v in other], dtype=np.float64)
        base -= float(model.contributions_base(int(contrast)))
    return TokenAttribution(tokens, values, base, class_index, "linear",
                            {"seconds": time.perf_counter() - t0})


def shap_values(fn: ProbaFn, text: str, class_index: int, max_evals: int = DEFAULT_MAX_EVALS,
                output: str = "proba", batch_size: int = 32, seed: int = 0,
                contrast: int | None = None) -> TokenAttribution:
    """Partition SHAP of `fn(texts) -> (n, k) probabilities` for one class on regex words.

    output "proba" explains the probability (base_value + sum(values) = p(class | text) up to the
    budget's approximation); "logit" explains log(p / (1 - p)), often more additive for confident models.
    contrast: explain f(class) - f(contrast) instead ("why class and not contrast").
    """
    import shap  # lazy: heavy import

    if output not in ("proba", "logit"):
        raise ValueError("output must be 'proba' or 'logit'")

    def one(p: np.ndarray) -> np.ndarray:
        if output == "logit":
            p = np.clip(p, 1e-7, 1 - 1e-7)
            p = np.log(p / (1 - p))
        return p

    def f(texts) -> np.ndarray:
        p = np.asarray(fn([str(t) for t in texts]), dtype=np.float64)
        return one(p[:, class_index]) - (0.0 if contrast is None else one(p[:, int(contrast)]))

    t0 = time.perf_counter()
    text, notice = cap_words(text)
    if not WORD_RE.search(text):
        return TokenAttribution([], np.zeros(0), float(f([text])[0]), class_index, "shap_partition",
                                {"max_evals": max_evals, "seconds": 0.0})
    masker = shap.maskers.Text(WordTokenizer(), mask_token=MASK_TOKEN, collapse_mask_token=True)
    explainer = shap.explainers.Partition(f, masker)
    # budget must exceed 2 * (a couple of evals) or shap raises; tiny texts need few evals anyway
    exp = explainer([text], max_evals=max(int(max_evals), 10), batch_size=batch_size, silent=True)
    values = np.asarray(exp.values[0], dtype=np.float64).reshape(-1)
    tokens = [str(t).strip() for t in exp.data[0]]
    base = float(np.asarray(exp.base_values).reshape(-1)[0])
    extra = {"max_evals": int(max_evals), "output": output, "seconds": time.perf_counter() - t0}
    if notice:
        extra.update(notice=notice, words_explained=len(tokens))
    return TokenAttribution(tokens, values, base, class_index, "shap_partition", extra)


def cap_words(text: str, limit: int | None = None) -> tuple[str, str | None]:
    """(`text` cut after its first `limit` regex words (default MAX_SHAP_WORDS), notice or None if not cut)."""
    limit = MAX_SHAP_WORDS if limit is None else int(limit)
    ends = [m.end() for m in WORD_RE.finditer(text)]
    if len(ends) <= limit:
        return text, None
    return text[:ends[limit - 1]], (f"The text has {len(ends):,} words; SHAP explained the first {limit:,} only "
                                    "(the model saw just those words during the explanation).")


def _disk_path(key: tuple) -> Path:
    from ..config import cache_dir

    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()[:32]
    folder = cache_dir() / "shap"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}.npz"


def _load_disk(path: Path, key: tuple) -> TokenAttribution | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta["key"] != list(key):  # digest collision or stale format
                return None
            return TokenAttribution(list(meta["tokens"]), z["values"], float(meta["base_value"]),
                                    int(meta["class_index"]), str(meta["method"]), dict(meta["extra"]))
    except (OSError, KeyError, ValueError):
        return None


def _save_disk(path: Path, key: tuple, attr: TokenAttribution) -> None:
    meta = {"key": list(key), "tokens": attr.tokens, "base_value": attr.base_value,
            "class_index": attr.class_index, "method": attr.method, "extra": attr.extra}
    # atomic: a reader never sees half a file
    atomic_write(path, lambda tmp: np.savez(tmp, values=attr.values,
                                            meta=np.array(json.dumps(meta, ensure_ascii=False))))


def explain(model: TextClassifier | ProbaFn, text: str, class_index: int, *, max_evals: int = DEFAULT_MAX_EVALS,
            method: str = "auto", output: str = "proba", model_id: str | None = None,
            disk_cache: bool = True, contrast: int | None = None) -> TokenAttribution:
    """Attribution of `text` towards `class_index` -> TokenAttribution.

    model:     a TextClassifier or any `texts -> (n, k) probabilities` callable.
    method:    "auto" (exact linear contributions when the model declares "contributions", else SHAP),
               "linear" or "shap".
    model_id:  stable identity of the model (artifact name); enables the in-memory and disk caches.
               Without it nothing is cached (an object id could be reused by another model).
    contrast:  explain class_index - contrast ("why A and not B"); see `shap_values` / `linear_contributions`.
    """
    if method not in ("auto", "linear", "shap"):
        raise ValueError("method must be 'auto', 'linear' or 'shap'")
    use_linear = method == "linear" or (
        method == "auto" and isinstance(model, TextClassifier) and model.has("contributions"))
    key = (model_id, text, int(class_index), int(max_evals), output, "linear" if use_linear else "shap")
    if contrast is not None:  # appended only then, so single-class keys (and their disk files) stay as they were
        key = (*key, int(contrast))
    if model_id is not None:
        with _LOCK:
            hit = _MEMORY.get(key)
            if hit is not None:
                _MEMORY.move_to_end(key)
                return hit
        path = _disk_path(key) if disk_cache else None
        if path is not None and path.exists():
            cached = _load_disk(path, key)
            if cached is not None:
                cached.extra["cached"] = "disk"
                _remember(key, cached)
                return cached
    if use_linear:
        attr = linear_contributions(model, text, class_index, contrast=contrast)
    else:
        attr = shap_values(_proba_fn(model), text, class_index, max_evals=max_evals, output=output,
                           contrast=contrast)
    if model_id is not None:
        _remember(key, attr)
        if disk_cache:
            _save_disk(_disk_path(key), key, attr)
    return attr


def _remember(key: tuple, attr: TokenAttribution) -> None:
    with _LOCK:
        _MEMORY[key] = attr
        _MEMORY.move_to_end(key)
        while len(_MEMORY) > _MEMORY_SIZE:
            _MEMORY.popitem(last=False)


def warmup() -> float:
    """Run one tiny explanation so shap's numba kernels are compiled (the first call in a process pays a
    one-off JIT of several seconds, ~15-30 s on a busy 2-core box); returns the seconds it took."""
    t0 = time.perf_counter()
    shap_values(lambda texts: np.array([[0.5, 0.5 + 0.1 * ("b" in t)] for t in texts]), "a b c", 1, max_evals=20)
    return time.perf_counter() - t0


def clear_cache() -> None:
    """Forget in-memory SHAP results (the disk cache is left alone)."""
    with _LOCK:
        _MEMORY.clear()
