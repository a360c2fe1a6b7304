"""Building an ensemble: settings (PARAMS), weight tuning on the validation split and `fit`.

The classifier (weighted soft vote, save/load) is core/models/ensemble.py; see its docstring for the objectives.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data import TextDataset
from ..errors import ParamError
from ..params import Param
from ..progress import ProgressCallback, null_progress
from .ensemble import CLASSIFIER, DESCRIPTION, KIND, TITLE, EnsembleClassifier, _mix

__all__ = ["KIND", "TITLE", "DESCRIPTION", "OBJECTIVES", "COMBINES", "PARAMS", "CLASSIFIER", "tune_weights", "fit"]

OBJECTIVES = ("log_loss", "accuracy", "equal")
COMBINES = ("average", "stack")
PARAMS: list[Param] = [
    Param("members", [], "names of saved models to combine (comma separated, same dataset and labels)", type=list),
    Param("objective", "log_loss", "how the weights are tuned on the validation split", choices=OBJECTIVES),
    Param("combine", "average", "average = weighted mean of the members' probabilities; stack = a logistic "
          "regression on all members' probabilities (learns which member to trust for which label), fitted on the "
          "validation split with C cross-validated", choices=COMBINES),
    Param("max_validation", 2000, "score members on at most this many validation texts (seeded sample; 0 = all)",
          min=0),
]


def _log_loss(p: np.ndarray, y: np.ndarray, multilabel: bool) -> float:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    if multilabel:
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def _accuracy(p: np.ndarray, y: np.ndarray, multilabel: bool, threshold: float) -> float:
    if multilabel:
        return float(np.mean(((p >= threshold).astype(int) == y).all(axis=1)))
    return float(np.mean(p.argmax(1) == y))


def tune_weights(probas: np.ndarray, y: np.ndarray, multilabel: bool = False, objective: str = "log_loss",
                 threshold: float = 0.5, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Weights (m,) on the simplex for member probabilities (m, n, k) and labels y; returns (weights, report)."""
    from scipy.optimize import minimize

    m = probas.shape[0]
    probas = np.asarray(probas, dtype=np.float64)  # float64: the optimiser's finite differences need it
    y = np.asarray(y)
    equal = np.full(m, 1.0 / m)
    if objective not in OBJECTIVES:
        raise ParamError(f"objective must be one of {OBJECTIVES}")
    if m == 1 or objective == "equal" or len(y) == 0:
        w = equal
    elif objective == "log_loss":
        def f(z: np.ndarray) -> float:
            e = np.exp(z - z.max())
            return _log_loss(_mix(probas, e / e.sum()), y, multilabel)

        res = minimize(f, np.zeros(m), method="L-BFGS-B")
        e = np.exp(res.x - res.x.max())
        w = e / e.sum()
    else:
        rng = np.random.default_rng(seed)
        cands = [equal, *np.eye(m), *rng.dirichlet(np.ones(m), size=400 if m > 3 else 200)]
        if m <= 3:  # a 0.05 grid covers small simplices exactly
            g = np.arange(0, 1.0001, 0.05)
            cands += [np.array([a, 1 - a]) for a in g] if m == 2 else \
                [np.array([a, b, 1 - a - b]) for a in g for b in g if a + b <= 1.0001]
        scored = [(-_accuracy(_mix(probas, c), y, multilabel, threshold),
                   _log_loss(_mix(probas, c), y, multilabel), i) for i, c in enumerate(cands)]
        w = np.asarray(cands[min(scored)[2]], dtype=np.float64)
    w = np.clip(w, 0, None)
    w = w / w.sum()
    p = _mix(probas, w)
    report = {"objective": objective, "validation_rows": int(len(y)),
              "validation_log_loss": _log_loss(p, y, multilabel) if len(y) else None,
              "validation_accuracy": _accuracy(p, y, multilabel, threshold) if len(y) else None,
              "members_validation_accuracy": [_accuracy(probas[i], y, multilabel, threshold) for i in range(m)]
              if len(y) else []}
    return w, report


def fit(dataset: TextDataset, params: dict[str, Any], progress: ProgressCallback | None = None
        ) -> tuple[EnsembleClassifier, dict[str, Any]]:
    """Load the member artifacts, score them on the validation split and tune the weights."""
    from ..artifacts import get_artifact, load_model
    from ..train import predict_in_chunks

    progress = progress or null_progress
    names = [str(n).strip() for n in params.get("members") or [] if str(n).strip()]
    if len(names) < 2:
        raise ParamError("an ensemble needs at least two member models (members=a,b,...)")
    if len(set(names)) != len(names):
        raise ParamError("ensemble members must be different models")
    members = {}
    for i, name in enumerate(names):
        info = get_artifact(name)
        if info.manifest.get("labels") and list(info.manifest["labels"]) != list(dataset.labels):
            raise ParamError(f"member {name!r} was trained on labels {info.manifest['labels']}, "
                             f"not this dataset's {dataset.labels}")
        progress(i, len(names), f"ensemble: loading {name}")
        members[name] = load_model(name)
    val = dataset.validation
    n_max = int(params.get("max_validation") or 0)
    if n_max and len(val) > n_max:
        val = val.subset(np.sort(np.random.default_rng(0).choice(len(val), n_max, replace=False)))
    probas = []
    for i, (name, model) in enumerate(members.items()):
        probas.append(predict_in_chunks(model, val.texts, message=f"ensemble: scoring {name} on validation"))
        progress(i + 1, len(members), f"ensemble: scored {name}")
    probas_arr = np.stack(probas) if len(val) else np.zeros((len(members), 0, len(dataset.labels)), np.float32)
    # members' thresholds (scalars or per-label vectors) averaged label by label
    threshold = np.mean(np.broadcast_arrays(*[np.asarray(getattr(m, "threshold", 0.5), dtype=float)
                                              for m in members.values()]), axis=0)
    w, report = tune_weights(probas_arr, np.asarray(val.y), dataset.multilabel, params.get("objective", "log_loss"),
                             threshold)
    report["weights"] = dict(zip(names, w.tolist()))
    stacker = None
    if params.get("combine", "average") == "stack":
        from .ensemble_stack import fit_stacker

        if not len(val):
            raise ParamError("combine=stack needs validation rows to fit the meta-learner")
        coef, intercept, stack_report = fit_stacker(probas_arr, np.asarray(val.y), dataset.multilabel)
        stacker = {"coef": coef.tolist(), "intercept": intercept.tolist()}
        report["stack"] = stack_report
    report["combine"] = params.get("combine", "average")
    model = EnsembleClassifier(members, w, dataset.labels, dataset.multilabel, report, threshold, stacker)
    return model, report
