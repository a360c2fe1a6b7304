"""Broken, interrupted and hostile artifact folders: each is listed as broken with its reason (or refused),
while every other model keeps loading and every page keeps rendering. Nothing is ever unpickled.

Real models built once per module on the tiny topic dataset: a TF-IDF model and a scratch transformer
(torch, safetensors). Each test damages copies of them in its own artifacts folder.
`python -m pytest tests/test_corrupted_artifacts.py -q` (about 40 s; the kill -9 tests need ../shared/data).
"""
from __future__ import annotations

import ast
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.envtools import needs_shared as needs_shared_data
from tests.envtools import restored_env

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from tiny_bert import tiny_dataset  # noqa: E402

from core import artifacts, jobs  # noqa: E402
from core.artifacts import ArtifactError  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
needs_shared = needs_shared_data()
TFIDF, TORCH = "topics-tfidf", "topics-scratch"
SCRATCH_FAST = {"d_model": 16, "num_heads": 2, "ff_dim": 32, "num_layers": 1, "epochs": 1, "batch_size": 32,
                "min_freq": 1, "bpe_vocab_size": 150, "patience": 0}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """An artifacts folder with two healthy models (never modified; tests copy it)."""
    import torch

    from core import train

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("pristine")
    with restored_env(["TEXTLAB_ARTIFACTS_DIR"]):
        os.environ["TEXTLAB_ARTIFACTS_DIR"] = str(root)
        ds = tiny_dataset()
        train.run(ds, "tfidf", {"analyzer": "word", "word_ngram_max": 1}, name=TFIDF)
        train.run(ds, "scratch_transformer", SCRATCH_FAST, name=TORCH)
    return root


