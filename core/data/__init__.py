"""Datasets: built-in registry and loaders -> TextDataset; users' own tables; describe() statistics.

Modules, one role each:
    types.py     Split, TextDataset (+ fingerprint); DataError / NameTakenError re-exported from core.errors
    splits.py    stratified carving and subsampling; the one meaning of `max_train` (training rows only)
    specs.py     built-in datasets as declarative records (SPECS): file roles, hub copy, documented sizes
    parsers.py   one parser per built-in (PARSERS), clean_ag_news
    builtin.py   finding, parsing (cached) and splitting built-ins; the hub fallback; sizes without parsing
    formats.py   users' files: READERS (extension -> reader), ACCEPTED_EXTENSIONS, read_table
    cells.py / labels.py / validate.py   checking a user's table: a ValidationReport with every problem
    frames.py    dataset_from_frame: a validated table -> TextDataset
    uploads.py   save / load / list / delete saved uploads ("upload:<name>", versions "upload:<name>@v<k>")
    resolve.py   resolve_dataset(spec): a name or a PATH (+ column guesses, optional test file) -> TextDataset
    catalog.py   load_dataset(name) and list_datasets() over built-ins and uploads
    stats.py     describe() statistics and suggest_max_length

Every user-facing problem raises `DataError` (a ValueError) with a message that says how to fix it.
Everything below is importable from `core.data` as before the split into modules.
"""
from __future__ import annotations

from .catalog import list_datasets, load_dataset
from .cells import is_missing, label_name, sort_labels
from .formats import ACCEPTED_EXTENSIONS, READERS, Reader, read_table, reader_for
from .frames import dataset_from_frame, detect_language
from .parsers import AG_NEWS_LABELS, JIGSAW_LABELS, PARSERS, RUSENTIMENT_LABELS, Raw, clean_ag_news
from .resolve import (
    FILE_PREFIX,
    guess_columns,
    guess_label_columns,
    guess_text_columns,
    looks_like_path,
    read_file_dataset,
    resolve_dataset,
)
from .specs import SPECS, BuiltinSpec, FileRole, HubSource
from .splits import TEST_SIZE, VALIDATION_SIZE, apply_max_train, carve, duplicate_groups, subsample
from .stats import COVERAGE_TARGET, LENGTH_CANDIDATES, describe, normalise_text, suggest_max_length
from .types import DataError, NameTakenError, Split, TextDataset
from .uploads import (
    UPLOAD_PREFIX,
    delete_upload,
    free_name,
    list_uploads,
    load_upload,
    save_upload,
    split_version,
    upload_info,
    upload_versions,
    version_with_fingerprint,
)
from .validate import LABEL_FORMATS, MIN_ROWS, Problem, TableError, ValidationReport, validate_frame

__all__ = [
    "ACCEPTED_EXTENSIONS", "AG_NEWS_LABELS", "FILE_PREFIX", "duplicate_groups", "free_name", "guess_columns",
    "guess_label_columns", "guess_text_columns", "looks_like_path", "read_file_dataset", "resolve_dataset",
    "split_version", "upload_info", "upload_versions", "version_with_fingerprint", "BuiltinSpec", "COVERAGE_TARGET", "DataError", "FileRole", "HubSource",
    "JIGSAW_LABELS", "LABEL_FORMATS", "LENGTH_CANDIDATES", "MIN_ROWS", "NameTakenError", "PARSERS", "Problem",
    "READERS", "RUSENTIMENT_LABELS", "Raw", "Reader", "SPECS", "Split", "TEST_SIZE", "TableError", "TextDataset",
    "UPLOAD_PREFIX", "VALIDATION_SIZE", "ValidationReport", "apply_max_train", "carve", "clean_ag_news",
    "dataset_from_frame", "delete_upload", "describe", "detect_language", "is_missing", "label_name",
    "list_datasets", "list_uploads", "load_dataset", "load_upload", "normalise_text", "read_table", "reader_for",
    "save_upload", "sort_labels", "subsample", "suggest_max_length", "validate_frame",
]
