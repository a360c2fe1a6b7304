"""Training-loop measurements for issue 13 (run from the project root; prints numbers, compare inside one run):

    python scripts/bench_training.py memory     # peak RSS training MiniLM on 64- vs 512-piece texts (token budget)
    python scripts/bench_training.py threads    # GRU training next to a busy process: torch default vs the policy
    python scripts/bench_training.py precision  # MiniLM step (32 x 64 pieces) bf16 vs fp32; zoo teacher agreement
    python scripts/bench_training.py all

`memory --unbounded` adds the 512-piece run without a token budget (the old behaviour; needs ~14 GB).
`precision --teacher DIR` points at a fine-tuned MiniLM artifact folder (default
/work/lab-h13train/artifacts/ag_news-minilm, a copy of the zoo's teacher). Every section prints `uptime`'s load first: the numbers mean nothing without it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, ".")

WORDS = ("market shares rose after the company reported strong quarterly profit while analysts expected slower "
         "growth in the technology sector team won the final match with a late goal scientists found new evidence "
         "of water on the planet government announced a plan to cut taxes for small business owners").split()


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _texts(n: int, words: int, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(words)) for _ in range(n)]


def _synthetic(pieces: int, n_train: int = 128, n_val: int = 32):
    """A 4-class dataset whose texts are at least `pieces` word pieces long (truncated to max_length)."""
    import numpy as np

    from core.data import Split, TextDataset

    words = int(pieces * 1.1)
    def split(n, seed):
        return Split(_texts(n, words, seed), np.arange(n) % 4)
    return TextDataset(f"synthetic-{pieces}", ["a", "b", "c", "d"], split(n_train, 0), split(n_val, 1), split(n_val, 2))


def memory_child(pieces: int, max_tokens: int, steps: int) -> None:
    """One MiniLM training run in this process; prints a JSON line with peak RSS and seconds per step."""
    from core.models import transformer_fit as tf
    from core.params import resolve

    params = resolve(tf.PARAMS, {"max_length": pieces, "epochs": 1, "max_steps": steps, "batch_size": 32,
                                 "max_batch_tokens": max_tokens, "evals_per_epoch": 1, "eval_batch_size": 64})
    _, info = tf.fit(_synthetic(pieces), params)
    h = info["history"]
    print(json.dumps({"pieces": pieces, "max_batch_tokens": max_tokens, "steps": len(h["train_loss"]),
                      "peak_rss_mb": h["peak_memory_mb"], "train_seconds": h["train_seconds"],
                      "precision": h["precision"], "threads": h["threads"]["threads"]}), flush=True)


def memory(unbounded: bool = False, steps: int = 3) -> None:
    print(f"== memory: MiniLM training, batch 32, {steps} steps + validation of 32 texts ({_load()})")
    runs = [(64, 2048), (512, 2048)] + ([(512, 0)] if unbounded else [])
    for pieces, budget in runs:
        out = subprocess.run([sys.executable, __file__, "_memory_child", str(pieces), str(budget), str(steps)],
                             capture_output=True, text=True)
        line = next((x for x in out.stdout.splitlines() if x.startswith("{")), None)
        if line is None:
            print(f"{pieces} pieces: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(line)
        print(f"{r['pieces']:>4} pieces, max_batch_tokens {r['max_batch_tokens'] or 'none':>5}: peak RSS "
              f"{r['peak_rss_mb'] / 1024:.2f} GB, {r['train_seconds'] / max(r['steps'], 1):.1f} s/step incl. "
              f"validation ({r['precision']}, {r['threads']} threads)", flush=True)


def _gru_seconds(threads: int, rows: int = 2048, steps: int = 24) -> float:
    from core.models import rnn_fit
    from core.params import resolve

    params = resolve(rnn_fit.PARAMS, {"epochs": 1, "max_steps": steps, "threads": threads, "min_freq": 1,
                                      "evals_per_epoch": 1, "precision": "fp32"})
    ds = _synthetic(48, n_train=rows, n_val=64)
    t0 = time.perf_counter()
    rnn_fit.fit(ds, params)
    return time.perf_counter() - t0


def threads() -> None:
    from core import threads as th

    cores = th.usable_cores()
    print(f"== threads: GRU training (24 steps of 128 texts), {cores} usable cores ({_load()})")
    idle = _gru_seconds(cores)
    print(f"without the added busy process, {cores} threads (torch default): {idle:.1f} s", flush=True)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(2)
        policy = th.measure_policy()
        default = _gru_seconds(cores)
        chosen = _gru_seconds(policy.threads)
    finally:
        busy.kill()
        busy.wait()
    print(f"with one busy process, torch default ({cores} threads): {default:.1f} s ({default / idle:.2f}x the run without it)")
    print(f"with one busy process, policy ({policy.threads} thread(s); saw load {policy.load}, running "
          f"{policy.running}, lab jobs {policy.lab_jobs}): {chosen:.1f} s ({chosen / idle:.2f}x the run without it); "
          f"policy vs default: {default / chosen:.2f}x faster", flush=True)


def _step_seconds(enc, head, ids, mask, y, bf16: bool, repeats: int) -> float:
    import torch

    opt = torch.optim.AdamW(list(enc.parameters()) + list(head.parameters()), lr=1e-5)
    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = head(enc(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0])
        loss = torch.nn.functional.cross_entropy(logits.float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # the first step warms the kernels up
            times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def precision(teacher: str, repeats: int = 4, n_texts: int = 500) -> None:
    import numpy as np
    import torch

    from core import backbones
    from core.precision import bf16_supported, use_precision
    from core.threads import apply_threads

    t = apply_threads()
    print(f"== precision: bf16 supported {bf16_supported()}, {t.threads} thread(s) ({_load()})")
    enc = backbones.load_encoder("minilm-l6")
    enc.train()
    head = torch.nn.Linear(384, 4)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 20000, (32, 64), generator=gen)
    mask, y = torch.ones_like(ids), torch.arange(32) % 4
    fp32, bf16 = [], []
    for _ in range(2):  # interleaved so drifting load hits both
        fp32.append(_step_seconds(enc, head, ids, mask, y, False, repeats))
        bf16.append(_step_seconds(enc, head, ids, mask, y, True, repeats))
    f, b = min(fp32), min(bf16)
    print(f"MiniLM training step 32 x 64 pieces: fp32 {f:.2f} s, bf16 {b:.2f} s, ratio {f / b:.2f}x", flush=True)
    if not os.path.isdir(teacher):
        print(f"(no teacher at {teacher}: agreement skipped)")
        return
    from core.artifacts import load_model
    from core.data import load_dataset

    os.environ["TEXTLAB_ARTIFACTS_DIR"] = os.path.dirname(os.path.abspath(teacher))
    model = load_model(os.path.basename(os.path.abspath(teacher)))
    ds = load_dataset("ag_news")
    texts, gold = list(ds.test.texts[:n_texts]), np.asarray(ds.test.y[:n_texts])
    out = {}
    for p in ("fp32", "bf16"):
        with use_precision(p):
            t0 = time.perf_counter()
            out[p] = model.predict_proba(texts)
            out[p + "_s"] = time.perf_counter() - t0
    a, c = out["fp32"].argmax(1), out["bf16"].argmax(1)
    print(f"teacher {os.path.basename(teacher)} on {n_texts} AG News test texts: agreement {np.mean(a == c):.4f}, "
          f"accuracy fp32 {np.mean(a == gold):.4f} vs bf16 {np.mean(c == gold):.4f}, max |dp| "
          f"{np.abs(out['fp32'] - out['bf16']).max():.4f}; predict {out['fp32_s']:.1f} s fp32 vs "
          f"{out['bf16_s']:.1f} s bf16", flush=True)


def main(argv: list[str]) -> None:
    what = argv[0] if argv else "all"
    if what == "_memory_child":
        memory_child(int(argv[1]), int(argv[2]), int(argv[3]))
        return
    if what in ("memory", "all"):
        memory(unbounded="--unbounded" in argv)
    if what in ("threads", "all"):
        threads()
    if what in ("precision", "all"):
        teacher = argv[argv.index("--teacher") + 1] if "--teacher" in argv else \
            "/work/lab-h13train/artifacts/ag_news-minilm"
        precision(teacher)


if __name__ == "__main__":
    main(sys.argv[1:])
