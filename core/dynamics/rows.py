"""Stable row ids: the same row gets the same id in every load of a dataset, in a corrected copy, and in a
model's training-dynamics file, whatever subsample (max_train) the model saw.

id = "<split>-<first 12 hex of sha1(text)>" and, for the k-th repeat (k >= 1) of an identical text in the same
split, "<...>~k". Ids depend on the text only, so a label correction never changes a row's id. (Excluding one of
several identical texts renumbers the later repeats: they are the same text, and the corrections overlay keys
them the same way.)
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence


def row_ids(split: str, texts: Sequence[str]) -> list[str]:
    """One id per text of split `split` ("train" / "validation" / "test"), in order (see the module doc)."""
    seen: dict[str, int] = {}
    out = []
    for text in texts:
        base = f"{split}-{hashlib.sha1(str(text).encode('utf-8', 'replace')).hexdigest()[:12]}"
        k = seen.get(base, 0)
        seen[base] = k + 1
        out.append(base if k == 0 else f"{base}~{k}")
    return out


def split_of(row_id: str) -> str:
    """The split an id belongs to ("train-ab12..." -> "train")."""
    return row_id.split("-", 1)[0]
