"""Relabel queue, corrections overlay (CSV export / import refusals, atomic saves) and the retrain loop, on a
tiny upload with planted label noise and a planted conflicting duplicate."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import load_dataset, save_upload
from core.dynamics import row_ids
from core.errors import DataError
from core.relabel.apply import corrected, save_corrected
from core.relabel.corrections import Correction, add_corrections, load_overlay, overlay_dir, versions
from core.relabel.transfer import export_csv, import_csv
from tests.envtools import lab_dirs
from tests.planted_noise import noisy_dataset

FAST = {"analyzer": "word", "min_df": 1}


def planted():
    """noisy_dataset plus a test row that repeats training row 5's text (reworded case/punctuation) with
    another label: a conflicting near duplicate."""
    ds, flipped = noisy_dataset()
    ds.test.texts[0] = ds.train.texts[5].upper() + "!"
    ds.test.y[0] = (ds.train.y[5] + 1) % 3
    return ds, flipped


@pytest.fixture(scope="module")
def qlab(tmp_path_factory):
    from core import train

    root = tmp_path_factory.mktemp("relabel")
    with lab_dirs(root):
        ds, flipped = planted()
        save_upload(ds, "noisy")
        train.run("upload:noisy", "tfidf", FAST, name="noisy-tfidf")
        yield {"root": root, "ds": ds, "flipped": flipped}


@pytest.fixture()
def lab(qlab):
    with lab_dirs(qlab["root"]):
        yield qlab


@pytest.fixture()
def fresh(tmp_path):
    """An empty lab with the planted upload (tests that write corrections start from nothing)."""
    with lab_dirs(tmp_path):
        ds, _ = planted()
        save_upload(ds, "noisy")
        yield load_dataset("upload:noisy")


def _snapshot(ds) -> dict:
    folder = overlay_dir(load_overlay(ds).dataset)
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def test_queue_ranks_the_flipped_rows_first_with_reasons_and_suggestions(lab):
    from core.relabel.queue import build_queue

    queue = build_queue("noisy-tfidf")
    ids = row_ids("train", lab["ds"].train.texts)
    flipped_ids = {ids[i] for i in lab["flipped"]}
    top = queue.head(len(flipped_ids))
    assert top["row_id"].isin(flipped_ids).mean() >= 0.8
    first = top.iloc[0]
    assert "hard-to-learn" in first["reasons"] and first["suggested"] != first["label"]
    # (nearly) every flipped row is somewhere in the queue, its suggestion mostly the original class
    queued = queue["row_id"].isin(flipped_ids)
    assert queued.sum() >= 0.9 * len(flipped_ids)
    rows = queue[queued].set_index("row_id")
    original = {ids[i]: lab["ds"].labels[(lab["ds"].train.y[i] - 1) % 3] for i in lab["flipped"]}
    assert (rows["suggested"] == pd.Series(original).loc[rows.index]).mean() >= 0.8
    # the planted conflicting duplicate is queued on both sides with its reason
    dup_train, dup_test = ids[5], row_ids("test", lab["ds"].test.texts)[0]
    for rid in (dup_train, dup_test):
        assert "near duplicates labelled differently" in queue.set_index("row_id").loc[rid, "reasons"]
    assert set(queue["split"]) == {"train", "test"}


def test_corrections_leave_the_queue_and_are_versioned(fresh):
    ds = fresh
    rid = row_ids("train", ds.train.texts)[0]
    first = add_corrections(ds, [Correction(rid, "money", why="typo", who="ann")])
    second = add_corrections(ds, [Correction(row_ids("train", ds.train.texts)[1], exclude=True, why="spam")])
    assert (first.version, second.version) == (1, 2) and versions(second.dataset) == [1, 2]
    assert load_overlay(ds, 1).entries.keys() == {rid}
    entry = load_overlay(ds).entries[rid]
    assert (entry.who, entry.why, entry.new_label, entry.split) == ("ann", "typo", "money", "train") and entry.when
    # a correction back to the original label removes the entry
    original = ds.labels[int(ds.train.y[0])]
    assert rid not in add_corrections(ds, [Correction(rid, original)]).entries


@pytest.mark.parametrize("case", ["unknown_row", "unknown_label", "duplicate", "fingerprint", "missing_column",
                                  "not_csv"])
def test_a_bad_corrections_file_is_refused_whole_and_changes_nothing(fresh, case):
    ds = fresh
    ids = row_ids("train", ds.train.texts)
    add_corrections(ds, [Correction(ids[3], "tech", why="seed")])
    before = _snapshot(ds)
    good = [{"fingerprint": ds.fingerprint(), "row_id": ids[0], "new_label": "money"},
            {"fingerprint": ds.fingerprint(), "row_id": ids[1], "new_label": "sport"}]
    bad = {"unknown_row": good + [{**good[0], "row_id": "train-000000000000"}],
           "unknown_label": good + [{**good[0], "row_id": ids[2], "new_label": "weather"}],
           "duplicate": good + [{**good[0], "new_label": "tech"}],
           "fingerprint": [{**g, "fingerprint": "0123456789abcdef"} for g in good],
           "missing_column": [{k: v for k, v in g.items() if k != "fingerprint"} for g in good]}
    data = b"\x00\x01 not, a\n\"csv" if case == "not_csv" else pd.DataFrame(bad[case]).to_csv(index=False).encode()
    message = {"unknown_row": "unknown row id", "unknown_label": "unknown label", "duplicate": "duplicate",
               "fingerprint": "fingerprint", "missing_column": "missing column", "not_csv": "refused"}[case]
    with pytest.raises(DataError, match=message):
        import_csv(ds, data)
    assert _snapshot(ds) == before


def test_export_escapes_formulas_and_imports_back_unchanged(fresh, tmp_path):
    ds = fresh
    ids = row_ids("train", ds.train.texts)
    evil = '=HYPERLINK("http://x","click")'
    add_corrections(ds, [Correction(ids[0], "money", why=evil, who="@bob"), Correction(ids[1], exclude=True)])
    data = export_csv(ds)
    frame = pd.read_csv(pd.io.common.BytesIO(data), dtype=str, keep_default_na=False)
    assert frame.loc[frame.row_id == ids[0], "why"].item() == "'" + evil
    assert frame.loc[frame.row_id == ids[0], "who"].item() == "'@bob"
    # importing the export into a fresh lab restores the same entries (escaping undone)
    with lab_dirs(tmp_path / "other"):
        save_upload(planted()[0], "noisy")
        other = load_dataset("upload:noisy")
        overlay = import_csv(other, data)
        assert overlay.entries[ids[0]].why == evil and overlay.entries[ids[0]].who == "@bob"
        assert overlay.entries[ids[1]].exclude


def test_a_failed_save_leaves_no_new_version(fresh, monkeypatch):
    ds = fresh
    ids = row_ids("train", ds.train.texts)
    add_corrections(ds, [Correction(ids[0], "money")])
    before = _snapshot(ds)
    import core.relabel.corrections as C

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(C.json, "dump", boom)
    with pytest.raises(OSError):
        add_corrections(ds, [Correction(ids[1], "money")])
    assert _snapshot(ds) == before  # no v2, no temporary file left behind


def test_apply_makes_a_new_version_with_a_new_fingerprint_and_keeps_the_original(fresh):
    ds = fresh
    ids = row_ids("train", ds.train.texts)
    test_id = row_ids("test", ds.test.texts)[0]
    add_corrections(ds, [Correction(ids[0], "money"), Correction(ids[1], exclude=True), Correction(test_id, "tech")])
    ref, fixed = save_corrected(ds)
    assert ref == "upload:noisy@v2"
    again = load_dataset(ref)
    assert again.fingerprint() == fixed.fingerprint() != ds.fingerprint()
    assert len(again.train) == len(ds.train) - 1 and ds.train.texts[1] not in again.train.texts
    assert again.labels[int(again.train.y[again.train.texts.index(ds.train.texts[0])])] == "money"
    assert again.labels[int(again.test.y[0])] == "tech"
    assert again.meta["corrected_from"] == "upload:noisy@v1" and again.meta["excluded"] == 1
    assert load_dataset("upload:noisy@v1").fingerprint() == ds.fingerprint()  # the original is untouched


def test_a_builtin_style_dataset_gets_a_corrected_upload_copy(fresh):
    import dataclasses

    ds = dataclasses.replace(fresh, name="toy", meta={})
    add_corrections(ds, [Correction(row_ids("train", ds.train.texts)[0], exclude=True)])
    ref, fixed = save_corrected(ds)
    assert ref == "upload:toy-corrected@v1" and len(fixed.train) == len(ds.train) - 1
    with pytest.raises(DataError, match="nothing to apply"):
        corrected(dataclasses.replace(ds, name="other"))


def test_retrain_loop_end_to_end(lab):
    from core import artifacts
    from core.relabel.changes import changed_predictions
    from core.relabel.queue import build_queue
    from core.relabel.retrain import retrain

    ds = load_dataset("upload:noisy@v1")
    queue = build_queue("noisy-tfidf")
    top = queue[queue["split"] == "train"].head(len(lab["flipped"]))
    add_corrections(ds, [Correction(r, s, why="queue") for r, s in zip(top["row_id"], top["suggested"])])
    path, ref = retrain("noisy-tfidf", "noisy-tfidf-fixed")
    info = artifacts.get_artifact(path.name)
    assert info.dataset == ref and ref.startswith("upload:noisy@v") and info.kind == "tfidf"
    assert info.manifest["config"]["C"] == artifacts.get_artifact("noisy-tfidf").manifest["config"]["C"]
    assert info.manifest["dataset_fingerprint"] != artifacts.get_artifact("noisy-tfidf").manifest["dataset_fingerprint"]
    fixed = load_dataset(ref)
    ids = row_ids("train", fixed.train.texts)
    repaired = [i for i, rid in enumerate(ids) if rid in set(top["row_id"])]
    original_ids = row_ids("train", ds.train.texts)
    flipped_fixed = sum(fixed.train.y[i] != ds.train.y[original_ids.index(ids[i])] for i in repaired)
    assert flipped_fixed >= 0.8 * len(top)
    changed = changed_predictions("noisy-tfidf", path.name)
    assert changed.attrs["shared"] == len(ds.test)
    assert set(changed["outcome"]) <= {"fixed", "broken", "changed"}
    assert np.all(changed["before"] != changed["after"])


def test_cli_corrections_export_and_refused_import(fresh, tmp_path, capsys):
    from core.cli import main

    ds = fresh
    ids = row_ids("train", ds.train.texts)
    add_corrections(ds, [Correction(ids[0], "money", why="=1+1")])
    out = tmp_path / "c.csv"
    assert main(["data", "corrections", "upload:noisy", "--export", str(out)]) == 0
    assert "'=1+1" in out.read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text(f"fingerprint,row_id,new_label\n{ds.fingerprint()},{ids[1]},weather\n")
    before = _snapshot(ds)
    assert main(["data", "corrections", "upload:noisy", "--import", str(bad)]) != 0
    assert "unknown label" in capsys.readouterr().err and _snapshot(ds) == before
    assert main(["data", "corrections", "upload:noisy", "--import", str(out)]) == 0
    assert load_overlay(ds).version == 2
