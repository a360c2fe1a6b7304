"""Measurements for core/explain (run from the project root): projections and SHAP timings, AG News confusable words.

    python scripts/bench_explain.py [proj|shap]
    TEXTLAB_ARTIFACTS_DIR=DIR python scripts/bench_explain.py model NAME   # a saved model: predict + attention, SHAP
"""
import os
import sys
import time

os.environ.setdefault("TEXTLAB_CACHE_DIR", "/tmp/textlab-bench/cache")
os.environ.setdefault("TEXTLAB_ARTIFACTS_DIR", "/tmp/textlab-bench/artifacts")
sys.path.insert(0, ".")
import numpy as np  # noqa: E402

from core.explain import projection as P  # noqa: E402

what = sys.argv[1] if len(sys.argv) > 1 else "all"
if what in ("all", "proj"):
    x = np.random.default_rng(0).normal(size=(3000, 384)).astype(np.float32)
    for method in ("pca", "tsne", "umap"):
        a = P.project(x, method, artifact="bench")
        b = P.project(x, method, artifact="bench")
        print(f"{method}: first {a.seconds:.2f} s (from_cache={a.from_cache}), second {b.seconds * 1000:.1f} ms "
              f"(from_cache={b.from_cache}), shape {a.coords.shape}", flush=True)

if what in ("all", "shap"):
    from core.base import simple_tokenize
    from core.data import load_dataset
    from core.explain import shap_text
    from core.explain.confusable import confusable_words
    from core.explain.label_quality import label_quality
    from core.models import tfidf

    ds = load_dataset("ag_news")
    t0 = time.perf_counter()
    model, _ = tfidf.fit(ds, {})
    print(f"tfidf fit on {len(ds.train.texts)} rows: {time.perf_counter() - t0:.1f} s", flush=True)
    texts = list(ds.test.texts)
    lens = np.array([len(simple_tokenize(t)) for t in texts])
    i = int(np.argmin(np.abs(lens - 64)))
    text = texts[i]
    cls = int(model.predict_proba([text])[0].argmax())
    print(f"text #{i}: {lens[i]} words, class {ds.labels[cls]}")
    t0 = time.perf_counter()
    lin = shap_text.explain(model, text, cls)
    print(f"linear contributions: {1000 * (time.perf_counter() - t0):.1f} ms; top {lin.to_words(text).top(5)}")
    print(f"shap warmup (numba JIT, once per process): {shap_text.warmup():.1f} s", flush=True)
    for budget in (shap_text.DEFAULT_MAX_EVALS, 500):
        ts = []
        for _ in range(3):
            t0 = time.perf_counter()
            s = shap_text.explain(model, text, cls, method="shap", max_evals=budget)
            ts.append(time.perf_counter() - t0)
        print(f"shap partition max_evals={budget}: median {np.median(ts):.2f} s over 3; top {s.top(5)}", flush=True)
    from core.explain.agreement import rank_agreement
    print(f"agreement linear vs shap (Spearman |values|): {rank_agreement(lin, s, text):.3f}")

    proba = model.predict_proba(texts)
    y_true, y_pred = np.asarray(ds.test.y), proba.argmax(1)
    b, s_ = ds.labels.index("Business"), ds.labels.index("Sci/Tech")
    print(f"test accuracy {np.mean(y_true == y_pred):.4f}")
    for a_, c_ in ((b, s_), (s_, b)):
        t0 = time.perf_counter()
        tab = confusable_words(texts, y_true, y_pred, a_, c_, top=15, min_count=3)
        print(f"{ds.labels[a_]} -> {ds.labels[c_]} ({tab.attrs['n_cell']} texts vs {tab.attrs['n_reference']}), "
              f"{time.perf_counter() - t0:.2f} s:")
        print("   " + ", ".join(f"{r.word} ({r.score:.1f}; {r.count_in_cell}/{r.count_in_reference})"
                                for r in tab.itertuples()))
    t0 = time.perf_counter()
    lq = label_quality(y_true, proba)
    print(f"label quality ({lq.attrs['engine']}): {int(lq.flag.sum())} of {len(lq)} flagged, "
          f"{time.perf_counter() - t0:.2f} s")

if what == "model":
    # the Predict page's work for one ~64-piece text: probabilities + attention (all layers and heads), then SHAP
    import torch

    from core import artifacts, config
    from core.data import load_dataset
    from core.explain import shap_text

    torch.set_num_threads(config.num_threads())
    model = artifacts.load_model(sys.argv[2])
    texts = list(load_dataset("ag_news").test.texts)
    tok = getattr(model, "tokenizer", None)
    lens = np.array([len(tok(t)["input_ids"]) if callable(tok) else len(t.split()) for t in texts[:2000]])
    text = texts[int(np.argmin(np.abs(lens - 64)))]
    model.predict_proba([text]), model.attention(text)  # warm-up
    ts = []
    for _ in range(30):
        t0 = time.perf_counter()
        proba = model.predict_proba([text])
        att = model.attention(text)
        ts.append(time.perf_counter() - t0)
    print(f"{sys.argv[2]}, {config.num_threads()} thread(s): predict + attention {np.asarray(att.weights).shape} "
          f"p50 {1000 * np.median(ts):.1f} ms, p95 {1000 * np.percentile(ts, 95):.1f} ms", flush=True)
    cls = int(proba[0].argmax())
    print(f"shap warmup (numba JIT, once per process): {shap_text.warmup():.1f} s", flush=True)
    ts = []
    for _ in range(3):
        t0 = time.perf_counter()
        shap_text.explain(model, text + " " * len(ts), cls, method="shap", max_evals=shap_text.DEFAULT_MAX_EVALS)
        ts.append(time.perf_counter() - t0)
    print(f"shap partition max_evals={shap_text.DEFAULT_MAX_EVALS}: median {np.median(ts):.2f} s over 3", flush=True)
