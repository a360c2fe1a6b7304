"""Model family registry.

Each family is a module exposing:
    KIND: str                      registry key ("tfidf", "rnn", ...)
    TITLE: str                     human name for the Train page
    DESCRIPTION: str               one line of help
    PARAMS: list[core.params.Param]
    CLASSIFIER: type[TextClassifier]
    def fit(dataset: TextDataset, params: dict, progress: ProgressCallback) -> tuple[TextClassifier, dict]
        `params` are already resolved (defaults + validation); returns the model and a
        `train_info` dict (history, chosen hyper-parameters, ...) stored in metrics.json.
Modules are imported lazily so the TF-IDF path never imports torch.

Inference never imports training code: a family module holds the classifier (inference, explanations,
save/load) and the module-level names above; its settings and training (PARAMS, fit, check_params, ...) live in
a `<family>_fit` module that the family module re-exports on first use (`training_attributes`). Loading a saved
model and predicting therefore never imports core.trainer, core.train, accelerate or peft
(tests/test_contract.py checks this for every kind).
"""
from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from ..base import TextClassifier
from ..errors import ArtifactError, ParamError

#: kind -> module path (relative to this package)
FAMILIES: dict[str, str] = {
    "tfidf": ".tfidf",
    "transformer": ".transformer",
    "rnn": ".rnn",
    "scratch_transformer": ".scratch_transformer",
}

#: Kinds that only exist as compression/ensemble outputs (loadable but not trainable from the Train page).
DERIVED: dict[str, str] = {
    "compressed": ".variants",  # int8 / fp16 / bf16 / head-pruned copies (core.compress)
    "ensemble": ".ensemble",    # weighted vote of saved models (also: python -m core train --model ensemble)
    "onnx": "core.compress.onnx_int8",  # ONNX Runtime int8 export of a transformer model
    "static": ".static",  # static-embedding student (token vectors + small head; numpy inference)
}


def training_attributes(module: str, fit_module: str, names: Iterable[str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for family `module` that imports `fit_module` (relative to this package) the
    first time one of `names` is read, e.g. `tfidf.fit` or `family("tfidf").PARAMS`."""
    lazy = frozenset(names)

    def __getattr__(name: str) -> Any:
        if name in lazy:
            return getattr(importlib.import_module(fit_module, __name__), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def read_config(path: Path, newest_format: int) -> dict[str, Any]:
    """The JSON config a family's `save` wrote (ArtifactError if missing, unreadable or from a newer format)."""
    try:
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{path.parent} could not be loaded: {path.name} is missing or unreadable "
                            f"({e.__class__.__name__}: {e})") from e
    if not isinstance(meta, dict):
        raise ArtifactError(f"{path.parent} could not be loaded: {path.name} does not hold a JSON object")
    if meta.get("format", 1) > newest_format:
        raise ArtifactError(f"{path.parent} was written by a newer version (format {meta['format']})")
    return meta


def family(kind: str) -> ModuleType:
    """The family module for `kind` (ValueError listing the known kinds if unknown)."""
    table = {**FAMILIES, **DERIVED}
    if kind not in table:
        raise ParamError(f"unknown model kind {kind!r}; known: {sorted(table)}")
    return importlib.import_module(table[kind], __name__)


def classifier_class(kind: str) -> type[TextClassifier]:
    return family(kind).CLASSIFIER


def trainable_kinds() -> list[str]:
    return list(FAMILIES)


class _Registry(dict):
    """`REGISTRY[kind]` -> classifier class, importing lazily."""

    def __missing__(self, kind: str) -> type[TextClassifier]:
        cls = classifier_class(kind)
        self[kind] = cls
        return cls

    def __iter__(self):
        return iter({**FAMILIES, **DERIVED})

    def keys(self):  # type: ignore[override]
        return list({**FAMILIES, **DERIVED})


REGISTRY: dict[str, type[TextClassifier]] = _Registry()
