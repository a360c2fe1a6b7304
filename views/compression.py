"""Compression: what quantized / distilled / pruned variants buy against their reference model, measured honestly.

Scorecard from the newest saved benchmark run (core.bench, interleaved timing in one process), trade-off plots
with the Pareto front, calibration, the test examples whose prediction changed, per-class change, what a variant
changed against its parent (core.changes: flips by class / slice, calibration shift, CKA), a budget picker
(core.compress.pick), and a form that builds a new variant as a background job.
"""
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

import ui
from core import lineage
from core.compress import methods as compress_methods
from core.evaluate import per_class_delta
from core.machine import summary as machine_summary
from core.params import form_settings
from core.scoresets import group_by_test_set

ui.page_header(
    "Compression",
    "Variants of a model (int8, fp16, distilled, pruned, ensembles) against a reference: size, speed and accuracy "
    "measured side by side on this machine, and the test examples each variant now gets differently.",
)

#: Scorecard columns: (key, title, number format, help)
SCORECARD = [
    ("method", "method", None, "compression method (empty: trained, not compressed)"),
    ("parent", "parent", None, "the model this variant was built from"),
    ("size_mb", "size (MB)", "%.3f", "files of the model folder on disk"),
    ("n_parameters", "parameters", "%d", "learned numbers (int8 ones included)"),
    ("latency_p50_ms", "latency p50 (ms)", "%.2f", "one text of ~64 word pieces, batch 1, median"),
    ("latency_p95_ms", "latency p95 (ms)", "%.2f", "one text of ~64 word pieces, batch 1, 95th percentile"),
    ("latency_real_p50_ms", "real-text p50 (ms)", "%.2f", "real test texts one at a time, median"),
    ("latency_real_p95_ms", "real-text p95 (ms)", "%.2f", "real test texts one at a time, 95th percentile"),
    ("throughput_per_s", "texts/s @32", "%.1f", "throughput at batch 32 over real test texts"),
    ("accuracy", "accuracy", "%.4f", "test accuracy (multi-label: exact match)"),
    ("f1_macro", "F1 macro", "%.4f", "test macro F1"),
    ("ece", "ECE", "%.4f", "expected calibration error (lower is better)"),
    ("agreement", "agreement", "%.4f", "share of test predictions identical to the reference's"),
    ("compression_ratio", "× smaller", "%.2f", "reference size / size"),
    ("speedup", "× faster (64 tok)", "%.2f", "reference latency p50 / latency p50 at 64 word pieces"),
    ("speedup_real", "× faster (real)", "%.2f", "reference / variant median latency over real texts"),
]
CHANGED_CAP = 500  # rows of the changed-predictions table drawn (the CSV has all)


def changed_share(reference: str) -> Callable[[str], float | None]:
    """model -> share of the reference's test predictions it changes (None when unknown: another test split or a
    deleted artifact), from the cached stored predictions."""
    def share(model: str) -> float | None:
        try:
            n = len(ui.load_predictions(reference).texts)  # cached: read once
            return len(ui.changed_predictions(model, reference)) / max(n, 1)
        except Exception:  # noqa: BLE001 - unknown, not fatal: the scorecard shows an empty cell
            return None

    return share


def machine_panel(machine: dict[str, Any]) -> None:
    with st.expander("Machine this benchmark ran on", icon=":material/memory:"):
        st.write(machine_summary(machine))
        s = machine.get("settings") or {}
        facts = {
            "CPU": machine.get("cpu"), "architecture": machine.get("arch"),
            "physical cores": machine.get("physical_cores"), "logical cores": machine.get("logical_cores"),
            "usable cores": machine.get("usable_cores"), "torch threads used": machine.get("torch_threads"),
            "RAM (GB)": machine.get("ram_gb"), "OS": machine.get("os"), "Python": machine.get("python"),
            "CPU flags (int8 / bf16 kernels)": ", ".join(machine.get("cpu_flags") or []) or "none of interest",
            "quantized engine": machine.get("torch_quantized_engine"),
            "load average (1 min) at the end": machine.get("load_average_1min"),
            "run at (UTC)": s.get("created"), "latency text": f"{s.get('text_64_pieces') or '~64'} word pieces "
            f"({s.get('text_64_words')} words), {s.get('repeats')} calls per model",
            "real texts timed": s.get("n_texts"), "throughput batch": s.get("batch_size"),
            "interleaved": s.get("interleaved"), "saved to": machine.get("saved_to"),
        }
        st.dataframe(pd.DataFrame({"": list(facts), "value": [ui.fmt(v) for v in facts.values()]}),
                     hide_index=True)
        versions = machine.get("versions") or {}
        if versions:
            st.dataframe(pd.DataFrame({"library": list(versions), "version": list(versions.values())}),
                         hide_index=True)


