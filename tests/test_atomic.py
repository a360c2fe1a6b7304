"""core.atomic: a write either replaces the whole file or leaves the old one, and never leaves a temporary file."""
from __future__ import annotations

import numpy as np
import pytest

from core.atomic import atomic_write, atomic_write_bytes, atomic_write_text


def test_replaces_the_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "state.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "nouveau ü")
    assert target.read_text("utf-8") == "nouveau ü"
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json"]
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_a_failing_writer_keeps_the_old_file(tmp_path):
    target = tmp_path / "pool.parquet"
    target.write_text("saved by the user")

    def half_then_crash(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_crash)
    assert target.read_text() == "saved by the user"
    assert [p.name for p in tmp_path.iterdir()] == ["pool.parquet"]


@pytest.mark.parametrize("save,name", [(np.save, "emb.npy"), (lambda p, a: np.savez(p, a=a), "coords.npz")])
def test_numpy_writers_land_on_the_target_name(tmp_path, save, name):
    """numpy appends .npy / .npz to a name without it: the temporary name keeps the target's suffix."""
    target = tmp_path / name
    atomic_write(target, lambda tmp: save(tmp, np.arange(3)))
    assert [p.name for p in tmp_path.iterdir()] == [name]
    loaded = np.load(target)
    assert list(loaded if name.endswith(".npy") else loaded["a"]) == [0, 1, 2]
