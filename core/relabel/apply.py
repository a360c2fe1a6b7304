"""Applying corrections: a corrected copy of a dataset as a new dataset version (the original is untouched).

An upload "upload:NAME@vK" gets version K' = latest + 1 of the same upload; a built-in (or a file path) gets an
upload named "<name>-corrected" (its next version when it exists). The copy's meta records corrected_from,
source_fingerprint, overlay_version and the counts; its fingerprint differs from the source's.
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np

from ..data import Split, TextDataset
from ..errors import DataError
from .corrections import SEP, Overlay, load_overlay, row_index


def corrected(ds: TextDataset, overlay: Overlay | None = None) -> TextDataset:
    """`ds` with the overlay's labels changed and its excluded rows dropped (splits keep their order)."""
    overlay = overlay or load_overlay(ds)
    if not overlay.entries:
        raise DataError(f"no corrections saved for {overlay.dataset!r} yet: nothing to apply")
    index = row_index(ds)
    changes: dict[str, dict[int, object]] = {s: {} for s in ds.splits()}
    for c in overlay.entries.values():
        split, i = index[c.row_id]
        changes[split][i] = None if c.exclude else c.new_label
    parts = {}
    for split, part in ds.splits().items():
        y = np.array(part.y, copy=True)
        keep = []
        for i in range(len(part)):
            if i in changes[split] and changes[split][i] is None:
                continue
            if i in changes[split]:
                new = str(changes[split][i])
                if ds.multilabel:
                    y[i] = 0
                    for name in filter(None, new.split(SEP)):
                        y[i, ds.labels.index(name)] = 1
                else:
                    y[i] = ds.labels.index(new)
            keep.append(i)
        parts[split] = Split([part.texts[i] for i in keep], y[np.asarray(keep, dtype=np.int64)])
    n_excluded = sum(c.exclude for c in overlay.entries.values())
    meta = {**ds.meta, "corrected_from": overlay.dataset, "source_fingerprint": ds.fingerprint(),
            "overlay_version": overlay.version, "relabelled": len(overlay.entries) - n_excluded,
            "excluded": n_excluded}
    meta.pop("versions", None)
    meta.pop("source", None)
    return dataclasses.replace(ds, train=parts["train"], validation=parts["validation"], test=parts["test"],
                               meta=meta, description=(ds.description + f" (corrected: {overlay.dataset} "
                                                       f"+ corrections v{overlay.version})").strip())


def save_corrected(ds: TextDataset) -> tuple[str, TextDataset]:
    """Save the corrected copy of `ds` as a new upload version; returns ("upload:NAME@vK", the copy)."""
    from ..data.uploads import UPLOAD_PREFIX, check_upload_name, save_upload, split_version, upload_versions

    fixed = corrected(ds)
    if ds.name.startswith(UPLOAD_PREFIX):
        base = split_version(ds.name)[0]
    else:
        base = check_upload_name(re.sub(r"[^A-Za-z0-9_.-]+", "-", ds.name).strip("-.")[:50] + "-corrected")
    save_upload(fixed, base, title=f"{base} (corrected)", new_version=bool(upload_versions(base)))
    ref = f"{UPLOAD_PREFIX}{base}@v{upload_versions(base)[-1]}"
    return ref, dataclasses.replace(fixed, name=ref)
