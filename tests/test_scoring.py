"""Batch scoring (core.scoring, core.table_stream), evaluation records (core.evaluations), their CLI commands and
pages (Batch scoring; the "Evaluated on" switch of Errors, Explain and Compare), on small synthetic TF-IDF models."""
from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import DataError, Split, TextDataset
from tests.envtools import restored_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `ui` from the project root
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

LABELS = ["food", "sport", "tech"]
WORDS = {"food": ["bread", "soup", "salt", "cheese"], "sport": ["goal", "match", "team", "coach"],
         "tech": ["chip", "code", "data", "server"]}
ENV = ("TEXTLAB_ARTIFACTS_DIR", "TEXTLAB_USER_DATA_DIR", "TEXTLAB_JOBS_DIR", "TEXTLAB_CACHE_DIR")


def texts_and_y(n: int, seed: int, noise: float = 0.0) -> tuple[list[str], np.ndarray]:
    """n texts of a planted pattern: two words of the class, plus (with share `noise`) one of another class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    texts = []
    for i, c in enumerate(y):
        words = list(rng.choice(WORDS[LABELS[c]], 2)) + [f"w{rng.integers(0, 50)}"]
        if rng.random() < noise:  # one word of the class left against two of another: mostly misread
            words = words[1:] + list(rng.choice(WORDS[LABELS[(c + 1) % 3]], 2))
        texts.append(" ".join(words) + f" #{i}")
    return texts, y


def dataset(multilabel: bool = False) -> TextDataset:
    texts, y = texts_and_y(400, 0, noise=0.3 if multilabel else 0.0)
    if multilabel:  # label j on when a word of class j is present
        y = np.array([[int(any(w in t.split() for w in WORDS[lab])) for lab in LABELS] for t in texts])
    parts = [Split(texts[a:b], y[a:b]) for a, b in ((0, 280), (280, 330), (330, 400))]
    return TextDataset("synthetic" + ("-ml" if multilabel else ""), LABELS, *parts, multilabel=multilabel)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Two saved TF-IDF models (multi-class `mc`, multi-label `ml`) in a temporary artifacts folder."""
    from core import train

    root = tmp_path_factory.mktemp("scoring")
    with restored_env(ENV):
        for key in ENV:
            os.environ[key] = str(root / key.lower())
        os.environ.setdefault("TQDM_DISABLE", "1")
        fast = {"analyzer": "word", "word_ngram_max": 1}
        from core.data import save_upload

        # saved as uploads, so the dataset pickers (Compare) list them
        train.run(save_upload(dataset(), "synthetic"), "tfidf", fast, name="mc")
        train.run(save_upload(dataset(True), "synthetic-ml"), "tfidf", fast, name="ml")
        yield root


@pytest.fixture()
def env(lab):
    import streamlit as st

    with restored_env(ENV):
        for key in ENV:
            os.environ[key] = str(lab / key.lower())
        st.cache_data.clear()
        st.cache_resource.clear()
        yield lab


def model(name: str):
    from core.artifacts import load_model

    return load_model(name)


def frame(n: int = 5000, seed: int = 1) -> pd.DataFrame:
    texts, y = texts_and_y(n, seed, noise=0.1)
    return pd.DataFrame({"id": [f"doc-{i}" for i in range(n)], "text": texts, "gold": [LABELS[c] for c in y]})


WRITE = {"csv": lambda df, p: df.to_csv(p, index=False), "tsv": lambda df, p: df.to_csv(p, sep="\t", index=False),
         "jsonl": lambda df, p: df.to_json(p, orient="records",
         lines=True), "parquet": lambda df, p: df.to_parquet(p, row_group_size=700)}
READ = {".csv": lambda p: pd.read_csv(p, keep_default_na=False), ".jsonl": lambda p: pd.read_json(p, lines=True),
        ".parquet": pd.read_parquet}


class Counting:
    """A Scorer over a model that records the size of every predict_proba call."""

    def __init__(self, m) -> None:
        from core.scoring import Scorer

        self.calls: list[int] = []
        self.scorer = Scorer.of(m)
        inner = self.scorer.predict_proba
        self.scorer.predict_proba = lambda texts: (self.calls.append(len(texts)), inner(texts))[1]