@pytest.fixture()
def lab(pristine, tmp_path, monkeypatch) -> Path:
    """A private copy of the pristine artifacts, set as the artifacts folder."""
    root = tmp_path / "artifacts"
    shutil.copytree(pristine, root)
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(root))
    monkeypatch.setenv("TEXTLAB_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("TEXTLAB_USER_DATA_DIR", str(tmp_path / "user_data"))
    monkeypatch.setenv("TEXTLAB_THREADS", "1")
    return root


TEXTS = ["the team won the match", "stock market profit", "new software chip", "election minister"]


def _clone(root: Path, src: str, dst: str) -> Path:
    """Copy artifact `src` as `dst` (manifest name updated) and return its folder."""
    shutil.copytree(root / src, root / dst)
    return root / dst


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _biggest_file(model_dir: Path) -> Path:
    return max((f for f in model_dir.rglob("*") if f.is_file()), key=lambda f: f.stat().st_size)


def _manifest(path: Path, **changes) -> None:
    m = json.loads((path / "manifest.json").read_text())
    m.update(changes)
    (path / "manifest.json").write_text(json.dumps(m))


# (id, source model, damage(path), substring of the listed reason)
DAMAGES = [
    ("tfidf-truncated-weights", TFIDF, lambda p: _truncate(p / "model" / "linear.npz"), "linear.npz is truncated"),
    ("tfidf-missing-vocabulary", TFIDF,
     lambda p: next((p / "model").glob("*vocabulary*")).unlink(), "missing model/"),
    ("torch-truncated-weights", TORCH, lambda p: _truncate(p / "model" / "model.safetensors"),
     "model.safetensors is truncated"),
    ("torch-missing-weights", TORCH, lambda p: (p / "model" / "model.safetensors").unlink(),
     "missing model/model.safetensors"),
    ("torch-truncated-tokenizer", TORCH, lambda p: _truncate(_biggest_file(p / "model" / "tokenizer")),
     "truncated"),
    ("missing-metrics", TFIDF, lambda p: (p / "metrics.json").unlink(), "missing metrics.json"),
    ("missing-predictions", TORCH, lambda p: (p / "predictions.npz").unlink(), "missing predictions.npz"),
    ("missing-model-folder", TORCH, lambda p: shutil.rmtree(p / "model"), "missing model"),
    ("missing-manifest", TFIDF, lambda p: (p / "manifest.json").unlink(), "missing manifest.json"),
    ("unparsable-manifest", TFIDF, lambda p: (p / "manifest.json").write_text('{"kind": "tfidf", '),
     "unreadable manifest"),
    ("empty-manifest", TORCH, lambda p: (p / "manifest.json").write_bytes(b""), "unreadable manifest"),
    ("binary-manifest", TORCH, lambda p: (p / "manifest.json").write_bytes(b"\xff\xfe\x00garbage"),
     "unreadable manifest"),
    ("manifest-not-an-object", TFIDF, lambda p: (p / "manifest.json").write_text('"tfidf"'), "unreadable manifest"),
    ("newer-format", TORCH, lambda p: _manifest(p, format_version=999), "newer version"),
    ("format-not-a-number", TFIDF, lambda p: _manifest(p, format_version="2.0"), "newer version"),
    ("manifest-without-kind", TFIDF,
     lambda p: (p / "manifest.json").write_text(json.dumps({"labels": ["a"], "format_version": 1})), "no 'kind'"),
    ("unparsable-metrics", TORCH, lambda p: (p / "metrics.json").write_text("{oops"), "unreadable metrics"),
]


@pytest.mark.parametrize("case", DAMAGES, ids=[d[0] for d in DAMAGES])
def test_damaged_folder_is_listed_broken_and_others_keep_working(lab, case):
    name, source, damage, reason = case
    before = {m: artifacts.load_model(m).predict_proba(TEXTS) for m in (TFIDF, TORCH)}
    damage(_clone(lab, source, name))

    infos = {i.name: i for i in artifacts.list_artifacts()}
    assert set(infos) == {TFIDF, TORCH, name}
    assert infos[name].broken and reason in infos[name].broken, infos[name].broken
    assert infos[TFIDF].ok and infos[TORCH].ok
    assert name not in [i.name for i in artifacts.list_artifacts(include_broken=False)]
    with pytest.raises(ArtifactError, match="broken|no model"):
        artifacts.load_model(name)
    with pytest.raises(ArtifactError):
        artifacts.load_predictions(name)
    for m, proba in before.items():  # the healthy models are untouched and give the same answers
        np.testing.assert_allclose(artifacts.load_model(m).predict_proba(TEXTS), proba, rtol=1e-5, atol=1e-6)
        assert len(artifacts.load_predictions(m).texts) == 32


@pytest.mark.parametrize("source, target", [(TFIDF, "linear.npz"), (TORCH, "model.safetensors")])
def test_corrupted_in_place_same_size_fails_to_load_with_a_reason(lab, source, target):
    """Bytes overwritten without changing the size: the listing cannot tell, loading says why (no crash)."""
    path = _clone(lab, source, "scrambled")
    f = path / "model" / target
    data = bytearray(f.read_bytes())
    data[:64] = b"\x00" * 8 + b"{not a header" + b"\xff" * 43  # the zip / safetensors header
    f.write_bytes(bytes(data))
    assert artifacts.get_artifact("scrambled").ok  # sizes match: only a load can tell
    with pytest.raises(ArtifactError, match="could not be loaded"):
        artifacts.load_model("scrambled")
    assert artifacts.load_model(source).predict_proba(TEXTS).shape == (4, 4)


def test_truncated_predictions_are_reported_not_fatal(lab):
    _truncate(_clone(lab, TORCH, "half-preds") / "predictions.npz")
    with pytest.raises(ArtifactError, match="predictions.npz unreadable"):
        artifacts.load_predictions("half-preds")
    assert artifacts.load_model("half-preds").predict_proba(TEXTS).shape == (4, 4)  # the model itself is fine


def test_unknown_kind_is_a_clear_load_error(lab):
    _manifest(_clone(lab, TFIDF, "alien"), kind="alien_family")
    with pytest.raises(ArtifactError, match="unknown model kind 'alien_family'"):
        artifacts.load_model("alien")


def test_stray_entries_are_ignored(lab):
    (lab / "notes.txt").write_text("not a model")
    (lab / "white space").mkdir()
    (lab / ".tmp-half-abc123").mkdir()
    (lab / ".tmp-half-abc123" / "manifest.json").write_text("{}")
    (lab / ".trash-old-1").mkdir()
    assert sorted(i.name for i in artifacts.list_artifacts()) == sorted([TFIDF, TORCH])


def test_stale_temporary_folders_are_cleaned_fresh_ones_kept(lab):
    stale, fresh = lab / ".tmp-x-stale", lab / ".tmp-y-fresh"
    for d in (stale, fresh, lab / ".trash-z-1"):
        d.mkdir()
        (d / "weights.bin").write_bytes(b"0" * 100)
    hour_ago = time.time() - artifacts.STALE_SECONDS - 60
    for d in (stale, lab / ".trash-z-1"):
        os.utime(d, (hour_ago, hour_ago))
    artifacts.list_artifacts()  # listing cleans on the way
    assert not stale.exists() and not (lab / ".trash-z-1").exists()
    assert fresh.exists()  # may belong to a save in progress
    assert (lab / TFIDF).is_dir() and (lab / TORCH).is_dir()
    assert artifacts.cleanup_stale(max_age_s=0) == [fresh.name]


def test_symlinked_folder_never_deletes_outside(lab, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    (lab / "link").symlink_to(outside, target_is_directory=True)
    info = {i.name: i for i in artifacts.list_artifacts()}["link"]
    assert info.broken and "outside the artifacts folder" in info.broken
    for call in (lambda: artifacts.delete_artifact("link", confirm="link"), lambda: artifacts.load_model("link")):
        with pytest.raises(ArtifactError, match="escapes"):
            call()
    assert (outside / "precious.txt").read_text() == "keep me"


# ----------------------------------------------------------------------------------------------- names

BAD_NAMES = ["../escape", "../../etc/passwd", "a/b", "/abs/path", "..", ".", "", " ", ".hidden", "x" * 121,
             "white space", "tab\tname", "new\nline", "nul\x00byte", "back\\slash", "~user", "$HOME", "名前",
             "emoji😀", "-flag", "a/../b", "C:\\windows", "name;rm -rf", "<script>"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=range(len(BAD_NAMES)))
def test_artifact_names_cannot_escape(lab, name):
    with pytest.raises(ArtifactError):
        artifacts.artifact_dir(name)
    with pytest.raises(ArtifactError):
        artifacts.delete_artifact(name, confirm=name)
    assert sorted(p.name for p in lab.parent.iterdir()) == ["artifacts"]  # nothing written anywhere else


def test_training_and_upload_names_are_checked_before_any_work(lab):
    from core import data, train
    from core.data import DataError

    ds = tiny_dataset()
    for name in ("../escape", "/tmp/x", "a/b"):
        with pytest.raises(ArtifactError, match="invalid model name"):
            train.run(ds, "tfidf", {"analyzer": "word"}, name=name)
        with pytest.raises(DataError, match="invalid dataset name"):
            data.save_upload(__import__("pandas").DataFrame({"t": ["a b"] * 12, "y": ["x", "z"] * 6}), name,
                             text_columns="t", label_columns="y")
    with pytest.raises(ValueError, match="bad job id"):
        jobs.job_status("../../etc")
    assert sorted(i.name for i in artifacts.list_artifacts()) == sorted([TFIDF, TORCH])
    assert not (lab.parent / "escape").exists()


def test_unique_name_sanitises(lab):
    assert artifacts.unique_name("../../etc/passwd") == "etc-passwd"
    assert artifacts.unique_name("") == "model"
    assert artifacts.check_name(artifacts.unique_name("a b/c<script>")) == "a-b-c-script"


# ----------------------------------------------------------------------------------------------- untrusted files

class _Boom:
    """Unpickling this touches a marker file: the proof that a loader ran pickle on our bytes."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _payload(marker: Path) -> bytes:
    return pickle.dumps(_Boom(str(marker)))


def test_pickled_payloads_in_model_files_are_never_executed(lab, tmp_path):
    marker = tmp_path / "PWNED"
    payload = _payload(marker)
    # every file our loaders read, replaced by a pickle payload of the same size where possible
    for source in (TFIDF, TORCH):
        for f in sorted(p for p in (lab / source / "model").rglob("*") if p.is_file()):
            name = f"{source}-{f.name}".replace(".", "-").lower()[:60]
            clone = _clone(lab, source, name)
            target = clone / "model" / f.relative_to(lab / source / "model")
            target.write_bytes(payload)
            _manifest(clone, model_files=None)  # skip the size check: make the loader itself face the bytes
            try:
                artifacts.load_model(name)
            except ArtifactError:
                pass
            assert not marker.exists(), f"unpickled {target}"
    # an npz holding a pickled object array (np.load must refuse it)
    clone = _clone(lab, TORCH, "npz-pickle")
    np.savez(clone / "predictions.npz", proba=np.array([_Boom(str(marker))], dtype=object))
    with pytest.raises(ArtifactError):
        artifacts.load_predictions("npz-pickle")
    assert not marker.exists()


def test_uploaded_pickles_are_refused(lab, tmp_path):
    from core import data
    from core.data import DataError

    marker = tmp_path / "PWNED"
    payload = _payload(marker)
    for fname in ("data.pkl", "data.pickle", "data.csv", "data.jsonl", "data.parquet", "data.tsv"):
        with pytest.raises(DataError):
            data.read_table(payload, fname)
    assert not marker.exists()


def test_torch_encoder_refuses_pickled_bin(lab, tmp_path):
    """An artifact whose encoder folder holds pytorch_model.bin instead of safetensors is not loaded."""
    pytest.importorskip("transformers")
    from tiny_bert import tiny_encoder, tiny_params, tiny_tokenizer

    from core import train
    from core.models import transformer as T

    ds = tiny_dataset()
    model = T.build(ds, tiny_params(), encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
    train.finish(model, ds, "tiny-bert", config={})
    assert artifacts.load_model("tiny-bert").predict_proba(TEXTS).shape == (4, 4)
    enc = lab / "tiny-bert" / "model" / "encoder"
    marker = tmp_path / "PWNED"
    (enc / "model.safetensors").unlink()
    (enc / "pytorch_model.bin").write_bytes(_payload(marker))
    _manifest(lab / "tiny-bert", model_files=None)
    with pytest.raises(ArtifactError):
        artifacts.load_model("tiny-bert")
    assert not marker.exists()


UNSAFE_CALLS = {
    ("pickle", "load"), ("pickle", "loads"), ("cPickle", "load"), ("dill", "load"), ("dill", "loads"),
    ("cloudpickle", "load"), ("cloudpickle", "loads"), ("joblib", "load"), ("pd", "read_pickle"),
    ("pandas", "read_pickle"), ("shelve", "open"), ("marshal", "load"), ("marshal", "loads"),
}


def _unsafe_calls(path: Path) -> list[str]:
    """`module.func(...)` calls that unpickle, in one source file (line: code)."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in {"pickle", "joblib", "dill", "cloudpickle"}:
            if any(a.name in {"load", "loads", "Unpickler"} for a in node.names):
                found.append(f"{path}:{node.lineno}: from {node.module} import load")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
        attr = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        kw = {k.arg: k.value for k in node.keywords}
        line = f"{path}:{node.lineno}: {ast.unparse(node)[:100]}"
        if (owner, attr) in UNSAFE_CALLS or attr in {"read_pickle", "Unpickler"}:
            found.append(line)
        elif owner == "torch" and attr == "load":
            wo = kw.get("weights_only")
            if not (isinstance(wo, ast.Constant) and wo.value is True):
                found.append(line + "  (torch.load needs weights_only=True)")
        elif owner in {"np", "numpy"} and attr == "load":
            ap = kw.get("allow_pickle")
            if ap is not None and not (isinstance(ap, ast.Constant) and ap.value is False):
                found.append(line + "  (np.load must not allow_pickle)")
        elif attr == "from_pretrained":
            trc = kw.get("trust_remote_code")
            if trc is not None and not (isinstance(trc, ast.Constant) and trc.value is False):
                found.append(line + "  (trust_remote_code runs code from a model folder)")
    return found


def test_code_base_never_unpickles():
    files = [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "core").rglob("*.py")),
             *sorted((ROOT / "views").glob("*.py")), *sorted((ROOT / "scripts").glob("*.py"))]
    found = [hit for f in files if f.exists() for hit in _unsafe_calls(f)]
    assert not found, "unsafe deserialisation:\n" + "\n".join(found)


