"""The one list of token-attribution explainers: pages, the CLI and reports list and run explainers from here.

An `Explainer` states what it needs from a model (capabilities declared on `TextClassifier`), its settings as
`Param`s (the CLI's --set, the pages' shared explanation-controls widget and range checks all come from them)
and how to run. Adding an explainer (say LIME) = one module with a `run` function + one row in `EXPLAINERS`.

    for e in available(model): ...                       # what this model can be explained with, default first
    attr = run("shap", model, text, class_index, max_evals=300, model_id="my-model")
    why = run("shap", model, text, a, contrast=b)   # "why A and not B": attribution of f_A - f_B
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..base import TextClassifier
from ..errors import CapabilityError, ParamError
from ..params import Param, resolve

# both modules import their heavy libraries (shap, captum, torch) lazily, so their constants are cheap to read
from .attribution import TokenAttribution
from .gradients import DEFAULT_STEPS
from .shap_text import DEFAULT_MAX_EVALS

#: run(model, text, class_index, model_id=..., contrast=None, **settings) -> TokenAttribution. `contrast`: a second
#: class index; the explainer then attributes the difference f_class - f_contrast ("why class and not contrast").
#: `model` is a TextClassifier;
#: explainers that only need probabilities may be given a `texts -> (n, k) probabilities` callable instead
#: (the dashboard passes a lock-per-batch function so one slow SHAP run does not block other sessions).
RunFn = Callable[..., TokenAttribution]


@dataclass(frozen=True)
class Explainer:
    """One attribution method.

    name:     registry key ("shap"), used on the command line and in cache keys.
    title:    what pages show ("SHAP (partition, through predict_proba)").
    requires: capabilities the model must declare (empty: works through predict_proba on every model).
    params:   its settings; `budget` names the one a page shows as the cost slider (or None).
    priority: lower comes first in `available()`; the first available explainer is a model's default.
    proba_only: True when `run` needs nothing but predict_proba (may take a probability function).
    """

    name: str
    title: str
    run: RunFn
    requires: frozenset[str] = frozenset()
    params: tuple[Param, ...] = ()
    budget: str | None = None
    priority: int = 50
    proba_only: bool = False
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def supports(self, model: TextClassifier | frozenset[str] | set[str]) -> bool:
        """True when `model` (or a set of its capabilities) declares everything this explainer needs."""
        caps = model if isinstance(model, (set, frozenset)) else frozenset(model.capabilities)
        return self.requires <= caps

    def settings(self, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with `values`, each coerced and range-checked (ParamError on a bad one)."""
        return resolve(self.params, values or {})


def _run_linear(model: TextClassifier, text: str, class_index: int, *, model_id: str | None = None,
                contrast: int | None = None) -> TokenAttribution:
    from . import shap_text

    return shap_text.explain(model, text, class_index, method="linear", model_id=model_id, contrast=contrast)


def _run_shap(model: Any, text: str, class_index: int, *, model_id: str | None = None, contrast: int | None = None,
              max_evals: int = DEFAULT_MAX_EVALS) -> TokenAttribution:
    from . import shap_text

    return shap_text.explain(model, text, class_index, max_evals=int(max_evals), method="shap",
                             model_id=model_id, contrast=contrast)


def _run_ig(model: TextClassifier, text: str, class_index: int, *, model_id: str | None = None,
            contrast: int | None = None, n_steps: int = DEFAULT_STEPS) -> TokenAttribution:
    from . import gradients

    return gradients.integrated_gradients(model, text, class_index, n_steps=int(n_steps), contrast=contrast)


#: name -> Explainer. Order of `available()` is by priority, then by this order.
EXPLAINERS: dict[str, Explainer] = {e.name: e for e in (
    Explainer("linear", "exact linear (coefficient × tf-idf)", _run_linear, frozenset({"contributions"}),
              priority=10, description="Exact per-word contributions of a linear model over TF-IDF features."),
    Explainer("shap", "SHAP (partition, through predict_proba)", _run_shap,
              params=(Param("max_evals", int(DEFAULT_MAX_EVALS), "model evaluations per explanation (cost ∝ budget)",
                            min=20, max=1000),),
              budget="max_evals", priority=20, proba_only=True,
              description="Partition SHAP over words; works for every model through predict_proba."),
    Explainer("ig", "integrated gradients", _run_ig, frozenset({"gradients"}),
              params=(Param("n_steps", int(DEFAULT_STEPS), "integration steps (cost ∝ steps)", min=4, max=200),),
              budget="n_steps", priority=30,
              description="Integrated gradients on the input embeddings (captum); torch models only."),
)}


def get(name: str) -> Explainer:
    """The explainer called `name`; ParamError naming the known ones otherwise."""
    try:
        return EXPLAINERS[name]
    except KeyError:
        raise ParamError(f"unknown explanation method {name!r}; known: {', '.join(EXPLAINERS)}") from None


def available(model: TextClassifier | frozenset[str] | set[str]) -> list[Explainer]:
    """Explainers `model` (or its capability set) supports, its default first."""
    order = {n: i for i, n in enumerate(EXPLAINERS)}
    return sorted((e for e in EXPLAINERS.values() if e.supports(model)),
                  key=lambda e: (e.priority, order[e.name]))


def run(name: str, model: TextClassifier | Callable[[Sequence[str]], Any], text: str, class_index: int, *,
        model_id: str | None = None, contrast: int | None = None, **settings: Any) -> TokenAttribution:
    """Attribution of `text` towards class `class_index` by explainer `name` -> TokenAttribution.

    contrast: another class index; the attribution is then of the difference between the two classes ("why
    `class_index` and not `contrast`": SHAP explains p_A - p_B, integrated gradients the gradient of logit_A -
    logit_B, the linear path the coefficient difference); the result's extra["contrast"] records it.
    Raises CapabilityError when `model` lacks a capability the explainer requires, ParamError on a bad setting
    (or a contrast equal to the explained class).
    """
    if contrast is not None and int(contrast) == int(class_index):
        raise ParamError("the contrast class must differ from the explained class")
    e = get(name)
    if isinstance(model, TextClassifier):
        if not e.supports(model):
            missing = ", ".join(sorted(e.requires - frozenset(model.capabilities)))
            raise CapabilityError(f"{e.title} needs a model with {missing}; {model.kind} models do not declare it")
    elif not e.proba_only:
        raise CapabilityError(f"{e.title} needs the model itself, not a probability function")
    attr = e.run(model, text, int(class_index), model_id=model_id, contrast=None if contrast is None else int(contrast),
                 **e.settings(settings))
    if contrast is not None:
        attr.extra["contrast"] = int(contrast)
    return attr


__all__ = ["Explainer", "EXPLAINERS", "available", "get", "run"]
