"""The lab's one error hierarchy: every error whose message is meant for the user derives from `LabError`.

The CLI prints a `LabError` as one line (exit code 2) and shows a traceback for anything else (a bug); the
dashboard shows a `LabError` as a plain message and anything else with its traceback. Subclasses keep the
built-in base they always had (`ValueError`, `RuntimeError`, ...) so callers catching those still work.
"""
from __future__ import annotations


class LabError(Exception):
    """A problem the user can act on: bad data, bad settings, a missing or broken artifact, an unsupported call."""


class DataError(LabError, ValueError):
    """A data problem the user can fix (missing file or column, bad encoding, too few rows...)."""


class ParamError(LabError, ValueError):
    """A training setting is unknown, of the wrong type or out of range."""


class ArtifactError(LabError, RuntimeError):
    """An artifact is missing, broken or its name is not allowed."""


class CapabilityError(LabError, NotImplementedError):
    """The model does not declare the capability this call needs."""


class NameTakenError(LabError, FileExistsError):
    """A name (model, dataset, experiment) is already used and replacing it was not confirmed."""