def test_unsafe_call_detector_catches_each_pattern(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle, joblib, torch\nimport numpy as np\nimport pandas as pd\n"
                   "pickle.load(f)\npickle.loads(b)\njoblib.load(p)\ntorch.load(p)\ntorch.load(p, weights_only=False)\n"
                   "np.load(p, allow_pickle=True)\npd.read_pickle(p)\nfrom pickle import loads\n"
                   "AutoModel.from_pretrained(p, trust_remote_code=True)\n"
                   "torch.load(p, weights_only=True)\nnp.load(p)\nnp.load(p, allow_pickle=False)\n")
    assert len(_unsafe_calls(bad)) == 9


# ----------------------------------------------------------------------------------------------- kill -9

def _wait_for(predicate, timeout: float, what: str):
    t0 = time.time()
    while time.time() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@needs_shared
def test_kill_9_mid_training_leaves_nothing(lab):
    from core.progress import read_progress

    job = jobs.start_job("sms_spam", "rnn", {"epochs": 50, "embed_dim": 16, "hidden_dim": 16, "batch_size": 16},
                         name="killed-mid-train", max_train=1500)
    jdir = Path(os.environ["TEXTLAB_JOBS_DIR"]) / job
    pid = int((jdir / "pid").read_text())
    try:
        # wait until the optimisation loop reports progress (past data loading and tokenizer fitting)
        _wait_for(lambda: "epoch" in str(read_progress(jdir).get("message", "")).lower()
                  or (read_progress(jdir).get("extra") or {}).get("loss") is not None, 180, "training progress")
    finally:
        os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: jobs.job_status(job)["state"] == "failed", 30, "the job to be seen as failed")
    assert not (lab / "killed-mid-train").exists()
    assert sorted(i.name for i in artifacts.list_artifacts()) == sorted([TFIDF, TORCH])
    assert all(i.ok for i in artifacts.list_artifacts())
    assert jobs.job_status(job)["error"]  # the Train page shows why (log tail or 'ended unexpectedly')


