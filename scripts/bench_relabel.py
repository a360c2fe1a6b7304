"""The relabel loop, measured: does the relabel queue find flipped labels, and does fixing them recover accuracy?

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \\
        python scripts/bench_relabel.py [--lab /work/lab-h15bench] [--kind tfidf|rnn] [--dataset ag_news]
        [--noise 0.05] [--seed 0] [--extra-k 500]

Flips `noise` of the training labels at random (seeded; each to a different class; validation and test untouched)
and saves the noisy copy as an upload in a private lab folder (--lab: its user-data/, artifacts/ and cache/ become
TEXTLAB_USER_DATA_DIR / TEXTLAB_ARTIFACTS_DIR / TEXTLAB_CACHE_DIR; use a fresh folder per run so names are free).
--kind tfidf: TF-IDF with its defaults; --kind rnn: the zoo's GRU (cell=gru, aggregation=attention, tokenizer=word,
other settings default) with its dynamics recorded during training on every training row
(TEXTLAB_DYNAMICS_MAX_ROWS is raised to the training-row count so every flipped row can be found).
Then, all through the lab's own functions:
  1. the family on the noisy upload and on the clean data (same rows, original labels);
  2. the noisy model's data map (TF-IDF: k-fold cross-validation; GRU: recorded dynamics; core.dynamics) and
     relabel queue (core.relabel,
     training rows only: the test split is never flipped and must stay untouched for the accuracy comparison),
     each timed;
  3. precision@P and recall@R at finding the flipped rows of (a) the queue, (b) cleanlab alone (label_quality
     of the same out-of-fold probabilities, lowest quality first), (c) the data map alone (hard-to-learn first,
     then lowest confidence);
  4. the queue's top-k suggestions accepted as corrections (k = --extra-k, then k = the number of flipped rows;
     the corrections accumulate), each followed by `retrain` (a corrected dataset version + the family with the
     noisy model's settings): test accuracy and the share of the accuracy lost to noise that was recovered,
     (corrected - noisy) / (clean - noisy).
Prints `uptime` at start and end and markdown tables.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


#: Settings per family: TF-IDF's defaults; the zoo GRU (ag_news-gru-attn) settings.
SETTINGS: dict[str, dict] = {"tfidf": {}, "rnn": {"cell": "gru", "aggregation": "attention", "tokenizer": "word"}}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def flip(y: np.ndarray, n_labels: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(noisy labels, flipped positions): round(share * n) positions, each moved to a different class."""
    rng = np.random.default_rng(seed)
    pos = np.sort(rng.choice(len(y), size=int(round(share * len(y))), replace=False))
    noisy = np.array(y, copy=True)
    noisy[pos] = (noisy[pos] + rng.integers(1, n_labels, size=len(pos))) % n_labels
    return noisy, pos


def at_k(ranked: list[str], flipped: set[str], p_at: int, r_at: int) -> dict[str, float]:
    """precision@p_at, recall@r_at (a ranking shorter than k counts its own rows only), ranking length."""
    return {f"precision@{p_at}": sum(r in flipped for r in ranked[:p_at]) / p_at,
            f"recall@{r_at}": sum(r in flipped for r in ranked[:r_at]) / len(flipped), "ranked rows": len(ranked)}


def cell(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)


