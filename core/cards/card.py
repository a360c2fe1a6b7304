"""A Hugging Face style model card (README.md with YAML metadata) written from the lab's records.

The YAML block follows the Hub's model-card metadata: language, license, tags, datasets, metrics and a
`model-index` with the test metrics, so the folder can be pushed to a hub as it is. The body is the registry of
sections in core.cards.sections. The file ends with a marker holding the hash of what the lab wrote: a card the
user edited by hand is never replaced without `force=True`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from ..atomic import atomic_write_text
from ..errors import ArtifactError
from . import markdown as md
from .facts import Facts
from .sections import parts

CARD_FILE = "README.md"
#: License written into the metadata when none is given: the Hub's value for "stated elsewhere / unknown".
DEFAULT_LICENSE = "other"
_MARK = "<!-- written by Text Classification Lab; sha256 "


def metadata(f: Facts, license: str | None = None) -> dict[str, Any]:
    """The card's YAML metadata (Hub model-card fields; model-index with the test metrics)."""
    metrics = [{"type": typ, "value": round(value, 6), "name": f"test {title}"}
               for _, typ, title, value in f.headline()]
    return {
        "language": [f.language],
        "license": license or DEFAULT_LICENSE,
        "library_name": "text-classification-lab",
        "pipeline_tag": "text-classification",
        "tags": ["text-classification", "textlab", f.kind] + (["multi-label"] if f.multilabel else []),
        "datasets": [f.dataset],
        "metrics": sorted({m["type"] for m in metrics}),
        "base_model": f.manifest.get("parent") or (f.manifest.get("config") or {}).get("backbone") or None,
        "model-index": [{
            "name": f.name,
            "results": [{
                "task": {"type": "text-classification", "name": "Text Classification"},
                "dataset": {"name": f.dataset, "type": f.dataset, "split": "test"},
                "metrics": metrics,
            }],
        }],
    }


def _card_body(f: Facts, license: str | None) -> str:
    meta = {k: v for k, v in metadata(f, license).items() if v is not None}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    lines = ["---", front.rstrip(), "---", "", f"# {md.text(f.name)}", ""]
    for section, part in parts(f, "card"):
        lines += [f"## {section.title}", "", part.markdown, ""]
    return "\n".join(lines)


def _sealed(body: str) -> str:
    return f"{body}\n{_MARK}{hashlib.sha256(body.encode('utf-8')).hexdigest()} -->\n"


def model_card(name: str | Facts, license: str | None = None) -> str:
    """The model card of the saved model `name` as markdown text (README.md content)."""
    f = name if isinstance(name, Facts) else Facts.of(name)
    return _sealed(_card_body(f, license))


def edited_by_hand(path: Path) -> bool:
    """True when `path` exists and is not exactly a card the lab wrote (no marker, or the text changed since)."""
    if not path.exists():
        return False
    content = path.read_text(encoding="utf-8", errors="replace")
    body, sep, tail = content.rpartition(f"\n{_MARK}")
    if not sep:
        return True
    # anything after the seal counts as an edit too
    return tail.rstrip("\n") != f"{hashlib.sha256(body.encode('utf-8')).hexdigest()} -->"


def recorded_license(path: Path) -> str | None:
    """The license in the YAML metadata of an existing card (kept when the card is rewritten), else None."""
    if not path.exists():
        return None
    head = path.read_text(encoding="utf-8", errors="replace").split("\n---", 1)[0].removeprefix("---")
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError:
        return None
    value = meta.get("license") if isinstance(meta, dict) else None
    return str(value) if value else None


def write_card_into(folder: Path, name: str | None = None, license: str | None = None, force: bool = False) -> Path:
    """Write README.md into an artifact `folder` (atomically); ArtifactError when a hand-edited card is there
    and `force` is False."""
    target = folder / CARD_FILE
    if not force and edited_by_hand(target):
        raise ArtifactError(f"{target} was edited by hand; pass force=True (--force) to replace it")
    text = model_card(Facts.from_folder(folder, name), license or recorded_license(target))
    return atomic_write_text(target, text, encoding="utf-8")


def write_card(name: str, license: str | None = None, force: bool = False) -> Path:
    """(Re)write the card of the saved model `name` from its current records -> path of README.md."""
    return write_card_into(Facts.of(name).path, name, license, force)