# ------------------------------------------------------------------------------------------------ choose
dataset, infos = ui.dataset_and_models("compression-dataset", "No model trained on {dataset} yet — train one, then "
                                                             "compress it here.")
by_name = {i.name: i for i in infos}
names = list(by_name)

guess = lineage.default_reference(infos)
if st.session_state.get("compression-reference") not in names:
    st.session_state["compression-reference"] = guess
reference = st.selectbox("Reference model", names, key="compression-reference",
                         help="Ratios, agreement and changed predictions are measured against this model. "
                              "Default: the model most variants were built from.")
ref_info = by_name[reference]
# variants are compared with the reference on its test set: models scored on another one are left out
same_set = group_by_test_set(infos, first=reference)[0].names
others = [n for n in same_set if n != reference]
if len(same_set) < len(names):
    st.caption(f"{len(names) - len(same_set)} model(s) of {dataset} were scored on a different test set than "
               f"{reference} and are not offered as its variants.")
family_ = lineage.descendants(reference, infos)

with st.expander("Lineage (parent → variant)", icon=":material/account_tree:", expanded=bool(family_)):
    table = lineage.lineage_frame(infos)
    dot = lineage.lineage_dot(table, reference)
    if dot:
        st.graphviz_chart(dot)
    else:
        st.caption("No model on this dataset was built from another one yet.")
    st.dataframe(table, hide_index=True)

if not others:
    ui.empty_state(f"Only one model on {dataset} ({reference}): nothing to compare yet. Build a variant of it below "
                   "(int8, fp16, distillation, pruning) or train another model.")
    variants: list[str] = []
else:
    key = "compression-variants"
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in others]
    variants = st.multiselect("Variants", others, key=key, default=None if key in st.session_state else
                              (family_ or others), help="Default: every model built from the reference.")
chosen = [reference, *variants]