# ------------------------------------------------------------------------------------------------- scoring
@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_score_file_streams_chunks_and_matches_predict_proba(env, tmp_path, fmt):
    from core.scoring import score_file

    df, m = frame(), model("mc")
    src = tmp_path / f"in.{fmt}"
    WRITE[fmt](df, src)
    counting = Counting(m)
    out = tmp_path / "out.parquet"
    summary = score_file(counting.scorer, src, out, chunk_rows=1000)
    assert counting.calls == [1000] * 5  # read and scored chunk by chunk, never the whole file at once
    got = pd.read_parquet(out)
    assert summary["rows"] == len(got) == 5000 and summary["text_columns"] == ["text"]
    assert got["row"].tolist() == list(range(5000)) and got["id"].tolist() == df["id"].tolist()
    expected = m.predict_proba(df["text"].tolist())
    np.testing.assert_allclose(got[[f"p_{lab}" for lab in LABELS]].to_numpy(), expected, atol=1e-6)
    assert got["label"].tolist() == [LABELS[j] for j in expected.argmax(axis=1)]
    np.testing.assert_allclose(got["confidence"], expected.max(axis=1), atol=1e-6)
    assert (got["label"] == df["gold"]).mean() > 0.8  # the planted pattern is found
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("out_ext", [".csv", ".jsonl"])
def test_gzipped_input_and_text_outputs_agree_with_parquet(env, tmp_path, out_ext):
    from core.scoring import score_file

    df = frame(1200)
    raw = tmp_path / "in.csv"
    df.to_csv(raw, index=False)
    gz = tmp_path / "in.csv.gz"
    gz.write_bytes(gzip.compress(raw.read_bytes()))
    score_file(model("mc"), raw, tmp_path / "ref.parquet", chunk_rows=500)
    score_file(model("mc"), gz, tmp_path / f"out{out_ext}", chunk_rows=500, keep_columns=["id"])
    ref, got = pd.read_parquet(tmp_path / "ref.parquet"), READ[out_ext](tmp_path / f"out{out_ext}")
    assert list(got.columns) == ["row", "id", "label", "confidence", *[f"p_{lab}" for lab in LABELS]]
    assert got["label"].tolist() == ref["label"].tolist() and got["id"].tolist() == ref["id"].tolist()
    np.testing.assert_allclose(got["p_tech"], ref["p_tech"], atol=1e-6)


def test_text_columns_are_joined_and_missing_column_named(env, tmp_path):
    from core.scoring import score_file

    src = tmp_path / "two.csv"
    pd.DataFrame({"title": ["goal", "chip", None], "body": ["match team", None, "soup salt"]}).to_csv(src, index=False)
    score_file(model("mc"), src, tmp_path / "out.parquet", text_columns=["title", "body"])
    got = pd.read_parquet(tmp_path / "out.parquet")
    expected = model("mc").predict_proba(["goal match team", "chip", "soup salt"])
    np.testing.assert_allclose(got[[f"p_{lab}" for lab in LABELS]].to_numpy(), expected, atol=1e-6)
    assert got["title"].tolist()[:2] == ["goal", "chip"] and pd.isna(got["title"].iloc[2])  # missing stays missing
    with pytest.raises(DataError, match="'headline'.*available columns"):
        score_file(model("mc"), src, tmp_path / "o2.parquet", text_columns=["headline"])
    assert not (tmp_path / "o2.parquet").exists()


def test_jsonl_rows_may_lack_keys_of_the_first_chunk(env, tmp_path):
    from core.scoring import score_file

    src = tmp_path / "ragged.jsonl"
    rows = [{"id": 1, "text": "goal match"}, {"id": 2, "text": "chip code"}, {"text": "soup salt"}]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    score_file(model("mc"), src, tmp_path / "out.csv", chunk_rows=2)
    got = pd.read_csv(tmp_path / "out.csv")
    assert got["label"].tolist() == ["sport", "tech", "food"]
    assert got["id"].iloc[:2].tolist() == [1, 2] and pd.isna(got["id"].iloc[2])


