"""Names users give to things the lab stores (models, saved datasets): one allowed-characters check per
kind (`check_name`) and one "is this name free?" check (`ensure_free`) for every place that saves by name.

Each kind's errors keep the family they always had (a model's are ArtifactErrors, a dataset's DataErrors),
and a taken name is also a `NameTakenError`, so callers may catch either.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import ArtifactError, DataError, LabError, NameTakenError, ParamError


class ModelNameTaken(NameTakenError, ArtifactError):
    """A model (artifact) of that name exists."""


class DatasetNameTaken(NameTakenError, DataError):
    """A saved dataset of that name exists."""


class SliceNameTaken(NameTakenError, ParamError):
    """A saved slice of that name exists for the dataset."""


@dataclass(frozen=True)
class NameRule:
    """What a kind of name may be: `pattern` (full match), `allowed` (said in the error), the error raised
    for a bad name and for a taken one."""

    pattern: re.Pattern
    allowed: str
    invalid: type[LabError]
    taken: type[NameTakenError]


#: Kind ("model", "dataset") -> its rule. Names are folder names, so none may be a path or start with a dot.
RULES: dict[str, NameRule] = {
    "model": NameRule(re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,119}$"),
                      "1-120 letters, digits, '.', '_' or '-', starting with a letter or digit",
                      ArtifactError, ModelNameTaken),
    "dataset": NameRule(re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"),
                        "1-64 letters, digits, '-' or '_' (starting with a letter or digit)",
                        DataError, DatasetNameTaken),
    # saved slices live in a JSON file per dataset (core/slices/store.py), never in a folder of their own
    "slice": NameRule(re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$"),
                      "1-64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit",
                      ParamError, SliceNameTaken),
}


def check_name(name: str, what: str) -> str:
    """Return `name` if it is a valid `what` ("model", "dataset") name, else raise that kind's error."""
    rule = RULES[what]
    if not isinstance(name, str) or not rule.pattern.match(name) or ".." in name:
        raise rule.invalid(f"invalid {what} name {name!r}: use {rule.allowed}")
    return name


def ensure_free(taken: bool | Path | Callable[[], bool], name: str, what: str, overwrite: bool = False) -> None:
    """Raise NameTakenError (of `what`'s family) when `name` is taken and `overwrite` is False.

    taken: whether the name is in use: a bool, a path (taken when it exists) or a callable returning a bool.
    """
    if overwrite:
        return
    if isinstance(taken, Path):
        taken = taken.exists()
    elif callable(taken):
        taken = taken()
    if taken:
        raise RULES[what].taken(f"a {what} named {name!r} already exists; pick another name")
