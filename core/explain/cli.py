"""`python -m core explain MODEL "text" [--method M] [--class LABEL] [--contrast B] [--trust] [--set k=v]`: word
attributions of one text, from the explainer registry (the same explainers, settings and defaults as the
dashboard's explanation controls). --contrast B explains "why the class and not B" (the difference of the two
classes); --trust adds the stability and deletion-check numbers (core.explain.trust).

`python -m core explain MODEL --list` prints the explainers the model supports (its default first) and their
settings. `python -m core counterfactual ...` (core.explain.cf_cli) is its what-if twin.
"""
from __future__ import annotations

import argparse
import json
import sys

from ..errors import ParamError


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a saved model's name (python -m core list)")
    p.add_argument("text", nargs="?", help="the text to explain; '-' reads it from standard input")
    p.add_argument("--method", help="explainer name (default: the model's first available; see --list)")
    p.add_argument("--class", dest="label", help="class to explain (default: the predicted one)")
    p.add_argument("--contrast", help="a second class B: explain why the class rather than B (their difference)")
    p.add_argument("--trust", action="store_true", help="also print stability and the deletion check (top-5 words)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="explainer setting (repeatable)")
    p.add_argument("--top", type=int, default=15, help="words to print, by |value| (default 15)")
    p.add_argument("--list", action="store_true", help="list the explainers this model supports, then exit")
    p.add_argument("--json", action="store_true", help="print the whole attribution as JSON")


def _list(model) -> None:
    from . import registry

    for i, e in enumerate(registry.available(model)):
        default = " (default)" if i == 0 else ""
        print(f"{e.name}{default}: {e.title}")
        for p in e.params:
            print(f"    --set {p.name}={p.default}  [{p.min:g}..{p.max:g}]  {p.help}")


def class_index(model, label: str | None, proba) -> int:
    """Index of class `label` of `model` (None: the most probable class); ParamError naming the classes."""
    if label is None:
        return int(proba.argmax())
    if label in model.labels:
        return model.labels.index(label)
    raise ParamError(f"unknown class {label!r}; classes: {', '.join(model.labels)}")


def _register() -> None:
    from ..cli import command

    @command("explain", "word attributions of one text (SHAP, exact linear, integrated gradients, ...)")(_setup)
    def _explain(args: argparse.Namespace) -> int:
        from ..artifacts import load_model
        from ..params import parse_sets
        from ..safety import clean_text
        from . import registry
        from .fallback import explain_target

        model = load_model(args.model)
        if args.list:
            _list(model)
            return 0
        if args.text is None:
            raise ParamError("give the text to explain (or '-' to read it from standard input), or --list")
        text = clean_text(sys.stdin.read() if args.text == "-" else args.text)[0]
        method = args.method or registry.available(model)[0].name
        proba = model.predict_proba([text])[0]
        k = class_index(model, args.label, proba)
        b = None if args.contrast is None else class_index(model, args.contrast, proba)
        settings = parse_sets(args.set)
        target, fallback_notice = explain_target(method, args.model)  # gradients of an int8 model: its fp32 parent
        run_on = model if target == args.model else load_model(target)
        attr = registry.run(method, run_on, text, k, model_id=target, contrast=b, **settings)
        if fallback_notice:
            attr.extra = {**(attr.extra or {}), "notice": fallback_notice}
        trust = None
        if args.trust:
            from .trust import registry_trust

            trust = registry_trust(run_on, run_on.predict_proba, text, attr, method, settings, contrast=b,
                                   model_id=target)
        if args.json:
            print(json.dumps({"model": args.model, "method": method, "class": model.labels[k],
                              "contrast": None if b is None else model.labels[b],
                              "probability": float(proba[k]), "tokens": attr.tokens,
                              "values": [float(v) for v in attr.values], "base_value": attr.base_value,
                              "extra": attr.extra, "trust": trust.to_dict() if trust else None},
                             indent=2, default=str, ensure_ascii=False))
            return 0
        why = "" if b is None else f"; why “{model.labels[k]}” and not “{model.labels[b]}” (p = {proba[b]:.3f})"
        print(f"{args.model}: {model.labels[k]} (p = {proba[k]:.3f}){why}; {registry.get(method).title}")
        notice = (attr.extra or {}).get("notice")
        if notice:
            print(f"note: {notice}")
        for token, value in attr.top(args.top):
            direction = ("towards" if value >= 0 else "away") if b is None else \
                f"for {model.labels[k] if value >= 0 else model.labels[b]}"
            print(f"  {value:+.4f}  {token!r}  ({direction})")
        if trust is not None:
            print("trust:")
            for line in trust.lines():
                print(f"  {line}")
        return 0


_register()
