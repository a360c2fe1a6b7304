"""`python -m core counterfactual MODEL "text" [--compare TEXT2] [--max-edits N] [--class LABEL] [--method M]
[--json]`: the what-if twin of the Predict page's "Edit and compare" panel (core.explain.counterfactual).

Prints the minimal flip (greedy word removal guided by the model's default explainer, or --method), substitutions
from the confusable words for the predicted class against the runner-up (single-label models, from the model's
test predictions) and, with --compare, the change in every class probability and the word diff.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from ..errors import ParamError


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a saved model's name (python -m core list)")
    p.add_argument("text", help="the text; '-' reads it from standard input")
    p.add_argument("--compare", metavar="TEXT2", help="an edited version: print every class's probability change")
    p.add_argument("--max-edits", type=int, default=5, help="words the minimal flip may remove (default 5)")
    p.add_argument("--class", dest="label", help="class (multi-label: label) whose decision should flip "
                                                 "(default: the most probable)")
    p.add_argument("--method", help="explainer guiding the edits (default: the model's first available)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="explainer setting (repeatable)")
    p.add_argument("--json", action="store_true", help="print everything as JSON")


def _substitutions(args, model, text: str, proba, k: int, method: str, settings: dict):
    """Substitution table for class k against the runner-up, or None for a multi-label model."""
    from ..artifacts import load_predictions
    from .counterfactual import explained_substitutions

    if model.multilabel:
        return None
    runner = int(np.argsort(-proba)[1]) if k == int(proba.argmax()) else int(proba.argmax())
    preds = load_predictions(args.model)
    return runner, explained_substitutions(model, model.predict_proba, text, k, runner,
                                           (preds.texts, preds.y_true, preds.y_pred), method, settings,
                                           model_id=args.model)


def _print(args, model, proba, k: int, flip, subs, cmp) -> None:
    labels = model.labels
    print(f"{args.model}: {labels[k]} p = {proba[k]:.3f} ({'predicted' if flip.was_predicted else 'not predicted'})")
    steps = " -> ".join(f"{p:.3f}" for p in flip.path)
    verdict = f"flipped after {len(flip.removed)} edit(s)" if flip.flipped else \
        f"no flip within {args.max_edits} edit(s)"
    print(f"minimal flip ({verdict}, {flip.evaluations} model calls): removed {', '.join(flip.removed) or '-'}")
    print(f"  p({labels[k]}): {steps}")
    print(f"  now predicted: {', '.join(labels[j] for j in flip.prediction) or '(none)'}")
    print(f"  edited text: {flip.text}")
    if subs is not None:
        runner, table = subs
        print(f"substitutions towards the runner-up “{labels[runner]}” (confusable words):")
        for r in table.head(8).to_dict(orient="records"):
            mark = "  (flips)" if r["flips"] else ""
            print(f"  {r['replace']!r} -> {r['with']!r}: p({labels[k]}) {r['p_a']:.3f}, p({labels[runner]}) "
                  f"{r['p_b']:.3f}, gain {r['gain']:+.3f}{mark}")
        if table.empty:
            print("  none (no confusable word or no word of the text pushes the class)")
    if cmp is not None:
        print("compare (edited - original):")
        for r in cmp.table().to_dict(orient="records"):
            print(f"  {r['class']:<20} {r['p_original']:.3f} -> {r['p_edited']:.3f}  ({r['delta']:+.3f})")
        print("  diff: " + " ".join(op.a if op.tag == "equal" else
                                    (f"[-{op.a}-]" if op.a else "") + (f"{{+{op.b}+}}" if op.b else "")
                                    for op in cmp.diff))


def _register() -> None:
    from ..cli import command

    @command("counterfactual", "what if: minimal flip, substitutions, edit-and-compare of one text")(_setup)
    def _counterfactual(args: argparse.Namespace) -> int:
        from ..artifacts import load_model
        from ..params import parse_sets
        from ..safety import clean_text
        from . import registry
        from .cli import class_index
        from .counterfactual import compare, explained_flip

        if args.max_edits < 1:
            raise ParamError("--max-edits must be at least 1")
        model = load_model(args.model)
        text = clean_text(sys.stdin.read() if args.text == "-" else args.text)[0]
        if not text.strip():
            raise ParamError("the text is empty")
        method = args.method or registry.available(model)[0].name
        settings = parse_sets(args.set)
        proba = model.predict_proba([text])[0]
        k = class_index(model, args.label, proba)
        flip = explained_flip(model, model.predict_proba, text, k, method, settings, multilabel=model.multilabel,
                              threshold=getattr(model, "threshold", 0.5), max_edits=args.max_edits,
                              model_id=args.model)
        subs = _substitutions(args, model, text, proba, k, method, settings)
        cmp = None
        if args.compare is not None:
            def attribution(t: str, c: int):
                return registry.run(method, model, t, c, model_id=args.model, **settings)

            cmp = compare(model.predict_proba, text, clean_text(args.compare)[0], model.labels, attribution, k)
        if args.json:
            out = {"model": args.model, "method": method, "class": model.labels[k], "probability": float(proba[k]),
                   "flip": flip.to_dict(),
                   "substitutions": None if subs is None else
                   {"runner_up": model.labels[subs[0]], "rows": subs[1].to_dict(orient="records")},
                   "compare": None if cmp is None else
                   {"table": cmp.table().to_dict(orient="records"), "diff": [vars(op) for op in cmp.diff],
                    "words": cmp.words.to_dict(orient="records")}}
            print(json.dumps(out, indent=2, default=str, ensure_ascii=False))
            return 0
        _print(args, model, proba, k, flip, subs, cmp)
        return 0


_register()
