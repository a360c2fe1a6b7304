"""Active learning, measured: does ranking the pool by uncertainty (core.pool.rank) beat labelling at random?

    python scripts/bench_active.py [--dataset ag_news] [--kind tfidf] [--seed-rows 300] [--step 300]
        [--rounds 5] [--repeats 2]

The dataset's training split plays the unlabeled pool (its labels are hidden until a row is "labelled"). Both
strategies start from the same stratified seed set; each round trains the family with its defaults on the
labelled rows, scores the test split, and labels `step` more rows: the most uncertain ones (entropy, near
duplicates skipped: the lab's own ranking) or random ones. Printed: test accuracy per labelled-row count for
both, and the labelled rows random sampling needs to match active learning's last accuracy (interpolated).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="ag_news")
    ap.add_argument("--kind", default="tfidf")
    ap.add_argument("--seed-rows", type=int, default=300)
    ap.add_argument("--step", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=2, help="seeds averaged")
    args = ap.parse_args()

    from core.data import Split, load_dataset
    from core.data.splits import subsample
    from core.models import family
    from core.params import resolve
    from core.pool.rank import diverse_top, uncertainty, vectors
    from core.train import evaluate_on

    ds = load_dataset(args.dataset)
    fam = family(args.kind)
    params = resolve(fam.PARAMS, {})
    texts = list(ds.train.texts)
    index = {t: i for i, t in enumerate(texts)}
    results: dict[str, dict[int, list[float]]] = {"active": {}, "random": {}}
    t0 = time.perf_counter()
    for seed in range(args.repeats):
        start = [index[t] for t in subsample(ds.train, args.seed_rows, seed).texts]
        for strategy in results:
            rng = np.random.default_rng(seed)
            labelled = list(start)
            for r in range(args.rounds + 1):
                sub = replace(ds, train=Split([texts[i] for i in labelled], ds.train.y[labelled]))
                model, _ = fam.fit(sub, dict(params), lambda *a, **k: None)
                scores, _ = evaluate_on(model, ds.test, ds.labels, ds.multilabel)
                results[strategy].setdefault(len(labelled), []).append(scores["accuracy"])
                print(f"seed {seed} {strategy:6s} {len(labelled):6,} rows: accuracy {scores['accuracy']:.4f}",
                      flush=True)
                if r == args.rounds:
                    break
                taken = set(labelled)
                pool = np.array([i for i in range(len(texts)) if i not in taken])
                if strategy == "random":
                    labelled += rng.choice(pool, args.step, replace=False).tolist()
                    continue
                proba = model.predict_proba([texts[i] for i in pool])
                order = np.argsort(-uncertainty(proba, ds.multilabel, "entropy"), kind="stable")[: args.step * 10]
                kept, _ = diverse_top(np.arange(len(order)), vectors([texts[i] for i in pool[order]]), args.step)
                labelled += pool[order[kept]].tolist()
    print(f"\n{args.dataset}, {args.kind} defaults, {args.repeats} seeds, {time.perf_counter() - t0:.0f} s")
    print("| labelled rows | random | uncertainty + diversity |\n|---|---|---|")
    rows = sorted(results["active"])
    for n in rows:
        print(f"| {n:,} | {np.mean(results['random'][n]):.4f} | {np.mean(results['active'][n]):.4f} |")
    last = np.mean(results["active"][rows[-1]])
    rand = [np.mean(results["random"][n]) for n in rows]
    if last <= max(rand):
        need = np.interp(last, np.maximum.accumulate(rand), rows)
        print(f"random sampling reaches the active learner's {last:.4f} at ≈ {need:,.0f} rows (active: {rows[-1]:,})")
    else:
        print(f"random sampling does not reach {last:.4f} within {rows[-1]:,} rows")


if __name__ == "__main__":
    main()
