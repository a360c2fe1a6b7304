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
"""
from __future__ import annotations

import importlib
from types import ModuleType

from ..base import TextClassifier
from ..errors import ParamError

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
}


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
