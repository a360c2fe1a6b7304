"""From flagged labels to fixed ones: the relabel queue, corrections and the retrain loop.

    evidence.py     per-row evidence (data map, cleanlab, conflicting near duplicates)
    queue.py        `build_queue(model)`: rows ranked by combined evidence, with suggestions and reasons
    corrections.py  the versioned corrections overlay of a dataset (who / when / why)
    transfer.py     CSV export (formulas escaped) and all-or-nothing import
    apply.py        a corrected copy as a new dataset version
    retrain.py      corrected dataset + a new model with the source model's settings
    changes.py      which test predictions changed between two models
    cli.py          `python -m core relabel ...`, `python -m core data corrections ...`
"""
