"""Model cards and lab reports: what the lab knows about a model, written for a meeting.

    model_card(name) -> str           a Hugging Face style README.md (YAML metadata + sections)
    write_card(name)                  README.md in the artifact folder (never over a hand-edited one)
    lab_report_html(name) -> str      one self-contained HTML page (metrics, confusion, slices, tests, errors)

Both are assembled from `sections.SECTIONS`, a registry of small builders reading the lab's own records
(manifest, metrics, predictions, lineage, slice and behavioural-test records); adding a section = one function +
one row. `python -m core card MODEL` / `python -m core report MODEL --out FILE` are the command-line twins.
"""
from __future__ import annotations

from .card import model_card, write_card
from .report import lab_report_html

__all__ = ["model_card", "write_card", "lab_report_html"]