def test_multilabel_labels_are_the_probabilities_above_the_threshold(env, tmp_path):
    from core.scoring import score_file

    df = frame(600)
    src = tmp_path / "in.jsonl"
    df.to_json(src, orient="records", lines=True)
    m = model("ml")
    proba = m.predict_proba(df["text"].tolist())
    for threshold in (None, 0.3, 0.9):
        out = tmp_path / f"out-{threshold}.csv"
        score_file(m, src, out, chunk_rows=250, threshold=threshold, delimiter="|")
        got = pd.read_csv(out, keep_default_na=False)
        thr = m.threshold if threshold is None else threshold
        cuts = np.broadcast_to(np.asarray(thr, dtype=float), (len(LABELS),))  # tuned per label at training
        expected = ["|".join(lab for lab, p, t in zip(LABELS, row, cuts) if p >= t) for row in proba]
        assert got["label"].tolist() == expected
    per_text = {t: pd.read_csv(tmp_path / f"out-{t}.csv", keep_default_na=False)["label"].map(
        lambda s: len([p for p in s.split("|") if p])) for t in (0.3, 0.9)}
    assert (per_text[0.3] >= 2).any()  # texts with words of two classes get both labels
    assert per_text[0.3].sum() > per_text[0.9].sum()  # the threshold decides how many labels a text gets


def test_refuses_to_overwrite_and_interrupted_run_leaves_nothing(env, tmp_path):
    from core.scoring import OutputExists, Scorer, score_file

    src = tmp_path / "in.csv"
    frame(3000).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    with pytest.raises(OutputExists, match="--overwrite"):
        score_file(model("mc"), src, out)
    assert out.read_text() == "precious\n"
    m = model("mc")
    calls = []

    def failing(texts):
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the file
        return m.predict_proba(texts)

    with pytest.raises(KeyboardInterrupt):
        score_file(Scorer(LABELS, False, 0.5, failing), src, out, chunk_rows=1000, overwrite=True)
    assert out.read_text() == "precious\n"  # the old file is untouched, no half file, no temporary left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
    score_file(m, src, out, overwrite=True)
    assert len(pd.read_csv(out)) == 3000


@pytest.mark.parametrize("world", [2, 3])
def test_rank_world_split_merges_to_the_single_process_output(env, tmp_path, world):
    from core.scoring import parts_dir, score_file

    src = tmp_path / "in.csv"
    frame(5000).to_csv(src, index=False)
    single = tmp_path / "single.jsonl"
    score_file(model("mc"), src, single, chunk_rows=700)
    merged = tmp_path / "merged.jsonl"
    scored = {}
    for rank in reversed(range(world)):  # rank 0 last: its barrier returns once the others have written
        scored[rank] = score_file(model("mc"), src, merged, chunk_rows=700, rank=rank, world=world)["rows"]
        assert merged.exists() == (rank == 0)  # only the main process writes the output
    assert sum(scored.values()) == 5000 and all(v > 0 for v in scored.values())
    assert merged.read_text() == single.read_text()  # same rows, same order, same values
    assert not parts_dir(merged).exists()