# ------------------------------------------------------------------------------------------------ scorecard
if variants:
    st.subheader("Scorecard")
    runs = [r for r in ui.bench_runs() if reference in r["models"] and set(r["models"]) & set(variants)]
    covering = [r for r in runs if set(chosen) <= set(r["models"])]
    run = None
    if runs:
        labels = {r["path"]: f"{r['created'].replace('T', ' ')[:19]} · {len(r['models'])} models · reference "
                             f"{r['reference']}" for r in runs}
        default_run = (covering or runs)[0]["path"]
        if st.session_state.get("compression-run") not in labels:
            st.session_state["compression-run"] = default_run
        path = st.selectbox("Benchmark run", list(labels), key="compression-run", format_func=labels.get,
                            help="Saved runs of `python -m core bench` that include the reference, newest first; "
                                 "the newest covering every chosen variant is preselected.")
        run = next(r for r in runs if r["path"] == path)
    cols = st.columns([2, 3], vertical_alignment="bottom")
    with cols[1].popover("Benchmark settings", icon=":material/tune:"):
        repeats = st.number_input("timed calls per model (64-piece text)", 5, 500, 30, key="compression-repeats")
        n_texts = st.number_input("real test texts timed one by one", 10, 2000, 200, key="compression-ntexts")
        threads = st.number_input("torch threads (0 = default)", 0, 64, 0, key="compression-threads")
    if cols[0].button("Run benchmark now", icon=":material/speed:", key="compression-bench", type="primary",
                      help="Runs `python -m core bench` on the reference and the chosen variants in the background: "
                           "all loaded in one process, warmed up, timed round-robin with a fixed thread count."):
        if ui.jobs_running():
            st.caption("Another background job is running: timings will be slower while it runs.")
        job = ui.start_bench(variants, reference, dataset, int(repeats), int(n_texts), int(threads) or None)
        if job:
            st.toast(f"Benchmark started (job {job}).", icon=":material/speed:")
    st.caption("`python -m core bench " + " ".join([reference, *variants]) + f" --reference {reference}` "
               "produces the same run from the command line.")

    if run is None:
        st.info("No benchmark run covers the reference and these variants yet — press **Run benchmark now** (it "
                "takes a minute or more per large model, longer while other jobs run).", icon=":material/info:")
        card = None
    else:
        missing = [v for v in variants if v not in run["models"]]
        if missing:
            st.warning(f"Not in this run: {', '.join(missing)} — run the benchmark again to include them.",
                       icon=":material/warning:")
        card = lineage.rebased(run["rows"], reference, run["reference"], changed_share(reference))
        card = card[card["model"].isin(chosen)].reset_index(drop=True)
        show = card[["model"] + [c for c, _, _, _ in SCORECARD]].copy()
        show["parent"] = show["parent"].fillna("")
        st.dataframe(show, hide_index=True, column_config={
            c: (st.column_config.NumberColumn(t, format=f, help=h) if f else st.column_config.TextColumn(t, help=h))
            for c, t, f, h in SCORECARD})
        st.caption("× smaller / × faster above 1 beat the reference; agreement is the share of test predictions "
                   "left unchanged. Latency includes tokenisation (what a user waits for). Numbers depend on the "
                   "machine and its load — see below.")
        ui.csv_download(show, f"scorecard-{reference}.csv", key="compression-card-dl")
        machine_panel(run["machine"])

    # ------------------------------------------------------------------------------------------ trade-offs
    st.subheader("Trade-offs")
    if card is not None:
        points = card
        st.caption("From the benchmark run above. Blue points are on the Pareto front: no other variant beats them "
                   "on both axes (as fast or small AND as accurate). Grey points are dominated — some other "
                   "variant is better on both.")
    else:
        points = pd.DataFrame([{"model": n, "size_mb": (by_name[n].metrics or {}).get("size_mb"),
                                "latency_p50_ms": (by_name[n].metrics or {}).get("latency_ms_p50"),
                                "accuracy": (by_name[n].metrics or {}).get("accuracy"),
                                "f1_macro": (by_name[n].metrics or {}).get("f1_macro")} for n in chosen])
        st.caption("No benchmark yet: these use each model's own size and latency measured when it was saved "
                   "(one at a time, possibly under other load) — run the benchmark for a fair comparison. Blue points "
                   "are on the Pareto front: no other variant beats them on both axes.")
    quality = st.radio("Quality axis", ["accuracy", "f1_macro"], horizontal=True, key="compression-quality",
                       format_func={"accuracy": "accuracy", "f1_macro": "macro F1"}.get)
    c1, c2 = st.columns(2)
    names_ = points["model"].tolist()
    q = pd.to_numeric(points[quality], errors="coerce").tolist()
    with c1:
        lat = pd.to_numeric(points["latency_p50_ms"], errors="coerce").tolist()
        st.plotly_chart(ui.plots.tradeoff_scatter(names_, lat, q, "latency p50 (ms)", quality,
                                                  title=f"{quality} against latency"), key="compression-lat")
    with c2:
        size = pd.to_numeric(points["size_mb"], errors="coerce").tolist()
        st.plotly_chart(ui.plots.tradeoff_scatter(names_, size, q, "size on disk (MB)", quality,
                                                  title=f"{quality} against size"), key="compression-size")

    # ------------------------------------------------------------------------------------------ calibration
    st.subheader("Calibration")
    st.caption("Reliability diagram: test predictions grouped by confidence. A calibrated model's accuracy in each "
               "group equals its confidence (the dashed diagonal); points below it are over-confident. Compression "
               "often shifts confidence without changing the predicted class.")
    curves = {n: (by_name[n].metrics or {}).get("calibration_bins") for n in chosen}
    curves = {n: b for n, b in curves.items() if b}
    if curves:
        st.plotly_chart(ui.plots.reliability_diagram(curves), key="compression-reliability")
    else:
        st.info("These models have no calibration bins in their metrics.", icon=":material/info:")

    # ------------------------------------------------------------------------------------------ changes
    st.subheader("Predictions that changed")
    st.caption("Test examples where a variant predicts differently from the reference, from both models' stored "
               "test predictions (no inference is re-run).")
    variant = st.selectbox("Variant", variants, key="compression-variant")
    with ui.guard("Comparing predictions"):
        changed = ui.changed_predictions(variant, reference)
        n_test = len(ui.load_predictions(reference).texts)
        ref_ok = changed["reference"] == changed["true"]
        var_ok = changed["variant"] == changed["true"]
        changed.insert(2, "now right", lineage.now_right(changed))
        m = st.columns(4)
        m[0].metric("changed", f"{len(changed):,}", help=f"of {n_test:,} test examples")
        m[1].metric("fixed by the variant", int((var_ok & ~ref_ok).sum()), help="reference wrong, variant right")
        m[2].metric("broken by the variant", int((ref_ok & ~var_ok).sum()), help="reference right, variant wrong")
        m[3].metric("wrong both ways", int((~ref_ok & ~var_ok).sum()), help="both wrong, differently")
        if len(changed):
            order = {"reference": 0, "neither": 1, "variant": 2}  # errors the variant adds first
            changed = changed.sort_values(["now right", "reference_confidence"], ascending=[True, False],
                                          key=lambda s: s.map(order) if s.name == "now right" else s)
            st.dataframe(changed.head(CHANGED_CAP), hide_index=True, column_config={
                "text": st.column_config.TextColumn("text", width="large"),
                "reference_confidence": st.column_config.ProgressColumn("ref. confidence", min_value=0, max_value=1,
                                                                        format="%.2f"),
                "variant_confidence": st.column_config.ProgressColumn("variant confidence", min_value=0,
                                                                      max_value=1, format="%.2f")})
            st.caption(f"{len(changed):,} of {n_test:,} test examples changed ({len(changed) / max(n_test, 1):.1%})"
                       + (f"; the first {CHANGED_CAP} are shown (the CSV has all)" if len(changed) > CHANGED_CAP
                          else "") + ". Errors the variant adds (reference right, variant wrong) come first.")
            ui.csv_download(changed, f"changed-{variant}-vs-{reference}.csv", key="compression-changed-dl")
        else:
            st.success(f"{variant} predicts every test example like {reference}.", icon=":material/check_circle:")

        delta = pd.DataFrame(per_class_delta(ref_info.metrics or {}, by_name[variant].metrics or {}))
        if len(delta):
            st.plotly_chart(ui.plots.per_class_change(delta["label"], delta["recall_a"], delta["recall_b"],
                                                      delta["support"], metric="accuracy",
                                                      title=f"Per-class accuracy: {variant} vs {reference}"),
                            key="compression-per-class")
            st.caption("Per-class accuracy is the share of a class's test examples predicted correctly (its recall). "
                       "Bars right of zero: the variant gained on that class; left: it lost.")

    # ------------------------------------------------------------------------------------------ what changed
    st.subheader("What compression changed")
    parent_of = by_name[variant].parent if by_name[variant].parent in same_set else reference
    st.caption(f"{variant} against {parent_of} (its parent when recorded, else the reference): which predictions "
               "flipped, by class and by slice, how calibration moved, and how similar the layers' "
               "representations stay.")
    ui.changes_section(variant, parent_of)