def table(rows: list[dict]) -> str:
    """A markdown table of `rows` (columns: the first row's keys)."""
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lab", default="/work/lab-h15bench", help="private lab folder (user data, artifacts, cache)")
    ap.add_argument("--kind", default="tfidf", choices=sorted(SETTINGS))
    ap.add_argument("--dataset", default="ag_news")
    ap.add_argument("--noise", type=float, default=0.05, help="share of training labels flipped")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision-at", type=int, default=200)
    ap.add_argument("--recall-at", type=int, default=1000)
    ap.add_argument("--extra-k", type=int, default=500, help="the smaller top-k applied before k = flipped rows")
    args = ap.parse_args()

    lab = Path(args.lab)
    for var, sub in (("TEXTLAB_USER_DATA_DIR", "user-data"), ("TEXTLAB_ARTIFACTS_DIR", "artifacts"),
                     ("TEXTLAB_CACHE_DIR", "cache")):
        os.environ[var] = str(lab / sub)
        (lab / sub).mkdir(parents=True, exist_ok=True)
    print(f"load at start: {uptime()}")

    from core import artifacts, train
    from core.data import Split, load_dataset, save_upload
    from core.dynamics import data_map, dynamics_of, model_dataset, row_ids, with_label_issues
    from core.explain.label_quality import label_quality
    from core.relabel.corrections import Correction, add_corrections
    from core.relabel.queue import build_queue
    from core.relabel.retrain import retrain

    timings: dict[str, float] = {}

    def timed(key: str, fn, *a, **kw):
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        timings[key] = round(time.perf_counter() - t0, 1)
        print(f"  {key}: {timings[key]} s", flush=True)
        return out

    def accuracy(path: Path) -> float:
        return float(artifacts.get_artifact(path.name).metrics["accuracy"])

    clean = load_dataset(args.dataset)
    if clean.multilabel:
        raise SystemExit("this benchmark flips single labels: choose a single-label dataset")
    y_noisy, pos = flip(np.asarray(clean.train.y), clean.n_labels, args.noise, args.seed)
    ids = row_ids("train", clean.train.texts)
    flipped = {ids[i] for i in pos}
    original = {ids[i]: clean.labels[int(clean.train.y[i])] for i in pos}
    noisy = dataclasses.replace(clean, train=Split(list(clean.train.texts), y_noisy),
                                meta={**clean.meta, "bench_noise": args.noise, "bench_seed": args.seed})
    stem = f"{args.dataset}-noisy{round(args.noise * 100)}-s{args.seed}"
    ref = save_upload(noisy, stem, title=f"{args.dataset}, {args.noise:.0%} train labels flipped (seed {args.seed})")
    print(f"{ref}: {len(pos):,} of {len(ids):,} training labels flipped", flush=True)

    print("training", flush=True)
    os.environ.setdefault("TEXTLAB_DYNAMICS_MAX_ROWS", str(len(ids)))  # record every training row (torch families)
    family, params = args.kind, SETTINGS[args.kind]
    noisy_model = timed(f"train {family} (noisy)", train.run, ref, family, dict(params), name=f"{stem}-{family}")
    clean_model = timed(f"train {family} (clean)", train.run, args.dataset, family, dict(params),
                        name=f"{args.dataset}-{family}-clean")
    name = noisy_model.name

    print("data map and queue", flush=True)
    dyn, ds = timed(f"dynamics ({'cross-validation' if family == 'tfidf' else 'load recorded'})", dynamics_of, name)
    frame = timed("data map + cleanlab flags", lambda: with_label_issues(data_map(dyn, ds), dyn, ds))
    queue = timed("relabel queue (dynamics cached)", build_queue, name, include_test=False)

    column = {r: j for j, r in enumerate(dyn.row_ids)}
    lq = label_quality(np.asarray(ds.train.y)[frame["row"].to_numpy()], dyn.mean_proba.astype(np.float64)[
        [column[r] for r in frame["row_id"]]])
    by_cleanlab = list(frame["row_id"].to_numpy()[np.argsort(lq["quality"].to_numpy(), kind="stable")])
    by_map = list(frame.assign(not_hard=frame["region"] != "hard-to-learn")
                  .sort_values(["not_hard", "confidence"], kind="stable")["row_id"])
    rankings = {"relabel queue": list(queue["row_id"]), "cleanlab alone": by_cleanlab, "data map alone": by_map}
    found = [{"ranking": k, **at_k(v, flipped, args.precision_at, args.recall_at)} for k, v in rankings.items()]

    print("apply the queue's top-k suggestions and retrain", flush=True)
    acc_noisy, acc_clean = accuracy(noisy_model), accuracy(clean_model)
    results = [{"model": f"{family} noisy labels", "k": 0, "changed": 0, "fixed": 0, "broken": 0,
                "test accuracy": acc_noisy, "recovered": 0.0},
               {"model": f"{family} clean labels", "k": 0, "changed": 0, "fixed": 0, "broken": 0,
                "test accuracy": acc_clean, "recovered": 1.0}]
    done = 0
    for k in sorted({min(args.extra_k, len(pos)), len(pos)}):
        top = queue.iloc[done:k]
        top = top[top["suggested"] != top["label"]]
        add_corrections(model_dataset(name), [Correction(r, s, why="bench_relabel: queue suggestion", who="bench")
                                              for r, s in zip(top["row_id"], top["suggested"])])
        done = k
        applied = queue.head(k)
        applied = applied[applied["suggested"] != applied["label"]]
        fixed = sum(original.get(r) == s for r, s in zip(applied["row_id"], applied["suggested"]))
        broken = int((~applied["row_id"].isin(flipped)).sum())
        path, fixed_ref = timed(f"retrain after top-{k}", retrain, name, f"{name}-fixed-top{k}")
        acc = accuracy(path)
        results.append({"model": f"{family} corrected ({fixed_ref})", "k": k, "changed": len(applied),
                        "fixed": int(fixed), "broken": broken, "test accuracy": acc,
                        "recovered": (acc - acc_noisy) / (acc_clean - acc_noisy) if acc_clean != acc_noisy
                        else float("nan")})

    print(f"\n### Finding the {len(pos):,} flipped training labels ({args.noise:.0%} of {len(ids):,}, seed "
          f"{args.seed}); {family}, dynamics: {dyn.source}, {dyn.n_evals} evaluations, {len(frame):,} rows mapped\n")
    print(table(found))
    print("\n### Test accuracy (changed = suggestions applied; fixed = flipped rows given back their original label; "
          "broken = clean rows relabelled; recovered = (corrected - noisy) / (clean - noisy))\n")
    print(table(results))
    print("\n### Timings (seconds)\n")
    print(table([{"step": k, "seconds": f"{v:.1f}"} for k, v in timings.items()]))
    print(f"\nqueue: {len(queue):,} training rows queued; data map regions: "
          f"{frame['region'].value_counts().to_dict()}; cleanlab flags: {int(frame['flagged'].sum()):,}")
    print(f"load at end: {uptime()}")


if __name__ == "__main__":
    main()