def test_unknown_output_type_and_bad_input_are_clear(env, tmp_path):
    from core.scoring import score_file

    src = tmp_path / "in.csv"
    frame(20).to_csv(src, index=False)
    with pytest.raises(DataError, match="unknown output type"):
        score_file(model("mc"), src, tmp_path / "out.xlsx")
    bad = tmp_path / "latin.csv"
    bad.write_bytes("text\ncaf\xe9 cr\xe8me\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        score_file(model("mc"), bad, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


# ---------------------------------------------------------------------------------------------- evaluate
def labelled_file(path: Path, n: int = 300, labels=LABELS, seed: int = 5) -> Path:
    texts, y = texts_and_y(n, seed, noise=0.5)  # a harder set than the training data: a visible shift
    pd.DataFrame({"text": texts, "label": [labels[c] for c in y]}).to_csv(path, index=False)
    return path


def own_files(name: str, root: Path) -> dict[str, bytes]:
    folder = root / "textlab_artifacts_dir" / name
    return {f: (folder / f).read_bytes() for f in ("manifest.json", "metrics.json", "predictions.npz")}


def test_evaluate_writes_a_record_and_leaves_the_model_untouched(env, tmp_path):
    from core.evaluate import evaluate
    from core.evaluations import dataset_from_path, evaluate_model, list_evaluations, load_evaluation_predictions

    before = own_files("mc", env)
    ds = dataset_from_path(labelled_file(tmp_path / "shifted.csv"))
    rec = evaluate_model("mc", ds)
    assert own_files("mc", env) == before  # metrics, predictions and manifest of the model unchanged
    assert [e.id for e in list_evaluations("mc")] == [rec.id]
    assert rec.record["n"] == 300 and rec.record["set"].endswith("/shifted") and rec.record["fingerprint"]
    preds = load_evaluation_predictions("mc", rec.id)
    assert preds.labels == LABELS and len(preds.texts) == 300
    frame_ = pd.read_csv(tmp_path / "shifted.csv")
    assert preds.texts == frame_["text"].tolist()
    assert [LABELS[i] for i in preds.y_true] == frame_["label"].tolist()
    assert rec.metrics["accuracy"] == pytest.approx(evaluate(preds.y_true, preds.proba, LABELS)["accuracy"])
    own = json.loads(before["metrics.json"])
    assert rec.metrics["accuracy"] < own["accuracy"]  # the noisier set scores lower: the shift is real
    again = evaluate_model("mc", ds)  # the same rows again: the same record, not a second one
    assert again.id == rec.id and len(list_evaluations("mc")) == 1


def test_evaluate_refuses_unknown_labels_and_accepts_a_subset(env, tmp_path):
    from core.evaluations import dataset_from_path, evaluate_model, list_evaluations

    n_before = len(list_evaluations("mc"))
    wrong = dataset_from_path(labelled_file(tmp_path / "wrong.csv", labels=["food", "sport", "weather"]))
    with pytest.raises(DataError, match=r"labels the model does not know: \['weather'\]"):
        evaluate_model("mc", wrong)
    assert len(list_evaluations("mc")) == n_before
    texts, y = texts_and_y(200, 7)
    keep = y != 2
    sub = pd.DataFrame({"text": np.array(texts)[keep], "label": [LABELS[c] for c in y[keep]]})
    sub.to_csv(tmp_path / "subset.csv", index=False)
    rec = evaluate_model("mc", dataset_from_path(tmp_path / "subset.csv"))
    assert rec.record["labels_in_set"] == ["food", "sport"]
    assert [r["support"] for r in rec.metrics["per_class"]][2] == 0


def test_evaluate_a_named_dataset_split_and_a_multilabel_model_on_single_labels(env, tmp_path):
    from core.data import load_dataset
    from core.evaluations import dataset_from_path, evaluate_model

    ds = load_dataset("upload:synthetic")
    rec = evaluate_model("mc", ds, split="all")
    assert rec.record["n"] == 400 and rec.record["set"] == "upload:synthetic [all]"
    assert rec.record["dataset_fingerprint"] == ds.fingerprint()
    with pytest.raises(DataError, match="split must be one of"):
        evaluate_model("mc", ds, split="dev")
    single = dataset_from_path(labelled_file(tmp_path / "single.csv", n=60))  # one label per row
    rec = evaluate_model("ml", single)
    from core.evaluations import load_evaluation_predictions

    preds = load_evaluation_predictions("ml", rec.id)
    assert preds.multilabel and preds.y_true.shape == (60, 3) and (preds.y_true.sum(axis=1) == 1).all()
    frame_ = pd.read_csv(tmp_path / "single.csv")
    assert [LABELS[int(np.argmax(r))] for r in preds.y_true] == frame_["label"].tolist()


def test_cli_predict_evaluate_and_list(env, tmp_path, capsys):
    from core.cli import main

    src = tmp_path / "in.parquet"
    frame(900).to_parquet(src)
    out = tmp_path / "scored.csv"
    assert main(["predict", "mc", str(src), "--out", str(out), "--chunk-rows", "400"]) == 0
    assert len(pd.read_csv(out)) == 900
    assert main(["predict", "mc", str(src), "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    capsys.readouterr()
    assert main(["evaluate", "mc", "--dataset", str(labelled_file(tmp_path / "cli-set.csv", seed=9))]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["n"] == 300 and record["id"].startswith(f"{tmp_path.name}-cli-set-")
    assert main(["evaluations", "mc"]) == 0
    table = capsys.readouterr().out
    assert "(own test split)" in table and record["id"] in table
    assert main(["list"]) == 0
    assert "evaluations" in capsys.readouterr().out.splitlines()[0]


# --------------------------------------------------------------------------------------------------- pages
def app(page: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "views" / f"{page}.py"), default_timeout=120)


def test_batch_scoring_page_upload_score_download(env):
    df = frame(300)
    at = app("score")
    at.session_state["_shared_model"] = "mc"
    at.run()
    assert not at.exception and at.title[0].value == "Batch scoring"
    at.file_uploader(key="score-upload").set_value(("docs.csv", df.to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception
    assert at.multiselect[0].value == ["text"] and at.multiselect[1].value == ["id", "text"]
    at.button(key="score-run").click().run()
    assert not at.exception
    result = at.dataframe[0].value
    assert list(result.columns)[:4] == ["row", "id", "text", "label"] and len(result) == 100
    expected = model("mc").predict_proba(df["text"].tolist()[:100])
    assert result["label"].tolist() == [LABELS[j] for j in expected.argmax(axis=1)]
    assert len(at.get("download_button")) == 2 and at.get("plotly_chart")


def test_batch_scoring_page_refuses_files_over_the_limit_with_the_cli_command(env):
    from streamlit import config as st_config

    at = app("score")
    at.session_state["_shared_model"] = "mc"
    at.run()
    old = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", 1)
    try:
        big = b"text\n" + b"goal match\n" * 120_000
        at.file_uploader(key="score-upload").set_value(("big.csv", big, "text/csv")).run()
    finally:
        st_config.set_option("server.maxUploadSize", old)
    assert not at.exception
    assert "over the 1 MB upload limit" in at.error[0].value
    assert "python -m core predict mc FILE --out scored.parquet" in at.error[0].value
    assert not at.dataframe and not at.button  # nothing parsed, nothing to score


def test_batch_scoring_page_pasted_texts(env):
    at = app("score")
    at.session_state["_shared_model"] = "mc"
    at.run()
    at.radio(key="score-source").set_value("pasted text (one per line)").run()
    at.text_area(key="score-paste").input("goal match team\n\nchip code data\n").run()
    at.button(key="score-run").click().run()
    assert not at.exception
    assert at.dataframe[0].value["label"].tolist() == ["sport", "tech"]


def test_errors_explain_compare_switch_to_an_evaluation_set(env, tmp_path):
    from core.evaluations import dataset_from_path, evaluate_model

    rec = evaluate_model("mc", dataset_from_path(labelled_file(tmp_path / "field.csv", n=240, seed=11)))
    own = json.loads((env / "textlab_artifacts_dir" / "mc" / "metrics.json").read_text())
    at = app("errors")
    at.session_state["_shared_model"] = "mc"
    at.run()
    assert not at.exception
    accuracy = [m for m in at.metric if m.label == "Test accuracy"][0]
    assert accuracy.value == f"{own['accuracy']:.1%}"
    at.selectbox(key="errors-evaluated-on").set_value(rec.id).run()
    assert not at.exception
    by_label = {m.label: m for m in at.metric}
    assert by_label["Test accuracy"].value == f"{rec.metrics['accuracy']:.1%}"
    assert by_label["Accuracy"].delta.startswith(f"{rec.metrics['accuracy'] - own['accuracy']:+.3f}")
    assert "ECE (calibration error)" in by_label
    cell = next(d.value for d in at.dataframe if "text" in d.value.columns)  # after the confused-pairs table
    assert cell["text"].isin(pd.read_csv(tmp_path / "field.csv")["text"]).all()
    report = at.dataframe[-1].value
    assert report["support"].sum() == 240  # the per-class report of the chosen set

    at = app("explain")
    at.session_state["_shared_model"] = "mc"
    at.run()
    at.selectbox(key="explain-evaluated-on").set_value(rec.id).run()
    assert not at.exception
    assert "of 240)" in "\n".join(c.value for c in at.caption)

    at = app("compare")
    at.session_state["_shared_dataset"] = "upload:synthetic"
    at.run()
    assert not at.exception
    fp = rec.record["fingerprint"]
    at.selectbox(key="compare-evaluated-on").set_value(fp).run()
    assert not at.exception
    board = at.dataframe[0].value
    assert board["model"].tolist() == ["mc"]
    assert board["accuracy"].iloc[0] == pytest.approx(rec.metrics["accuracy"])
    assert board["delta_accuracy"].iloc[0] == pytest.approx(rec.metrics["accuracy"] - own["accuracy"])


def test_accelerate_is_imported_only_when_launched(tmp_path):
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "WORLD_SIZE" and not k.startswith("ACCELERATE_")}
    code = ("import sys; from core.scoring_cli import launched; "
            "print(launched(), 'accelerate' in sys.modules, 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["(0,", "1,", "None)", "False", "False"]


def test_evaluating_the_own_test_split_gives_the_models_test_fingerprint(env):
    from core.artifacts import get_artifact
    from core.data import load_dataset
    from core.evaluations import evaluate_model

    rec = evaluate_model("mc", load_dataset("upload:synthetic"))  # the test split the model was scored on
    info = get_artifact("mc")
    assert rec.record["fingerprint"] == info.manifest["test_fingerprint"]
    assert rec.metrics["accuracy"] == pytest.approx(info.metrics["accuracy"])
