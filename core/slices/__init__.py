"""Slices: where a model fails, as named groups of texts with metrics and confidence intervals.

Modules, one role each:
    tags.py        automatic tags of evaluated texts (TAGS registry: name, description, fn(ctx) -> mask)
    duplicates.py  exact / near duplicates of training texts and their label conflicts (tags read them)
    store.py       saved user slices per dataset (keyword, regex, column, texts): save_slice / list_slices /
                   delete_slice, and slice_mask
    columns.py     metadata columns of a user's dataset (for column slices)
    inputs.py      the rows a model is sliced on (EvalSet: test split or an evaluation record), cached tags
    bootstrap.py   vectorised bootstrap intervals of accuracy / macro F1 / micro F1 and paired deltas
    table.py       slice_table, largest_gaps, against_table (a compressed variant against its parent),
                   recorded_table (the cached table or None: what model cards and reports read)
    discovery.py   slice discovery: errors clustered, ranked by lift with a Fisher test, described by words
    cli.py         python -m core slices MODEL [--dataset D] [--against MODEL] [--discover] [--json] [--out CSV]
"""
from __future__ import annotations

from .discovery import Discovery, cluster_texts, discover
from .inputs import EvalSet, eval_set
from .store import KINDS, SavedSlice, delete_slice, list_slices, save_slice, slice_mask
from .table import against_table, largest_gaps, recorded_table, slice_table

__all__ = ["KINDS", "Discovery", "EvalSet", "SavedSlice", "against_table", "cluster_texts", "delete_slice",
           "discover", "eval_set", "largest_gaps", "list_slices", "recorded_table", "save_slice", "slice_mask",
           "slice_table"]
