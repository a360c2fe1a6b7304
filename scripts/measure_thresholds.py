"""Test macro F1 of multi-label models with one 0.5 cut vs per-label thresholds tuned on validation (core.thresholds).

    TEXTLAB_ARTIFACTS_DIR=DIR python scripts/measure_thresholds.py MODEL [MODEL ...]

For each model: scores its dataset's validation and test splits, tunes the thresholds on validation exactly as
training does, and prints macro / micro F1 on test at 0.5 and with the tuned thresholds (nothing is written).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import artifacts, thresholds
from core.data import load_dataset
from core.train import predict_in_chunks


def measure(name: str) -> dict:
    info = artifacts.get_artifact(name)
    ds = load_dataset(info.dataset)
    model = artifacts.load_model(name)
    t0 = time.perf_counter()
    val = predict_in_chunks(model, ds.validation.texts)
    record = thresholds.tune(ds.labels, val, np.asarray(ds.validation.y))
    cuts = thresholds.values(record, ds.labels)
    test = predict_in_chunks(model, ds.test.texts)
    y = np.asarray(ds.test.y)
    out = {"model": name, "dataset": ds.name, "labels": len(ds.labels), "val_rows": len(ds.validation),
           "test_rows": len(ds.test), "seconds": round(time.perf_counter() - t0, 1)}
    for tag, cut in (("0.5", 0.5), ("tuned", cuts)):
        pred = (test >= cut).astype(int)
        out[f"test_macro_f1@{tag}"] = round(float(f1_score(y, pred, average="macro", zero_division=0)), 4)
        out[f"test_micro_f1@{tag}"] = round(float(f1_score(y, pred, average="micro", zero_division=0)), 4)
    out["val_macro_f1@0.5"] = round(thresholds.macro_f1(record, "f1_at_default"), 4)
    out["val_macro_f1@tuned"] = round(thresholds.macro_f1(record), 4)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    for name in ap.parse_args().models:
        print(json.dumps(measure(name)))
