"""Backbone names -> local folders / hub ids, with clear errors; no network."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.backbones import KNOWN_BACKBONES, BackboneError, load_tokenizer, resolve_backbone


@pytest.mark.parametrize("name", ["minilm-l6", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"])
def test_minilm_resolves_to_packaged_folder(name):
    path = Path(resolve_backbone(name))
    assert path.is_dir() and (path / "config.json").exists() and (path / "tokenizer.json").exists()


def test_unknown_name_lists_known_backbones():
    with pytest.raises(BackboneError) as err:
        resolve_backbone("no-such-encoder")
    assert all(name in str(err.value) for name in KNOWN_BACKBONES)


def test_missing_folder_and_non_model_folder(tmp_path):
    with pytest.raises(BackboneError, match="minilm-l6"):
        resolve_backbone(str(tmp_path / "missing" / "folder"))
    with pytest.raises(BackboneError, match="config.json"):
        resolve_backbone(str(tmp_path))


def test_local_save_pretrained_folder(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_backbone(str(tmp_path)) == str(tmp_path.resolve())


def test_hub_id_online_vs_offline(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TEXTLAB_OFFLINE", raising=False)
    assert resolve_backbone("someorg/some-encoder") == "someorg/some-encoder"  # resolved, not downloaded
    monkeypatch.setenv("TEXTLAB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    with pytest.raises(BackboneError, match="offline"):
        resolve_backbone("someorg/some-encoder")


def test_load_tokenizer_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tok = load_tokenizer("minilm-l6")
    assert tok.is_fast and tok.tokenize("Stocks rallied") == ["stocks", "rallied"]
