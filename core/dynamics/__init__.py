"""Training dynamics and data maps.

    rows.py      stable row ids (text-based; survive label corrections and max_train samples)
    store.py     Dynamics (gold probabilities per evaluation x row) and its files dynamics.npz / .json
    record.py    recording during torch training (`recording()` in core.train.run, `attach` in the loop)
    oof.py       repeated k-fold cross-validation for one-shot families (TF-IDF)
    source.py    `dynamics_of(model)`: recorded, or cross-validated and cached
    datamap.py   confidence / variability / correctness, regions, cleanlab flags
"""
from __future__ import annotations

from .datamap import REGIONS, data_map, region_counts, regions, with_label_issues
from .rows import row_ids, split_of
from .source import CROSS_VALIDATED, dynamics_of, has_recorded, model_dataset, status
from .store import Dynamics, has_dynamics, load_dynamics

__all__ = ["REGIONS", "CROSS_VALIDATED", "Dynamics", "data_map", "dynamics_of", "has_dynamics", "has_recorded",
           "load_dynamics", "model_dataset", "region_counts", "regions", "row_ids", "split_of", "status", "with_label_issues"]
