"""core.slices: automatic tags, duplicates, the saved-slice store, bootstrap intervals, slice tables (multi-class
and multi-label), a variant against its parent, slice discovery on a planted slice, and the CLI."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from core.errors import NameTakenError, ParamError
from core.predictions import Predictions
from core.slices import bootstrap, store
from core.slices.duplicates import match_training
from core.slices.tags import TagContext, tag_masks
from tests import slices_lab
from tests.envtools import restored_env


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("slices")
    with restored_env(slices_lab.ENV):
        name = slices_lab.build(root)
        yield {"root": root, "model": name}


@pytest.fixture()
def env(lab):
    with restored_env(slices_lab.ENV):
        slices_lab.set_env(lab["root"])
        yield lab


def preds_of(texts, y_true, y_pred, k=2, multilabel=False):
    y_pred = np.asarray(y_pred)
    if multilabel:
        proba = np.where(y_pred == 1, 0.9, 0.1).astype(np.float32)
    else:
        proba = np.full((len(texts), k), 0.1 / max(k - 1, 1), np.float32)
        proba[np.arange(len(texts)), y_pred] = 0.9
    return Predictions(proba=proba, y_true=np.asarray(y_true), texts=list(texts),
                       labels=[f"c{j}" for j in range(k)], multilabel=multilabel)


# ------------------------------------------------------------------------------------------------ tags
CRAFTED = {
    "digits": "the price rose 42 percent today",
    "url": "read more at https://example.com/story now",
    "e-mail": "write to press@example.org for details",
    "mention": "thanks @newsdesk for the tip today",
    "emoji": "what a great match \U0001F600 tonight",
    "negation": "the minister did not resign yesterday",
    "question": "will the bank cut rates this week?",
    "all caps": "BREAKING MARKETS CRASH AFTER REPORT",
    "non-Latin script": "рынки упали после отчёта банка",
}


def test_each_tag_marks_exactly_its_crafted_text():
    texts = list(CRAFTED.values()) + ["plain words about a quiet day in town"]
    ctx = TagContext(preds_of(texts, np.zeros(len(texts), int), np.zeros(len(texts), int)))
    masks = tag_masks(ctx)
    for i, tag in enumerate(CRAFTED):
        assert masks[tag][i], f"{tag!r} missed {texts[i]!r}"
    # each pattern tag fires on its own text only (the Cyrillic text also carries its negation-free words)
    for tag in ("url", "e-mail", "mention", "emoji", "question", "all caps", "non-Latin script"):
        assert masks[tag].sum() == 1, (tag, np.flatnonzero(masks[tag]))
    assert not masks["mention"][list(CRAFTED).index("e-mail")]  # an e-mail is not an @mention
    assert masks["negation"].sum() == 1
    assert "duplicate of training" not in masks  # no training data given: the duplicate tags are skipped


def test_length_buckets_split_into_thirds_and_russian_negation():
    texts = [" ".join(["w"] * n) for n in range(1, 31)] + ["он не пришёл"]
    ctx = TagContext(preds_of(texts, np.zeros(len(texts), int), np.zeros(len(texts), int)))
    m = tag_masks(ctx)
    short, medium, long = m["length: short"], m["length: medium"], m["length: long"]
    assert (short.astype(int) + medium + long == 1).all()
    assert abs(short.sum() - long.sum()) <= 2 and long[29] and short[0]
    assert m["negation"][-1] and not m["negation"][:-1].any()


def test_low_confidence_and_label_suspicion_tags():
    n = 40
    texts = [f"text {i}" for i in range(n)]
    y = np.array([0, 1] * (n // 2))
    proba = np.where(np.eye(2, dtype=bool)[y], 0.95, 0.05).astype(np.float32)
    proba[:4] = [0.55, 0.45]                      # rows 0-3: barely sure
    proba[10] = [0.01, 0.99] if y[10] == 0 else [0.99, 0.01]  # row 10: confidently the other class
    p = Predictions(proba=proba, y_true=y, texts=texts, labels=["a", "b"])
    m = tag_masks(TagContext(p))
    assert set(np.flatnonzero(m["low confidence"])) == {0, 1, 2, 3}
    assert m["label suspicion"][10] and m["label suspicion"].sum() <= 3


def test_duplicates_exact_near_and_other_label():
    train = ["Oil prices rise as supply tightens in the gulf region today",
             "The team won the final match of the season at home",
             "Chip maker reports record profit on strong phone demand"]
    test = ["oil prices RISE, as supply tightens in the gulf region today!",       # exact after normalising
            "The team won the final match of the season at home again",            # near, same label
            "Chip maker reports record profit on strong phone demand this year",   # near, other label
            "A completely unrelated sentence about gardening"]
    d = match_training(test, np.array([0, 1, 0, 1]), train, np.array([0, 1, 2]))
    assert d.exact.tolist() == [True, False, False, False]
    assert d.near.tolist() == [False, True, True, False]
    assert d.conflict.tolist() == [False, False, True, False]
    assert d.match.tolist()[:3] == [0, 1, 2] and d.match[3] == -1


def test_duplicate_tags_through_the_context():
    p = preds_of(["same text here", "other words entirely"], [0, 1], [0, 1])
    m = tag_masks(TagContext(p, ["Same text, here.", "unrelated"], np.array([1, 0])))
    assert m["duplicate of training"].tolist() == [True, False]
    assert m["duplicate, other label"].tolist() == [True, False]


# ------------------------------------------------------------------------------------------------ store
def test_store_refuses_reused_names_and_bad_definitions(env):
    ds = "upload:planted"
    store.save_slice(ds, "refunds", "keyword", ["refund", "money back"], "texts about refunds")
    path = store._path(ds)
    before = path.read_bytes()
    with pytest.raises(NameTakenError, match="already exists"):
        store.save_slice(ds, "refunds", "regex", {"pattern": "x"})
    with pytest.raises(ParamError, match="invalid regular expression"):
        store.save_slice(ds, "broken", "regex", {"pattern": "(unclosed"})
    with pytest.raises(ParamError, match="invalid slice name"):
        store.save_slice(ds, "../escape", "keyword", ["x"])
    with pytest.raises(ParamError, match="unknown slice kind"):
        store.save_slice(ds, "odd", "sql", ["x"])
    with pytest.raises(ParamError, match="at least one word"):
        store.save_slice(ds, "empty", "keyword", [" "])
    assert path.read_bytes() == before  # every refusal left the saved slices untouched
    store.save_slice(ds, "refunds", "regex", {"pattern": r"refund\w*"}, replace=True)
    (saved,) = [s for s in store.list_slices("upload:planted@v1") if s.name == "refunds"]  # versions share slices
    assert saved.kind == "regex" and saved.definition == {"pattern": r"refund\w*", "ignore_case": True}
    store.delete_slice(ds, "refunds")
    assert "refunds" not in [s.name for s in store.list_slices(ds)]
    with pytest.raises(ParamError, match="no saved slice"):
        store.delete_slice(ds, "refunds")


def test_slice_masks_of_each_kind():
    texts = ["Refund please", "no refunds here", "REFUND!", "all good"]
    cases = {"keyword": (["refund"], [True, False, True, False]),
             "regex": ({"pattern": r"^re", "ignore_case": True}, [True, False, True, False]),
             "texts": (["all good", "missing"], [False, False, False, True])}
    for kind, (definition, expected) in cases.items():
        s = store.SavedSlice("s", kind, store.check_definition(kind, definition))
        assert store.slice_mask(s, texts).tolist() == expected, kind
    import pandas as pd

    col = store.SavedSlice("c", "column", store.check_definition("column", {"column": "src", "values": ["a"]}))
    assert store.slice_mask(col, texts, pd.DataFrame({"src": ["a", None, "b", "a"]})).tolist() == [
        True, False, False, True]
    with pytest.raises(ParamError, match="no metadata column"):
        store.slice_mask(col, texts, None)


# -------------------------------------------------------------------------------------------- bootstrap
def test_bootstrap_interval_contains_the_estimate_and_narrows_with_n():
    rng = np.random.default_rng(1)
    widths = []
    for n in (50, 400, 3200):
        y = rng.integers(0, 3, n)
        pred = np.where(rng.random(n) < 0.8, y, (y + 1) % 3)
        r = bootstrap.slice_metrics(bootstrap.row_stats(preds_of(["t"] * n, y, pred, k=3)), 3, False, b=500)
        for key in ("accuracy", "f1_macro"):
            assert r[f"{key}_lo"] <= r[key] <= r[f"{key}_hi"], (n, key, r)
        widths.append(r["accuracy_hi"] - r["accuracy_lo"])
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < 0.04  # ~ 2 * 1.96 * sqrt(0.8 * 0.2 / 3200) = 0.028
    again = bootstrap.slice_metrics(bootstrap.row_stats(preds_of(["t"] * n, y, pred, k=3)), 3, False, b=500)
    assert again == pytest.approx(r, nan_ok=True)  # seeded: the same numbers every time


def test_point_metrics_match_sklearn_for_both_tasks():
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    pred = np.where(rng.random(300) < 0.7, y, rng.integers(0, 4, 300))
    r = bootstrap.slice_metrics(bootstrap.row_stats(preds_of(["t"] * 300, y, pred, k=4)), 4, False, b=50)
    assert r["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert r["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    yl = (rng.random((300, 5)) < 0.3).astype(int)
    pl = np.where(rng.random((300, 5)) < 0.8, yl, 1 - yl)
    r = bootstrap.slice_metrics(bootstrap.row_stats(preds_of(["t"] * 300, yl, pl, k=5, multilabel=True)), 5,
                                True, b=50)
    assert r["f1_micro"] == pytest.approx(f1_score(yl, pl, average="micro"))
    assert r["f1_macro"] == pytest.approx(f1_score(yl, pl, average="macro"))
    assert r["accuracy"] == pytest.approx(accuracy_score(yl, pl))  # exact match
    assert r["f1_micro_lo"] <= r["f1_micro"] <= r["f1_micro_hi"]


# ------------------------------------------------------------------------------------------------ tables
def test_slice_table_of_the_planted_model_with_a_column_slice(env):
    from core.slices import largest_gaps, recorded_table, slice_table

    store.save_slice("upload:planted", "wire rows", "column", {"column": "source", "values": ["wire"]},
                     replace=True)
    assert recorded_table(env["model"]) is None  # never computed with this slice list yet: nothing recorded
    table = slice_table(env["model"])
    assert recorded_table(env["model"])["n"].tolist() == table["n"].tolist()
    row = table.set_index("slice").loc["wire rows"]
    assert row["n"] == slices_lab.N_PLANTED and row["accuracy"] == 0.0 and row["source"] == "saved"
    assert table.iloc[0]["slice"] == "all" and table.iloc[0]["lift"] == pytest.approx(1.0)
    assert row["lift"] > 4 and row["lift_lo"] > 1
    gaps = largest_gaps(table)
    assert gaps.iloc[0]["slice"] in ("wire rows", "label suspicion") and bool(gaps.iloc[0]["significant"])
    assert list(slice_table(env["model"])["accuracy"].fillna(-1)) == list(table["accuracy"].fillna(-1))  # cache


def test_against_a_variant_flags_the_slice_it_hurt(env):
    from core.slices import eval_set
    from core.slices.inputs import cached_tags
    from core.slices.table import compare_table

    parent = eval_set(env["model"])
    p = parent.preds
    short = cached_tags(parent)["length: short"]
    proba = p.proba.copy()
    wrong = (p.y_true[short] + 1) % len(p.labels)  # the "variant" gets every short text wrong
    proba[short] = np.eye(len(p.labels), dtype=np.float32)[wrong]
    variant = dataclasses.replace(parent, model="variant", preds=dataclasses.replace(p, proba=proba))
    out = compare_table(parent, variant, b=300).set_index("slice")
    assert bool(out.loc["length: short", "hurt"]) and out.loc["length: short", "delta_accuracy"] < -0.3
    assert not out.loc["length: long", "hurt"] and out.loc["length: long", "delta_accuracy"] == 0
    same = compare_table(parent, parent, b=100)
    assert (same["delta_accuracy"].fillna(0) == 0).all() and not same["hurt"].any()
    other = dataclasses.replace(parent, fingerprint="different")
    with pytest.raises(ParamError, match="different rows"):
        compare_table(parent, other)


def test_multilabel_model_slices(tmp_path):
    from core import train
    from core.slices import slice_table
    from tests.tiny_bert import tiny_dataset

    with restored_env(slices_lab.ENV):
        slices_lab.set_env(tmp_path)
        train.run(tiny_dataset(multilabel=True), "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name="ml")
        table = slice_table("ml")
    assert table.attrs["main"] == "f1_micro" and table.attrs["multilabel"]
    whole = table.iloc[0]
    assert whole["f1_micro_lo"] <= whole["f1_micro"] <= whole["f1_micro_hi"]
    assert {"f1_macro", "accuracy", "lift"} <= set(table.columns)


# ------------------------------------------------------------------------------------------------ discovery
def test_discovery_finds_the_planted_slice(env, capsys):
    from core.slices import discover, eval_set

    d = discover(env["model"])
    p = eval_set(env["model"]).preds
    planted = np.array([slices_lab.MARKER in t for t in p.texts])
    top = d.clusters.iloc[0]
    found = np.zeros(len(p.texts), bool)
    found[d.members[int(top["cluster"])]] = True
    precision = (found & planted).sum() / found.sum()
    recall = (found & planted).sum() / planted.sum()
    with capsys.disabled():
        print(f"\nplanted slice discovery ({d.space}): precision {precision:.2f}, recall {recall:.2f}, "
              f"lift {top['lift']:.2f}, adjusted p {top['p_adjusted']:.1e}")
    assert d.space == "tfidf" and bool(top["significant"])
    assert precision >= 0.8 and recall >= 0.8
    assert {"zorblat", "quix"} <= set(top["words"].split(", ")[:4])


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_prints_tables_discovers_and_writes_csv(env, capsys, tmp_path):
    from core.cli import main

    assert main(["slices", env["model"]]) == 0
    out = capsys.readouterr().out
    assert "slices of planted-tfidf" in out and "largest gaps" in out and "length: short" in out
    csv = tmp_path / "s.csv"
    assert main(["slices", env["model"], "--json", "--out", str(csv)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"][0]["slice"] == "all" and csv.read_text().startswith("slice,source")
    assert main(["slices", env["model"], "--discover"]) == 0
    assert "zorblat" in capsys.readouterr().out
    assert main(["slices", env["model"], "--against", env["model"]]) == 0
    assert "against planted-tfidf" in capsys.readouterr().out
    assert main(["slices", "no-such-model"]) == 2


def test_cli_on_another_dataset_scores_it_once(env, capsys, tmp_path):
    from core import evaluations
    from core.cli import main

    _, test_df = slices_lab.frames()
    path = tmp_path / "extra.csv"
    test_df.to_csv(path, index=False)
    for _ in range(2):
        assert main(["slices", env["model"], "--dataset", str(path)]) == 0
        assert "extra.csv (evaluation " in capsys.readouterr().out
    assert len([e for e in evaluations.list_evaluations(env["model"]) if e.record["source"] == str(path)]) == 1
