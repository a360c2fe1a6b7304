"""Time the minimal flip and explanation trust (core.explain.counterfactual / trust) on saved models.

    TEXTLAB_ARTIFACTS_DIR=DIR TEXTLAB_CACHE_DIR=DIR python scripts/bench_counterfactual.py [--n 20] \\
        MODEL[:METHOD] ...          # e.g. ag_news-tfidf ag_news-minilm:shap ag_news-minilm:ig

For each model, the first N texts of its stored test predictions: the attribution (the explainer's run), the flip
search given that attribution, and trust (deletion check k=5 with 3 random draws + the stability rerun at half the
budget), in seconds per text; then flip rate, edits, comprehensiveness against random and stability; then a second
pass (in-process caches of SHAP results) to show the cached cost. Prints `uptime` first: the load matters.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, ".")
import numpy as np  # noqa: E402

from core import artifacts  # noqa: E402
from core.explain import registry  # noqa: E402
from core.explain.counterfactual import minimal_flip  # noqa: E402
from core.explain.trust import registry_trust  # noqa: E402


def run(name: str, method: str | None, n: int) -> None:
    model = artifacts.load_model(name)
    preds = artifacts.load_predictions(name)
    texts = list(preds.texts[:n])
    method = method or registry.available(model)[0].name
    if method == "shap":
        from core.explain.shap_text import warmup

        print(f"  shap warmup (once per process): {warmup():.1f} s", flush=True)
    threshold = getattr(model, "threshold", 0.5)
    for label in ("first pass", "second pass (cached attributions)"):
        t_attr, t_flip, t_trust, flips, edits, comp, rand, stab = [], [], [], [], [], [], [], []
        for text in texts:
            p = model.predict_proba([text])[0]
            k = int(p.argmax())
            t0 = time.perf_counter()
            attr = registry.run(method, model, text, k, model_id=name)
            t1 = time.perf_counter()
            flip = minimal_flip(model.predict_proba, text, attr.to_words(text).values, k,
                                multilabel=model.multilabel, threshold=threshold, max_edits=5)
            t2 = time.perf_counter()
            trust = registry_trust(model, model.predict_proba, text, attr, method, model_id=name)
            t3 = time.perf_counter()
            t_attr.append(t1 - t0)
            t_flip.append(t2 - t1)
            t_trust.append(t3 - t2)
            flips.append(flip.flipped)
            edits.append(len(flip.removed))
            comp.append(trust.comprehensiveness)
            rand.append(trust.random_comprehensiveness)
            if trust.stability is not None:
                stab.append(trust.stability)
        total = np.array(t_attr) + np.array(t_flip) + np.array(t_trust)
        print(f"  {label}: per text median attribution {np.median(t_attr):.2f} s, flip search "
              f"{np.median(t_flip):.2f} s, trust {np.median(t_trust):.2f} s; total {total.sum():.1f} s for "
              f"{len(texts)} texts (median {np.median(total):.2f} s/text)", flush=True)
    print(f"  flipped {np.mean(flips):.0%} within 5 edits (mean {np.mean(edits):.1f} words removed); "
          f"comprehensiveness {np.mean(comp):+.3f} vs random {np.mean(rand):+.3f}; "
          + (f"stability {np.mean(stab):.2f}" if stab else "stability: deterministic"), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+", help="MODEL or MODEL:METHOD")
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    print(f"artifacts: {os.environ.get('TEXTLAB_ARTIFACTS_DIR')}", flush=True)
    for spec in args.models:
        name, _, method = spec.partition(":")
        print(f"{name} ({method or 'default explainer'}), {args.n} test texts:", flush=True)
        run(name, method or None, args.n)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
