"""The one entry point to every dataset: `load_dataset(name)` and `list_datasets()` over the built-ins
(specs.py) and the saved uploads (uploads.py)."""
from __future__ import annotations

from .builtin import builtin_rows, load_builtin
from .resolve import FILE_PREFIX, load_file_dataset
from .specs import SPECS
from .splits import apply_max_train
from .types import DataError, TextDataset
from .uploads import UPLOAD_PREFIX, list_uploads, load_upload, upload_rows


def load_dataset(name: str, max_train: int | None = None, seed: int = 0) -> TextDataset:
    """Load a built-in dataset by registry name, a saved upload as "upload:<name>" (its latest version) or
    "upload:<name>@v<k>" (version k), or a file read before as "file:<parent>/<stem>" (resolve.py; a PATH
    goes through resolve.resolve_dataset).

    max_train: keep a stratified, seeded sample of at most this many TRAINING rows; validation and test
               are never subsampled (the same meaning for every dataset and for in-memory datasets given
               to train.run, see splits.apply_max_train).
    seed:      seeds the validation carve and the max_train sample. A carved *test* split always uses
               seed 0 so every model of a dataset is scored on the same rows.
    Raises DataError when the dataset cannot be found (with the folders searched and how to fix it).
    """
    if name.startswith(UPLOAD_PREFIX):
        return apply_max_train(load_upload(name[len(UPLOAD_PREFIX):]), max_train, seed)
    if name.startswith(FILE_PREFIX):
        return load_file_dataset(name, max_train=max_train, seed=seed)
    if name not in SPECS:
        raise DataError(f"unknown dataset {name!r}; built-in datasets: {', '.join(SPECS)}; "
                        f"uploads are named 'upload:<name>' ({', '.join(list_uploads()) or 'none saved yet'})")
    return apply_max_train(load_builtin(name, seed), max_train, seed)


def list_datasets() -> list[dict]:
    """Every built-in dataset and saved upload, without parsing any data file.

    Each dict: name, title, task ('multiclass'|'multilabel'), language, available (bool), where (folder,
    "hub:<id>" or None), rows ({train, validation, test} as load_dataset would return them without
    max_train, or None when unknown without parsing), description, hub_id, licence, kind ('builtin'|'upload').
    """
    return builtin_rows() + upload_rows()