SLOW_SAVE = """
import sys, time
import core.artifacts as a
orig = a.write_json
def slow(path, obj):
    orig(path, obj)
    if path.name == "metrics.json":
        time.sleep(120)  # hold the half-written .tmp folder open until the test kills us
a.write_json = slow
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""


@needs_shared
def test_kill_9_mid_save_leaves_only_an_ignored_temp_folder(lab):
    env = dict(os.environ, TQDM_DISABLE="1")
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, "train", "--dataset", "sms_spam", "--model", "tfidf",
                             "--max-train", "300", "--set", "analyzer=word", "--set", "word_ngram_max=1",
                             "--name", "killed-mid-save"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        tmp = _wait_for(lambda: next((p for p in lab.glob(".tmp-killed-mid-save-*")
                                      if (p / "metrics.json").exists()), None), 180, "the save to start")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert tmp.exists() and (tmp / "model").is_dir()  # half an artifact exists, under its temporary name...
    assert not (lab / "killed-mid-save").exists()  # ...never under the real one
    assert sorted(i.name for i in artifacts.list_artifacts()) == sorted([TFIDF, TORCH])
    assert artifacts.cleanup_stale(max_age_s=0) == [tmp.name]
    assert not tmp.exists()


# ----------------------------------------------------------------------------------------------- pages

def _page(name: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "views" / f"{name}.py"), default_timeout=120)
    at.session_state["_shared_dataset"] = "sms_spam"
    return at


def _clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def test_pages_render_with_every_kind_of_broken_folder(lab):
    for name, source, damage, _ in DAMAGES:
        damage(_clone(lab, source, name))
    path = _clone(lab, TORCH, "scrambled")  # listed as fine, fails only when loaded
    data = bytearray((path / "model" / "model.safetensors").read_bytes())
    data[:16] = b"\xff" * 16
    (path / "model" / "model.safetensors").write_bytes(bytes(data))
    (lab / ".tmp-interrupted-xyz").mkdir()
    _clear_caches()

    at = _page("overview").run()
    assert not at.exception
    assert set(at.dataframe[0].value["name"]) == {TFIDF, TORCH, "scrambled"}
    unusable = next(e for e in at.expander if "unusable" in e.label)
    assert unusable.label.startswith(f"{len(DAMAGES)} ")
    table = at.dataframe[1].value
    assert set(table["folder"]) == {d[0] for d in DAMAGES} and table["reason"].str.len().min() > 5

    at = _page("predict")
    at.session_state["predict-model"] = TORCH
    at.session_state["predict-text"] = "the team won the match"
    at.run()
    assert not at.exception and not at.error
    assert any("Prediction:" in m.value for m in at.markdown)

    at = _page("predict")
    at.session_state["predict-model"] = "scrambled"
    at.session_state["predict-text"] = "the team won the match"
    at.run()
    assert not at.exception
    assert at.error and "could not be loaded" in at.error[0].value  # a clear message, not a traceback

    for page in ("errors", "compare"):
        at = _page(page)
        at.session_state["_shared_dataset"] = "tiny_topics"
        at.session_state["_shared_model"] = TORCH
        at.run()
        assert not at.exception, page
    assert all(artifacts.get_artifact(m).ok for m in (TFIDF, TORCH))


def test_delete_needs_the_typed_name_on_the_overview_page(lab):
    _clear_caches()
    at = _page("overview").run()
    assert not at.exception
    delete = at.button(key="overview-delete")
    assert delete.disabled  # nothing chosen
    at.selectbox(key="overview-delete-model").select(TFIDF).run()
    assert at.button(key="overview-delete").disabled  # chosen, not confirmed
    at.text_input(key="overview-delete-confirm").input(TFIDF + "x").run()
    assert at.button(key="overview-delete").disabled  # a wrong name
    with pytest.raises(Exception, match="disabled"):  # AppTest, like a browser, cannot click it
        at.button(key="overview-delete").click()
    with pytest.raises(ArtifactError, match="confirm"):  # and the library refuses a wrong confirmation anyway
        artifacts.delete_artifact(TFIDF, confirm=TFIDF + "x")
    assert (lab / TFIDF).is_dir()
    at.text_input(key="overview-delete-confirm").input(TFIDF).run()
    assert not at.button(key="overview-delete").disabled
    at.button(key="overview-delete").click().run()
    assert not at.exception
    assert not (lab / TFIDF).exists() and (lab / TORCH).is_dir()
    assert any(TFIDF in s.value for s in at.success)
    assert set(at.dataframe[0].value["name"]) == {TORCH}


def test_train_page_name_box_cannot_escape(lab):
    _clear_caches()
    for bad in ("../escape", "/tmp/evil", "a/b"):
        at = _page("train").run()
        at.text_input[-1].set_value(bad)
        at.button(key="FormSubmitter:train-form-Train").click().run()
        assert not at.exception
        assert at.error and "invalid model name" in at.error[0].value
    assert not jobs.list_jobs()  # no job was started
    assert not (lab.parent / "escape").exists()
