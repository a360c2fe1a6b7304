"""Streamlit glue between views/ and core/: the only package importing both.

Modules, one role each (pages keep writing `ui.something`: everything public is re-exported here):

- chrome:     page header, links (PAGE_*), empty states, `show_error` / `guard`, capability `panel`, token chips,
              CSV / case-file downloads;
- cache:      cached artifact lists, stored predictions, loaded models (shared by every session, so calls go
              through a per-model lock), changed predictions, benchmark runs;
- datasets:   cached dataset list, loaded datasets, statistics (also on disk), uploads;
- pickers:    model / dataset pickers that remember the choice across pages;
- forms:      one widget per declared setting (`param_fields`), the trainable families;
- jobs:       starting background jobs and the live `job_monitor`;
- explain:    explanations through core.explain.registry and the shared `explain_controls` widget;
- analysis:   cached self-attention views, label quality, confusable words;
- embeddings: embedding samples and their projections;
- scoring:    batch scoring of a table (core.scoring) and the "Evaluated on" switch (core.evaluations);
- slices:     slice tables, against-parent comparisons and error-cluster discovery (core.slices) with a progress bar;
- checks:     behavioural-test runs (core.checks) with st.progress.

What needs no Streamlit lives in core (escaping and formatting in core.safety, attention matrices in
core.explain.attention, model tables in core.artifact_tables, lineage in core.lineage, ...); pages may import
those core modules directly for pure results. Caches are keyed by the artifact's manifest mtime as well as its
name, so a re-trained model with the same name is never served stale.
"""
from __future__ import annotations

from core import plots
from core import plots_explain as xplots
from core.explain import render
from core.safety import MAX_TEXT_CHARS, clean_text, csv_bytes, csv_cell, csv_safe, fmt, md_escape

from . import datamaps as datamaps  # data maps + relabel queue: pages call ui.datamaps.*
from .analysis import attention_of, attention_summary, attention_view, chunk_view, confusable_words, label_quality
from .cache import (
    artifact_info,
    artifact_infos,
    bench_runs,
    changed_predictions,
    dataset_marks,
    delete_model,
    load_model,
    load_predictions,
    locked_model,
    model_id,
    predict_one,
    predict_proba,
    refresh_artifacts,
)
from .checks import run_checks
from .chrome import (
    KNOWN_ERRORS,
    PAGE_COMPARE,
    PAGE_COMPRESSION,
    PAGE_CURVES,
    PAGE_DATASET,
    PAGE_EMBEDDINGS,
    PAGE_ERRORS,
    PAGE_EXPLAIN,
    PAGE_OVERVIEW,
    PAGE_PREDICT,
    PAGE_SCORE,
    PAGE_TRAIN,
    case_file_button,
    csv_download,
    empty_state,
    guard,
    page_header,
    page_link,
    panel,
    show_error,
    show_tokens,
    upload_limit_mb,
)
from .compression import budget_section, changes_section
from .counterfactual import (
    contrast_panel,
    deletion_columns,
    edit_compare_panel,
    flip_panel,
    show_trust,
    trust_of,
    whatif_panels,
)
from .datasets import (
    dataset_list,
    dataset_versions,
    describe_dataset,
    free_dataset_name,
    load_dataset,
    read_upload,
    refresh_datasets,
    save_upload,
)
from .embeddings import EMBED_CAP, EMBED_FAMILIES, embed_families, embed_sample, projection
from .explain import (
    COLOUR_LEGEND,
    attribution_bar,
    capable_model,
    explain_controls,
    explain_text,
    explainers,
    mean_attribution,
    needs_compute,
    shap_warmup,
    show_attribution,
    show_text,
)
from .forms import families, param_fields, param_widget
from .jobs import job_monitor, jobs_running, start_bench, start_compress, start_job, start_zoo
from .pickers import (
    dataset_and_models,
    model_and_predictions,
    model_label,
    pick_dataset,
    pick_model,
    pick_models,
    pick_other_model,
    require_selected,
    select_model,
)
from .preflight import embedding_start, estimate_panel
from .scoring import SHIFT_COLUMNS, compare_on, evaluated_on, evaluations_of, parquet_bytes, score_table, show_shift
from .slices import (
    discover_slices,
    refresh_slices,
    slice_against,
    slice_columns,
    slice_rows,
    slice_table,
)
from .thresholds import threshold_editor

__all__ = [
    "plots", "xplots", "render", "MAX_TEXT_CHARS", "clean_text", "csv_bytes", "csv_cell", "csv_safe", "fmt",
    "md_escape",
    "attention_of", "attention_summary", "attention_view", "chunk_view", "confusable_words", "label_quality",
    "artifact_info", "artifact_infos", "bench_runs", "changed_predictions", "delete_model", "load_model",
    "load_predictions", "locked_model", "model_id", "predict_one", "predict_proba", "refresh_artifacts",
    "KNOWN_ERRORS", "PAGE_COMPARE", "PAGE_COMPRESSION", "PAGE_CURVES", "PAGE_DATASET", "PAGE_EMBEDDINGS",
    "PAGE_ERRORS", "PAGE_EXPLAIN", "PAGE_OVERVIEW", "PAGE_PREDICT", "PAGE_TRAIN", "case_file_button", "csv_download",
    "empty_state", "guard", "page_header", "page_link", "panel", "show_error", "show_tokens", "upload_limit_mb",
    "budget_section", "changes_section",
    "describe_dataset", "dataset_list", "dataset_versions", "free_dataset_name", "load_dataset", "read_upload", "refresh_datasets", "save_upload",
    "EMBED_CAP", "EMBED_FAMILIES", "embed_families", "embed_sample", "projection",
    "COLOUR_LEGEND", "attribution_bar", "explain_controls", "explain_text", "explainers", "mean_attribution",
    "needs_compute", "capable_model", "shap_warmup", "show_attribution", "show_text",
    "contrast_panel", "deletion_columns", "edit_compare_panel", "flip_panel", "show_trust", "trust_of", "whatif_panels",
    "families", "param_fields", "param_widget",
    "job_monitor", "jobs_running", "start_bench", "start_compress", "start_job", "start_zoo",
    "dataset_and_models", "model_and_predictions", "model_label", "pick_dataset", "pick_model", "pick_models",
    "pick_other_model", "require_selected", "select_model", "dataset_marks",
    "PAGE_SCORE", "SHIFT_COLUMNS", "compare_on", "evaluated_on", "evaluations_of", "parquet_bytes", "score_table",
    "show_shift", "run_checks",
    "embedding_start", "estimate_panel", "threshold_editor",
    "discover_slices", "refresh_slices", "slice_against", "slice_columns", "slice_rows", "slice_table",
]
