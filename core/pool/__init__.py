"""Active learning on an unlabeled pool: texts without labels kept beside a dataset, ranked by how much a model
would learn from them, exported to label, imported back as a new dataset version, and a learning curve that
says how many labelled rows a target metric needs.

    store.py   the pool of a dataset (user_data_dir()/.pools/<dataset>/pool.parquet), add / load / clear
    rank.py    uncertainty (entropy, margin, least confidence) + a diversity step (no near duplicates in a batch)
    labels.py  export a batch to label (CSV), check and import the labels (refused whole on any problem)
    grow.py    the dataset plus its labelled pool rows as a new version; retrain a model with the same settings
    curve.py   test metric against labelled rows from subsampled retrains, power-law fit, rows needed
    cli.py     python -m core pool add|show|rank|import|grow|curve
"""
