"""Behavioural tests after CheckList: INV (a perturbation must not change the prediction), DIR (a change must move
a label's probability the expected way), MFT (templates with expected labels), run on any model through
`predict_proba`.

    perturb   the perturbation registry (name -> fn(text, rng, **params) -> text or None), words (its lists)
    suite     the YAML schema: safe parsing, validation naming line and field, the suite hash
    cases     seeded inputs of a test (perturbed pairs, filled templates)
    run       scoring every distinct text once, pass / fail per test, failing examples
    defaults  the default suite of a dataset (INV sample, DIR from the confusable words of the top cells)
    store     suites per dataset and run records per model + suite hash under <artifacts>/.checks
    api       by model name: suite for a model, check, variants; tables: records as tables / chart / text
    cli       python -m core check MODEL [--suite FILE] [--dataset D] [--json] [--with-variants]
"""
from __future__ import annotations

from .api import check_model, check_with_variants, generate_for, suite_text_for, variants_of
from .perturb import PERTURBATIONS, Perturbation
from .run import Target, run_suite
from .store import load_record, load_suite, save_suite, saved_suite_text, suite_path
from .suite import CheckTest, Suite, SuiteError, parse_suite, suite_hash

__all__ = ["PERTURBATIONS", "CheckTest", "Perturbation", "Suite", "SuiteError", "Target", "check_model",
           "check_with_variants", "generate_for", "load_record", "load_suite", "parse_suite", "run_suite",
           "save_suite", "saved_suite_text", "suite_hash", "suite_path", "suite_text_for", "variants_of"]