# ------------------------------------------------------------------------------------------------ budget
st.subheader("Budget picker")
st.caption(f"The most accurate model of {reference}'s lineage family (its root and every variant built from it) "
           "within a latency and / or size budget.")
ui.budget_section(reference)

# ------------------------------------------------------------------------------------------------ build
st.subheader("Build a variant")
st.caption("Runs `python -m core compress` in the background; the new model is evaluated on the same test split "
           "and appears here, with its parent recorded. int8 / fp16 / bf16 / pruning need a torch model (int8 runs "
           "on ONNX Runtime unless runtime=torch); distillation takes any teacher; a static-embedding student needs a "
           "pretrained-encoder teacher.")
methods = compress_methods()
c1, c2 = st.columns(2)
teacher = c1.selectbox("Teacher (parent)", names, index=names.index(reference), key="compression-teacher")
method = c2.selectbox("Method", list(methods), key="compression-method", format_func=lambda k: methods[k].title)
meth = methods[method]
st.caption(meth.description)
with st.form("compression-form"):
    # an ensemble's `members` are picked from this dataset's other models
    values = ui.param_fields(meth.params, f"compression-{method}", options={"members": others})
    extra = ""
    if meth.open_settings:
        extra = st.text_area("Student settings (key=value, one per line)", key=f"compression-{method}-extra",
                             help="Passed to the student family, e.g. epochs=3, lr=5e-5, hidden_dim=128.")
    out_name = st.text_input("Name of the new model (optional)", key="compression-name",
                             help=f"Default: {teacher}-{method}.")
    submitted = st.form_submit_button("Build", type="primary", icon=":material/compress:")

if submitted:
    with ui.guard("Check the settings"):
        settings = form_settings(meth.params, values, extra)  # only non-default settings: a short command line
        job = ui.start_compress(teacher, method, settings, out_name.strip() or None)
        if job:
            st.toast(f"Building {method} variant of {teacher} (job {job}).", icon=":material/compress:")

st.subheader("Background jobs")
st.caption("Benchmarks and builds update every second; finished builds appear in the lists above.")
if not ui.job_monitor(key="compression-jobs", recent=3):
    st.caption("Nothing running.")
