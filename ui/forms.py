"""Settings forms: one widget per declared `Param` (Train and Compression pages), and the trainable families."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.params import Param


def families() -> tuple[dict[str, Any], dict[str, str]]:
    """Trainable family modules by kind (KIND, TITLE, DESCRIPTION, PARAMS), and kind -> reason for those
    that cannot be imported here (e.g. a missing optional dependency)."""
    from core.models import family, trainable_kinds

    ok, failed = {}, {}
    for kind in trainable_kinds():
        try:
            ok[kind] = family(kind)
        except Exception as exc:  # noqa: BLE001 - one broken family must not hide the others
            failed[kind] = f"{type(exc).__name__}: {exc}"
    return ok, failed


def number_step(p: Param) -> float:
    """A widget step of the default's order of magnitude: 1e-5 for a learning rate, 0.1 for dropout."""
    return 10.0 ** math.floor(math.log10(abs(p.default))) if p.default else 0.1


def param_widget(p: Param, key: str, options: dict[str, Sequence[str]] | None = None) -> Any:
    """One widget for one declared setting: selectbox / multiselect for choices, checkbox for bools,
    number_input (with bounds) for numbers, text_input for lists and strings.

    options: setting name -> values to pick from (a multiselect), for settings whose choices are only known
    at run time, e.g. {"members": this dataset's models} for an ensemble.
    """
    label, help_, t = p.name.replace("_", " "), p.help or None, p.kind
    if options and p.name in options:
        return st.multiselect(label, list(options[p.name]), help=help_, key=key)
    if p.choices is not None and (p.multi or t is list):
        default = [c for c in (p.default or []) if c in p.choices]
        return st.multiselect(label, list(p.choices), default=default, help=help_, key=key)
    if p.choices is not None:
        opts = list(p.choices)
        return st.selectbox(label, opts, index=opts.index(p.default) if p.default in opts else 0,
                            format_func=lambda c: "none" if c is None else str(c), help=help_, key=key)
    if t is bool:
        return st.checkbox(label, value=bool(p.default), help=help_, key=key)
    if t is int or t is float:
        cast = int if t is int else float
        kwargs: dict[str, Any] = {"help": help_, "key": key}
        if p.min is not None:
            kwargs["min_value"] = cast(p.min)
        if p.max is not None:
            kwargs["max_value"] = cast(p.max)
        if t is float:
            kwargs["format"] = "%g"
            kwargs["step"] = number_step(p)
        return st.number_input(label, value=None if p.default is None else cast(p.default), **kwargs)
    if t is list:
        return st.text_input(label, value=", ".join(map(str, p.default or [])), key=key,
                             help=(help_ or "") + " (comma separated)")
    return st.text_input(label, value="" if p.default is None else str(p.default), help=help_, key=key)


def param_fields(params: Sequence[Param], key_prefix: str,
                 options: dict[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Widgets for `params` in two columns, advanced ones folded in an expander -> {name: widget value}.
    Widget keys are f"{key_prefix}-{name}". Call it inside an st.form so nothing runs until submit."""
    values: dict[str, Any] = {}
    for group in ([p for p in params if not p.advanced], [p for p in params if p.advanced]):
        if not group:
            continue
        box = st.expander("Advanced settings") if group[0].advanced else st.container()
        with box:
            cols = st.columns(2)
            for i, p in enumerate(group):
                with cols[i % 2]:
                    values[p.name] = param_widget(p, f"{key_prefix}-{p.name}", options)
    return values
