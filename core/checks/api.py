"""Behavioural tests of a saved model by name: its dataset's suite (generated on first use), a run, its record.
What the CLI (`python -m core check`) and the Behavioural tests page call.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..errors import ParamError
from . import store
from .defaults import default_suite
from .run import Progress, Target, run_suite
from .suite import Suite, parse_suite


def _stop_words(language: str) -> Any:
    # English function words would otherwise top some cells' words; other languages rely on the log-odds prior
    return "english" if language == "en" else None


def generate_for(model: str, **sizes: Any) -> str:
    """The default suite's YAML for `model`'s dataset, from its stored test predictions (not saved)."""
    from ..artifacts import get_artifact, load_predictions

    info = get_artifact(model)
    preds = load_predictions(model)
    return default_suite(info.dataset, preds.texts, preds.y_true, preds.y_pred, preds.labels,
                         stop_words=_stop_words(str(info.manifest.get("language", "en"))), generated_from=model,
                         **sizes)


def suite_text_for(model: str, dataset: str | None = None, create: bool = True) -> tuple[str, bool]:
    """(YAML text, newly generated) of the suite `model` is checked with: `dataset`'s saved suite (default the
    model's dataset); when none is saved and `create`, the default suite generated from `model` and saved."""
    from ..artifacts import get_artifact

    info = get_artifact(model)
    dataset = dataset or info.dataset
    text = store.saved_suite_text(dataset)
    if text is not None:
        return text, False
    if dataset != info.dataset:
        raise ParamError(f"no suite is saved for {dataset}; give --suite FILE, or generate one with a model "
                         f"trained on {dataset}")
    if not create:
        raise ParamError(f"no suite is saved for {dataset} yet")
    text = generate_for(model)
    store.save_suite(dataset, text, labels=list(info.manifest.get("labels") or []) or None)
    return text, True


def check_model(model: str, suite: Suite | str, progress: Progress | None = None,
                target: Target | None = None, source: str = "") -> dict[str, Any]:
    """Run `suite` (a Suite or YAML text) on saved `model` and write its record (returned). `target` replaces
    loading the model (the page passes its cached, locked model)."""
    from ..artifacts import get_artifact, load_model

    labels = list(get_artifact(model).manifest.get("labels") or [])
    if isinstance(suite, str):
        suite = parse_suite(suite, labels or None)
    else:  # labels may differ from the model the suite was written for
        suite = parse_suite(suite.text, labels or None)
    start = time.perf_counter()
    target = target or Target.of(load_model(model))
    results = run_suite(suite, target, progress)
    return store.save_record(model, suite, results, time.perf_counter() - start, {"suite_source": source})


def check_with_variants(models: list[str], suite_text: str, progress: Callable[[str], Progress | None]
                        | None = None) -> list[dict[str, Any]]:
    """Records of `suite_text` on each of `models` (a model then its variants); `progress(model)` gives the
    progress callback of each run."""
    return [check_model(m, suite_text, progress(m) if progress else None) for m in models]


def variants_of(model: str) -> list[str]:
    """`model`'s compressed variants (children, grandchildren ...; core.lineage), working ones only."""
    from ..artifacts import list_artifacts
    from ..lineage import descendants

    return descendants(model, list_artifacts(include_broken=False))
