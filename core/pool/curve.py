"""Learning curve: the test metric against the number of labelled training rows, from retrains of the model's
family (same settings) on stratified, seeded subsamples of its training rows, with a power-law fit that estimates
how many labelled rows a target metric needs.

    metric(n) ≈ a - b · n^(-c)      (a: the plateau; b, c > 0), fitted by least squares (scipy curve_fit)
    rows needed for target t < a:   n = (b / (a - t))^(1/c)
With fewer than 3 points, or when the fit fails, no estimate is given rather than a made-up one. The full-size
point is the model itself (its recorded test metric), so a curve of k points costs k - 1 retrains on smaller data.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import config as _cfg
from ..errors import ParamError

DEFAULT_FRACTIONS = (0.1, 0.2, 0.35, 0.5, 0.75)
Progress = Callable[[float, str], None]


@dataclass
class Curve:
    """rows: training rows of each point; values: the test metric there; fit: {"a", "b", "c"} or None."""
    model: str
    metric: str
    rows: list[int]
    values: list[float]
    fit: dict[str, float] | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def predict(self, n: np.ndarray | Sequence[float]) -> np.ndarray:
        """The fitted metric at `n` rows (NaN without a fit)."""
        n = np.asarray(n, dtype=float)
        if not self.fit:
            return np.full(n.shape, np.nan)
        return self.fit["a"] - self.fit["b"] * np.power(n, -self.fit["c"])

    def rows_needed(self, target: float) -> int | None:
        """Rows the fit says reach `target`; None without a fit or when target ≥ the plateau a."""
        if not self.fit or target >= self.fit["a"]:
            return None
        a, b, c = self.fit["a"], self.fit["b"], self.fit["c"]
        return int(math.ceil((b / (a - target)) ** (1.0 / c)))


def power_fit(rows: Sequence[int], values: Sequence[float], ceiling: float = 1.0) -> dict[str, float] | None:
    """Least-squares fit of a - b·n^(-c) (a ≤ ceiling, b > 0, 0 < c ≤ 2); None with < 3 distinct points or on
    failure."""
    from scipy.optimize import curve_fit

    n = np.asarray(rows, dtype=float)
    y = np.asarray(values, dtype=float)
    if len(np.unique(n)) < 3:
        return None

    def f(x, a, b, c):
        return a - b * np.power(x, -c)

    try:
        p, _ = curve_fit(f, n, y, p0=(min(ceiling, y.max() + 0.02), 1.0, 0.5),
                         bounds=([0.0, 1e-9, 1e-3], [ceiling, 1e6, 2.0]), maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    return {"a": float(p[0]), "b": float(p[1]), "c": float(p[2])}


def estimate_seconds(model_name: str, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> float | None:
    """Rough cost of a curve: each retrain takes the model's training time scaled by its share of the rows."""
    from ..artifacts import get_artifact

    seconds = (get_artifact(model_name).metrics or {}).get("train_seconds")
    return None if seconds is None else float(seconds) * float(sum(fractions))


def learning_curve(model_name: str, fractions: Sequence[float] = DEFAULT_FRACTIONS, metric: str | None = None,
                   progress: Progress | None = None, seed: int = 0) -> Curve:
    """Retrain `model_name`'s family on each fraction of its training rows and score on its test split."""
    from ..artifacts import get_artifact
    from ..data import apply_max_train, load_dataset
    from ..models import family
    from ..params import resolve
    from ..train import evaluate_on
    from .grow import retrain_settings

    info = get_artifact(model_name)
    kind, settings, max_train = retrain_settings(model_name)
    fractions = sorted({float(f) for f in fractions})
    if not fractions or fractions[0] <= 0 or fractions[-1] >= 1:
        raise ParamError("fractions must lie strictly between 0 and 1 (the full size is the model itself)")
    metric = metric or ("f1_macro" if info.manifest.get("multilabel") else "accuracy")
    full = (info.metrics or {}).get(metric)
    if full is None:
        raise ParamError(f"{model_name} has no recorded {metric!r}")
    fam = family(kind)
    params = resolve(fam.PARAMS, settings)
    ds = load_dataset(info.dataset)
    n_full = min(len(ds.train), int(max_train)) if max_train else len(ds.train)
    n_min = 2 * (ds.n_labels if not ds.multilabel else 1)
    rows, values, notes = [], [], []
    t0 = time.perf_counter()
    for i, frac in enumerate(fractions):
        n = int(round(frac * n_full))
        if n < n_min:
            notes.append(f"{frac:.0%} of the rows is {n} rows: too few to train, skipped")
            continue
        if progress:
            progress(i / (len(fractions) + 1), f"retraining on {n:,} of {n_full:,} rows ({frac:.0%})")
        sub = apply_max_train(ds, n, seed=seed)
        model, _ = fam.fit(sub, dict(params), lambda *a, **k: None)
        scores, _ = evaluate_on(model, ds.test, ds.labels, ds.multilabel)
        rows.append(len(sub.train))
        values.append(float(scores[metric]))
    rows.append(n_full)
    values.append(float(full))
    curve = Curve(model_name, metric, rows, values, power_fit(rows, values), time.perf_counter() - t0, notes)
    _save(curve, info.created)
    if progress:
        progress(1.0, "learning curve ready")
    return curve


def _path(model_name: str):
    return _cfg.cache_dir() / "curves" / f"{model_name}.json"


def _save(curve: Curve, created: str) -> None:
    path = _path(curve.model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**asdict(curve), "model_created": created}, indent=1), encoding="utf-8")


def saved_curve(model_name: str) -> Curve | None:
    """The last curve computed for `model_name` (None when none, or the model was replaced since)."""
    from ..artifacts import get_artifact

    path = _path(model_name)
    if not path.exists():
        return None
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if record.pop("model_created", None) != get_artifact(model_name).created:
            return None
        return Curve(**record)
    except (OSError, ValueError, TypeError):
        return None
