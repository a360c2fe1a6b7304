"""`python -m core check` and the Behavioural tests page on a real tiny artifact: a word TF-IDF trained on a toy
3-topic dataset (upload:toy) and a variant of it (a copy saved with the TF-IDF as parent, as core.lineage reads
compressed variants)."""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.envtools import chart_text, lab_dirs
from tests.test_pages_compression import toy_dataset

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

MODEL, VARIANT = "toy-tfidf", "toy-tfidf-copy"
MFT = """version: 1
dataset: upload:toy
tests:
  - name: sport words
    type: MFT
    template: "{w} {f}"
    fill: {w: [ball, goal, team, match], f: [the, today]}
    expected: {label: sport}
  - name: sport words as money
    type: MFT
    template: "{w} {f}"
    fill: {w: [ball, goal, team, match], f: [the, today]}
    expected: {label: money}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with lab_dirs(tmp_path_factory.mktemp("checks-lab")) as root:
        from core import train
        from core.artifacts import load_model, load_predictions, save_artifact
        from core.data import load_dataset, save_upload

        ds = load_dataset(save_upload(toy_dataset("toy"), "toy"))
        train.run(ds, "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name=MODEL)
        save_artifact(load_model(MODEL), VARIANT, dataset=ds, config={}, metrics={}, predictions=load_predictions(MODEL),
                      parent=MODEL, compression={"method": "copy", "description": "a copy (test variant)"})
        yield root


@pytest.fixture()
def fresh(lab):
    """No saved suite or record, empty Streamlit caches."""
    import streamlit as st

    shutil.rmtree(lab / "artifacts" / ".checks", ignore_errors=True)
    st.cache_data.clear()
    st.cache_resource.clear()
    return lab


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    from core.cli import main

    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_generates_saves_and_records(fresh, capsys):
    from core.checks import load_record, saved_suite_text, suite_hash

    code, out, err = cli(capsys, MODEL, "--examples", "1")
    assert code == 0, err
    text = saved_suite_text("upload:toy")
    assert text and "generated the default suite of upload:toy" in err
    lines = out.splitlines()
    assert lines[0].startswith(f"{MODEL}: suite {suite_hash(text)} of upload:toy")
    assert any(line.split()[:2] == ["INV", "typos"] and "failed" in line for line in lines)
    assert any(line.split()[0] == "DIR" and "add its words" in line for line in lines)
    record = load_record(MODEL, suite_hash(text))
    assert record["model"] == MODEL and {r["name"] for r in record["results"]} >= {"typos", "punctuation", "case"}
    code, out, _ = cli(capsys, MODEL, "--json")  # the saved suite is reused, not regenerated
    assert code == 0 and json.loads(out)["suite_hash"] == suite_hash(text) and saved_suite_text("upload:toy") == text


def test_cli_suite_file_variants_and_failing_examples(fresh, capsys, tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(MFT, encoding="utf-8")
    code, out, err = cli(capsys, MODEL, "--suite", str(path), "--with-variants")
    assert code == 0, err
    assert "sport words  " in out and "0.0%  (0/8 failed" in out
    assert "100.0%  (8/8 failed" in out and "got sport, expected money" in out
    side = out.split("failure rates side by side:")[1].splitlines()
    assert MODEL in side[1] and VARIANT in side[1]
    assert [line.split()[-2:] for line in side[2:]] == [["0.0%", "0.0%"], ["100.0%", "100.0%"]]


def test_cli_refuses_a_bad_suite_and_an_unconsented_replace(fresh, capsys, tmp_path):
    from core.checks import saved_suite_text

    bad = tmp_path / "bad.yaml"
    bad.write_text(MFT.replace("type: MFT", "type: MFX", 1), encoding="utf-8")
    code, _, err = cli(capsys, MODEL, "--suite", str(bad))
    assert code == 2 and "line 5, tests[0].type: 'MFX' is not one of INV, DIR, MFT" in err
    good = tmp_path / "good.yaml"
    good.write_text(MFT, encoding="utf-8")
    assert cli(capsys, MODEL, "--show-suite")[0] == 0  # generates and saves the default suite
    before = saved_suite_text("upload:toy")
    code, _, err = cli(capsys, MODEL, "--suite", str(good), "--save-suite")
    assert code == 2 and "explicit consent" in err and saved_suite_text("upload:toy") == before
    code, _, err = cli(capsys, MODEL, "--suite", str(good), "--save-suite", "--replace")
    assert code == 0 and saved_suite_text("upload:toy") == MFT
    code, _, err = cli(capsys, MODEL, "--dataset", "upload:other")
    assert code == 2 and "no suite is saved for upload:other" in err


def test_record_of_a_replaced_model_is_not_reused(fresh, capsys):
    from core.artifacts import get_artifact, load_model, load_predictions, save_artifact
    from core.checks import check_model, load_record, suite_hash
    from core.data import load_dataset

    check_model(VARIANT, MFT)
    assert load_record(VARIANT, suite_hash(MFT))["model"] == VARIANT
    created = get_artifact(VARIANT).created
    time.sleep(1.05)  # manifests stamp `created` to the second: a re-train is always a later second
    save_artifact(load_model(MODEL), VARIANT, dataset=load_dataset("upload:toy"), config={}, metrics={},
                  predictions=load_predictions(MODEL), parent=MODEL, overwrite=True,
                  compression={"method": "copy", "description": "a copy (test variant)"})
    assert get_artifact(VARIANT).created != created
    assert load_record(VARIANT, suite_hash(MFT)) is None and load_record(VARIANT) is None


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / "checks.py"), default_timeout=120)
    at.session_state["_shared_model"] = MODEL
    return at


def texts_of(at: AppTest) -> str:
    return "\n".join(str(getattr(e, "value", "")) for kind in ("markdown", "caption", "info", "success", "error")
                     for e in getattr(at, kind))


def test_page_generates_runs_and_shows_variants(fresh):
    from core.checks import saved_suite_text

    at = page().run()
    assert not at.exception, at.exception
    assert "No test suite is saved for upload:toy" in texts_of(at)
    at.button(key="checks-generate").click().run()
    assert not at.exception, at.exception
    assert saved_suite_text("upload:toy") is not None and at.text_area[0].value == saved_suite_text("upload:toy")
    assert "has not been run on this suite yet" in texts_of(at)
    assert at.multiselect(key="checks-variants").value == [VARIANT]
    at.button(key="checks-run").click().run()
    assert not at.exception, at.exception
    summary = at.dataframe[0].value
    assert list(summary.columns) == ["test", "type", "what", "cases", "skipped", "failed", "failure_rate"]
    assert {"typos", "punctuation", "case"} <= set(summary["test"])
    side = at.dataframe[1].value
    assert list(side.columns) == ["test", "type", MODEL, VARIANT]
    assert side[MODEL].fillna(-1).tolist() == side[VARIANT].fillna(-1).tolist()  # a copy fails identically
    assert "model and variants" in chart_text(at.get("plotly_chart")[0])
    assert len(at.get("download_button")) >= 2


def test_page_edit_validate_and_consent(fresh):
    from core.checks import save_suite, saved_suite_text

    save_suite("upload:toy", MFT)
    at = page().run()
    at.button(key="checks-run").click().run()
    assert not at.exception, at.exception
    assert "sport words as money" in at.dataframe[0].value["test"].tolist()
    assert at.selectbox(key="checks-test").value == "sport words as money"
    failing = at.dataframe[-1].value
    assert len(failing) == 8 and set(failing["after"]) == {"sport"}
    at.text_area[0].input(MFT.replace("label: money", "label: cars")).run()
    at.button(key="checks-validate").click().run()
    assert "The suite is not valid:" in texts_of(at)
    problems = at.dataframe[0].value["problem"].tolist()
    assert problems == ["line 13, tests[1].expected.label: 'cars' is not a label of the model (sport, tech, money)"]
    changed = MFT.replace("[the, today]", "[the, now]")
    at.text_area[0].input(changed).run()
    at.button(key="checks-save").click().run()
    assert "explicit consent" in texts_of(at) and saved_suite_text("upload:toy") == MFT  # untouched
    at.checkbox(key="checks-consent").check().run()
    at.button(key="checks-save").click().run()
    assert not at.exception, at.exception
    assert saved_suite_text("upload:toy") == changed
