"""Pre-flight estimate vs measured training time and peak memory, on datasets of different text lengths.

    python scripts/measure_preflight.py --lab DIR [--model rnn] [--max-train 3000] [--set k=v ...]

Per dataset: short texts (sms_spam), news (ag_news) and synthetic long texts (8 AG News articles of one class
joined, ~1,900 characters; written to DIR/long_texts.csv). Each estimate (`python -m core train ... --estimate`)
and each real training (core.train.run, no estimate first so its memory is its own) runs in a fresh process;
compared: estimated total seconds vs the loop's train_seconds (validation included), estimated peak RSS vs the
loop's peak_memory_mb. Prints one JSON line per dataset and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN = """
import json, sys
from core import artifacts
from core.train import run
from core.data import resolve_dataset
from core.params import parse_sets
dataset, kind, sets, max_train = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
# a name, or a file read the way `python -m core train --dataset FILE` reads it
path = run(resolve_dataset(dataset, None, None, None), kind, parse_sets(sets), max_train=max_train or None)
m = artifacts.get_artifact(path.name).metrics
h = m["train_info"]["history"]
print(json.dumps({"train_seconds": h["train_seconds"], "peak_memory_mb": h["peak_memory_mb"],
                  "total_steps": h["total_steps"], "accuracy": m.get("accuracy")}))
"""


def long_texts(path: Path, n: int = 2400) -> str:
    """A CSV of n long texts: 8 AG News training texts of the same class joined (~1,900 characters each)."""
    import numpy as np
    import pandas as pd

    from core.data import load_dataset

    if not path.exists():
        ds = load_dataset("ag_news")
        y = np.asarray(ds.train.y)
        rng = np.random.default_rng(0)
        rows = []
        for i in range(n):
            c = i % len(ds.labels)
            pick = rng.choice(np.flatnonzero(y == c), 8, replace=False)
            rows.append({"text": " ".join(ds.train.texts[j] for j in pick), "label": ds.labels[c]})
        pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def last_json(out: str) -> dict:
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", required=True)
    ap.add_argument("--model", default="rnn")
    ap.add_argument("--max-train", type=int, default=3000)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--datasets", nargs="*")
    args = ap.parse_args()
    lab = Path(args.lab)
    env = {**os.environ, "TEXTLAB_ARTIFACTS_DIR": str(lab / "artifacts"), "TEXTLAB_CACHE_DIR": str(lab / "cache"),
           "TEXTLAB_USER_DATA_DIR": str(lab / "user"), "PYTHONPATH": str(ROOT)}
    datasets = args.datasets or ["sms_spam", "ag_news", long_texts(lab / "long_texts.csv")]
    for ds in datasets:
        sets = [x for s in args.set for x in ("--set", s)]
        est = subprocess.run([sys.executable, "-m", "core", "train", "--dataset", ds, "--model", args.model, *sets,
                              "--max-train", str(args.max_train), "--estimate"], env=env, capture_output=True,
                             text=True, check=True)
        e = last_json(est.stdout)["estimate"]
        real = subprocess.run([sys.executable, "-c", TRAIN, ds, args.model, json.dumps(args.set),
                               str(args.max_train)], env=env, capture_output=True, text=True, check=True)
        r = last_json(real.stdout)
        print(json.dumps({
            "dataset": Path(ds).name, "model": args.model, "steps_est": e["steps"], "steps": r["total_steps"],
            "seconds_est": e["total_seconds"], "seconds": r["train_seconds"],
            "time_ratio": round(e["total_seconds"] / r["train_seconds"], 3),
            "peak_mb_est": e["peak_memory_mb"], "peak_mb": r["peak_memory_mb"],
            "memory_ratio": round(e["peak_memory_mb"] / r["peak_memory_mb"], 3),
            "warmup_seconds": e["warmup_seconds"], "load": os.getloadavg()}), flush=True)


if __name__ == "__main__":
    main()
