"""Batch-scoring throughput and peak memory (run from the project root): `python -m core predict`'s engine
(core.scoring.score_file) on files of N texts sampled with replacement from AG News (or synthetic text).

    TEXTLAB_ARTIFACTS_DIR=DIR python scripts/bench_scoring.py MODEL [MODEL ...] [--rows 20000 100000]
        [--threads 1] [--chunk-rows 2000] [--source ag_news|synthetic] [--out-format parquet]

Each (model, rows) pair runs in a FRESH process (so one run's memory does not carry into the next) which prints
texts/s and the peak RSS sampled every 0.1 s during scoring (core.memory.PeakMemory), beside the RSS after the
model loaded. Memory is flat when peak - loaded stays about the same for 20k and 100k rows (the ratio printed).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_file(path: Path, rows: int, source: str, seed: int = 0) -> None:
    """A CSV of `rows` texts (columns id, text): AG News test + train texts sampled with replacement, or
    synthetic sentences when `source` is "synthetic" or AG News is not available."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    texts = None
    if source == "ag_news":
        from core.data import load_dataset

        ds = load_dataset("ag_news")
        pool = list(ds.train.texts) + list(ds.test.texts)
        texts = [pool[i] for i in rng.integers(0, len(pool), rows)]
    if texts is None:
        vocab = [f"w{i}" for i in range(5000)]
        texts = [" ".join(rng.choice(vocab, rng.integers(10, 60))) for _ in range(rows)]
    pd.DataFrame({"id": np.arange(rows), "text": texts}).to_csv(path, index=False)


def one_run(model_name: str, path: str, out: str, chunk_rows: int) -> dict:
    """Load `model_name`, score `path` into `out`; RSS after loading and peak RSS while scoring, in MB."""
    from core.artifacts import load_model
    from core.memory import PeakMemory
    from core.scoring import score_file

    model = load_model(model_name)
    model.predict_proba(["warm up"])
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        summary = score_file(model, path, out, chunk_rows=chunk_rows, overwrite=True)
        seconds = time.perf_counter() - t0
    return {"model": model_name, "rows": summary["rows"], "seconds": round(seconds, 2),
            "texts_per_s": round(summary["rows"] / seconds, 1), "loaded_mb": round(mem.start_mb, 1),
            "peak_mb": round(mem.peak_mb, 1), "growth_mb": round(mem.peak_mb - mem.start_mb, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", help="saved model names")
    p.add_argument("--rows", type=int, nargs="+", default=[20000, 100000])
    p.add_argument("--threads", type=int, default=1, help="torch / BLAS threads of each scoring process")
    p.add_argument("--chunk-rows", type=int, default=2000)
    p.add_argument("--source", choices=("ag_news", "synthetic"), default="ag_news")
    p.add_argument("--out-format", default="parquet", choices=("parquet", "csv", "jsonl"))
    p.add_argument("--one", nargs=3, metavar=("MODEL", "FILE", "OUT"), help=argparse.SUPPRESS)  # child process
    args = p.parse_args()
    if args.one:
        print(json.dumps(one_run(*args.one, chunk_rows=args.chunk_rows)))
        return
    env = {**os.environ, "TEXTLAB_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads),
           "MKL_NUM_THREADS": str(args.threads), "OPENBLAS_NUM_THREADS": str(args.threads), "TQDM_DISABLE": "1"}
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        files = {}
        for n in args.rows:
            files[n] = Path(tmp) / f"texts-{n}.csv"
            build_file(files[n], n, args.source)
            print(f"built {files[n].name}: {files[n].stat().st_size / 1e6:.1f} MB", flush=True)
        print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
        for name in args.models:
            results = []
            for n in args.rows:
                out = Path(tmp) / f"scored-{n}.{args.out_format}"
                cmd = [sys.executable, __file__, "--one", name, str(files[n]), str(out),
                       "--chunk-rows", str(args.chunk_rows)]
                run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
                if run.returncode:
                    print(run.stderr[-2000:], file=sys.stderr)
                    break
                results.append(json.loads(run.stdout.strip().splitlines()[-1]))
                print(json.dumps(results[-1]), flush=True)
            if len(results) >= 2 and results[0]["peak_mb"]:
                ratio = results[-1]["peak_mb"] / results[0]["peak_mb"]
                print(f"{name}: peak RSS {results[-1]['rows']:,} rows / {results[0]['rows']:,} rows = {ratio:.2f}")
        print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
