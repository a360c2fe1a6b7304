"""The model contract (core.base.TextClassifier), checked on every kind of model the lab can save.

In the spirit of scikit-learn's `parametrize_with_checks`: one list of checks x one list of tiny models covering
every registered family (core.models.FAMILIES, single- and multi-label), every compression method's output
(int8, fp16, bf16, magnitude pruning, head pruning, structured pruning, distilled students, ONNX int8, static-embedding
students) and an ensemble (int8, ONNX, static and ensemble also multi-label), so every kind
`python -m core list` can show is covered (`test_every_kind_is_covered` fails when a new kind has no case here).

Checks: output shapes (n, k); rows sum to 1 (single-label) or values in [0, 1] (multi-label); `predict` is the
argmax (the threshold for multi-label); save -> load gives identical probabilities; every declared capability
works and returns the documented shapes; an undeclared one raises CapabilityError; loading a saved model and
predicting imports no training code (one subprocess for every case).

Models are built once per module, tiny (the 2-layer random BERT of tests/tiny_bert.py, a few hundred rows, one
epoch), offline.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_bert import tiny_dataset, tiny_encoder, tiny_params, tiny_tokenizer

from core.base import CAPABILITIES, Attention, CapabilityError, GradientTarget, TextClassifier
from core.models import DERIVED, FAMILIES, REGISTRY

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["The team won the match after a late goal.", "Stock markets rallied as the company posted profit.",
         "New phone chip", "Election day!", ""]
TEXT = "The team won the match after a late goal."
#: modules that loading a saved model and predicting must never import
TRAINING_MODULES = ("core.trainer", "core.trainer_batching", "core.trainer_eval", "core.trainer_losses", "core.train",
                    "accelerate", "peft", "core.models.tfidf_fit",
                    "core.models.rnn_fit", "core.models.scratch_transformer_fit", "core.models.transformer_fit",
                    "core.models.ensemble_fit")

FAST = {"epochs": 1, "batch_size": 32, "patience": 0, "evals_per_epoch": 1}
FAMILY_PARAMS: dict[str, dict] = {
    "tfidf": {"analyzer": "word+char", "char_ngram_max": 3, "min_df": 1},
    "rnn": {**FAST, "embed_dim": 16, "hidden_dim": 16, "min_freq": 1, "tokenizer": "word"},
    "scratch_transformer": {**FAST, "d_model": 16, "num_heads": 2, "ff_dim": 32, "num_layers": 1, "min_freq": 1,
                            "bpe_vocab_size": 150},
}
#: case -> (compression method, settings[, teacher case]); the teacher is the "transformer" case unless named (its
#: multi-label twin for the "-multilabel" cases)
COMPRESSED: dict[str, tuple] = {
    "int8": ("int8", {"runtime": "torch"}),
    "fp16": ("fp16", {}),
    "bf16": ("bf16", {"compute": "bf16"}),
    "prune": ("prune", {"sparsity": 0.5}),
    "prune-heads": ("prune-heads", {"fraction": 0.5, "sample": 16}),
    "prune-structured": ("prune-structured", {"ffn_keep": 0.5, "sample": 16, "recovery_steps": 2}),
    "distill-shallow": ("distill", {"student": "shallow", "layers": ["0"], **FAST}),
    "distill-rnn": ("distill", {"student": "rnn", "embed_dim": 16, "hidden_dim": 16, "min_freq": 1, **FAST}),
    "distill-scratch": ("distill", {"student": "scratch_transformer", "d_model": 16, "num_heads": 2, "ff_dim": 32,
                                    "num_layers": 1, "min_freq": 1, "bpe_vocab_size": 150, **FAST}),
    "onnx-int8": ("int8-onnx", {}),
    "static": ("static", {"dims": 16, "epochs": 5, "hidden": 0}),
    # int8 by default runs on ONNX Runtime for every exportable family (the teacher of these three is named)
    "int8-onnx-rnn": ("int8", {}, "rnn"),
    "int8-onnx-scratch": ("int8", {}, "scratch_transformer"),
    "int8-onnx-student": ("int8", {}, "distill-shallow"),
    "ensemble": ("ensemble", {"members": ["tfidf"], "max_validation": 0}),
    "int8-multilabel": ("int8", {"runtime": "torch"}),
    "onnx-int8-multilabel": ("int8-onnx", {}),
    "static-multilabel": ("static", {"dims": 16, "epochs": 5, "hidden": 8}),
    "ensemble-multilabel": ("ensemble", {"members": ["tfidf-multilabel"], "max_validation": 0}),
}
CASES = [*FAMILIES, *(f"{k}-multilabel" for k in FAMILIES), *COMPRESSED]


class Zoo:
    """Builds each case on first use (so one selected test builds only what it needs) and keeps it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = {False: tiny_dataset(n_train=128), True: tiny_dataset(multilabel=True, n_train=128)}
        self.models: dict[str, TextClassifier] = {}

    def __getitem__(self, case: str) -> TextClassifier:
        if case not in self.models:
            self.models[case] = self._build(case)
        return self.models[case]

    def _build(self, case: str) -> TextClassifier:
        from core import artifacts
        from core.train import finish

        if case in COMPRESSED:
            from core.compress import compress

            multi = case.endswith("-multilabel")
            method, settings, *named = COMPRESSED[case]
            teacher = named[0] if named else "transformer-multilabel" if multi else "transformer"
            for name in [teacher, *settings.get("members", [])]:
                self[name]  # saved as artifacts on first use
            path = compress(teacher, method, settings, name=case, dataset=self.data[multi])
            return artifacts.load_model(path.name)  # exactly what a later load returns
        kind, _, multi = case.partition("-")
        ds = self.data[bool(multi)]
        if kind == "transformer":
            from core.models import transformer as T

            params = tiny_params(epochs=1)
            model = T.build(ds, params, encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
            T.train(model, ds, params)
            model.finalize()
        else:
            from core.models import family
            from core.params import resolve

            fam = family(kind)
            model = fam.fit(ds, resolve(fam.PARAMS, FAMILY_PARAMS[kind]))[0]
        # an artifact: the compression cases and the ensemble start from it (multi-label: thresholds tuned on
        # validation, which the variants must inherit)
        finish(model, ds, case, config={}, tune_thresholds=True)
        return model


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEXTLAB_ARTIFACTS_DIR", str(root / "artifacts"))
        mp.setenv("TEXTLAB_USER_DATA_DIR", str(root / "user_data"))
        mp.setenv("TEXTLAB_CACHE_DIR", str(root / "cache"))
        yield Zoo(root)
    torch.set_num_threads(threads)


def test_every_kind_is_covered(zoo):
    """Every kind the registry can load (what `python -m core list` can show) has a case here."""
    assert set(REGISTRY.keys()) == set(FAMILIES) | set(DERIVED)
    kinds = {zoo[c].kind for c in CASES}
    assert kinds == set(REGISTRY.keys())


# ----------------------------------------------------------------------------------------------- checks
def check_probabilities(model: TextClassifier, k: int) -> None:
    proba = model.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), k) and np.issubdtype(proba.dtype, np.floating)
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1 + 1e-6).all()
    if not model.multilabel:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)


def check_predict(model: TextClassifier, k: int) -> None:
    proba, pred = model.predict_proba(TEXTS), model.predict(TEXTS)
    if model.multilabel:
        assert pred.shape == (len(TEXTS), k)
        np.testing.assert_array_equal(pred, (proba >= model.threshold).astype(np.int64))
    else:
        assert pred.shape == (len(TEXTS),)
        np.testing.assert_array_equal(pred, proba.argmax(axis=1))


def check_save_load(model: TextClassifier, k: int, folder: Path) -> None:
    model.save(folder)
    loaded = REGISTRY[model.kind].load(folder)
    assert type(loaded) is type(model) and loaded.labels == model.labels and loaded.multilabel == model.multilabel
    assert loaded.capabilities == model.capabilities
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), model.predict_proba(TEXTS))
    np.testing.assert_array_equal(np.asarray(loaded.threshold), np.asarray(model.threshold))  # per-label cuts kept


def _embed(model: TextClassifier, k: int) -> None:
    e = model.embed(TEXTS)
    assert e.ndim == 2 and e.shape[0] == len(TEXTS) and e.shape[1] > 0 and np.isfinite(e).all()
    assert model.embed(TEXTS[:2]).shape == (2, e.shape[1])


def _attention(model: TextClassifier, k: int) -> None:
    a = model.attention(TEXT)
    assert isinstance(a, Attention) and a.kind in ("self", "pooling")
    t = len(a.tokens)
    assert t > 0 and all(isinstance(x, str) for x in a.tokens)
    if a.kind == "self":
        assert a.n_layers > 0 and a.n_heads > 0
    assert a.weights.shape == ((t,) if a.kind == "pooling" else (a.n_layers, a.n_heads, t, t))
    np.testing.assert_allclose(np.asarray(a.weights, dtype=np.float64).sum(-1), 1.0, atol=1e-3)


def _gradients(model: TextClassifier, k: int) -> None:
    from core.explain.gradients import integrated_gradients

    target = model.gradient_target()
    assert isinstance(target, GradientTarget) and isinstance(target.embedding, torch.nn.Module)
    ids, mask, tokens = target.encode(TEXT)
    assert ids.shape == mask.shape and ids.shape[-1] == len(tokens)
    assert target.forward(ids, mask).shape == (1, k)
    attr = integrated_gradients(model, TEXT, k - 1, n_steps=4)
    assert len(attr.tokens) == len(attr.values) > 0 and np.isfinite(attr.values).all()


def _tokens(model: TextClassifier, k: int) -> None:
    tokens = model.tokenize(TEXT)
    assert tokens and all(isinstance(t, str) and t for t in tokens)
    assert isinstance(model.tokenize(""), list)


def _contributions(model: TextClassifier, k: int) -> None:
    pairs = model.contributions(TEXT, 0)
    assert pairs and all(isinstance(t, str) and isinstance(v, float) for t, v in pairs)
    if model.has("tokens"):
        assert [t for t, _ in pairs] == model.tokenize(TEXT)
    assert np.isfinite(model.contributions_base(k - 1))


def _chunks(model: TextClassifier, k: int) -> None:
    long_text = " ".join([TEXT] * 120)  # far beyond any zoo model's max_length
    spans, proba = model.chunk_proba(long_text)
    assert len(spans) >= 2 and proba.shape == (len(spans), k) and np.isfinite(proba).all()
    assert all(0 <= a < b <= len(long_text) for a, b in spans)
    assert [a for a, _ in spans] == sorted(a for a, _ in spans)
    assert spans[0][0] == 0 and spans[-1][1] == len(long_text)  # the windows cover the whole text
    if not model.multilabel:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    one_spans, one = model.chunk_proba(TEXT)  # a text that fits: one window, scored as predict_proba scores it
    assert len(one_spans) == 1
    np.testing.assert_allclose(one[0], model.predict_proba([TEXT])[0], atol=1e-4)


#: capability -> check of its declared methods (documented shapes)
DECLARED: dict[str, Callable[[TextClassifier, int], None]] = {
    "embed": _embed, "attention": _attention, "gradients": _gradients, "tokens": _tokens,
    "contributions": _contributions, "chunks": _chunks,
}
#: capability -> calls of its methods, each of which must raise CapabilityError when it is not declared
UNDECLARED: dict[str, list[Callable[[TextClassifier], object]]] = {
    "embed": [lambda m: m.embed(TEXTS)],
    "attention": [lambda m: m.attention(TEXT)],
    "gradients": [lambda m: m.gradient_target()],
    "tokens": [lambda m: m.tokenize(TEXT)],
    "contributions": [lambda m: m.contributions(TEXT, 0), lambda m: m.contributions_base(0)],
    "chunks": [lambda m: m.chunk_proba(TEXT)],
}


def test_check_tables_cover_every_capability():
    assert set(DECLARED) == set(UNDECLARED) == set(CAPABILITIES)


@pytest.mark.parametrize("case", CASES)
def test_probabilities(zoo, case):
    model = zoo[case]
    check_probabilities(model, len(model.labels))


@pytest.mark.parametrize("case", CASES)
def test_predict(zoo, case):
    model = zoo[case]
    check_predict(model, len(model.labels))


@pytest.mark.parametrize("case", CASES)
def test_save_load_identical(zoo, case, tmp_path):
    model = zoo[case]
    check_save_load(model, len(model.labels), tmp_path / "m")


@pytest.mark.parametrize("case", CASES)
def test_declared_capabilities(zoo, case):
    model = zoo[case]
    assert model.capabilities <= CAPABILITIES
    for capability in sorted(model.capabilities):
        DECLARED[capability](model, len(model.labels))


@pytest.mark.parametrize("case", CASES)
def test_undeclared_capabilities_raise(zoo, case):
    model = zoo[case]
    for capability in sorted(CAPABILITIES - model.capabilities):
        for call in UNDECLARED[capability]:
            with pytest.raises(CapabilityError):
                call(model)


def test_inference_imports_no_training_code(zoo):
    """Load saved models in a fresh interpreter and predict: no training module gets imported.

    First the kinds that do not use Hugging Face transformers, checked against every training module; then one
    case of every other kind, checked against all but `accelerate`: transformers' own model loading imports it
    (transformers.integrations.accelerate) whenever it is installed, whoever loads the model.
    """
    plain = ["tfidf", "rnn", "scratch_transformer", "static"]
    hf = ["transformer", "int8", "onnx-int8", "ensemble"]
    assert {zoo[c].kind for c in plain + hf} == set(REGISTRY.keys())
    script = (
        "import json, sys\n"
        "from core.artifacts import load_model\n"
        f"training = {TRAINING_MODULES!r}\n"
        "def loaded(): return sorted(m for m in training if m in sys.modules)\n"
        f"for name in {plain!r}:\n"
        "    load_model(name).predict_proba(['a text', 'another one'])\n"
        "first = loaded()\n"
        f"for name in {hf!r}:\n"
        "    load_model(name).predict_proba(['a text', 'another one'])\n"
        "print(json.dumps([first, [m for m in loaded() if m != 'accelerate']]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[], []]


def _imports(path: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved, function bodies included)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


INFERENCE_MODULES = sorted({*(p for p in (ROOT / "core" / "models").glob("*.py") if not p.stem.endswith("_fit")),
                            *(ROOT / "core" / "compress" / f for f in ("onnx_int8.py", "quantize.py", "prune.py",
                                                                      "storage.py"))})


@pytest.mark.parametrize("path", INFERENCE_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_inference_modules_never_import_training_code(path):
    """Classifier-side modules (and the compression steps a saved variant re-applies on load) never import the
    training loop, peft or a family's *_fit module, not even inside a function."""
    bad = {m for m in _imports(path) if m.split(".")[0] in ("accelerate", "peft") or m.endswith("_fit")
           or m == "core.train" or m.startswith(("core.trainer", "core.train."))}
    assert not bad, f"{path.name} imports training code: {sorted(bad)}"



@pytest.mark.parametrize("case", [c for c in COMPRESSED if c.endswith("-multilabel")])
def test_multilabel_variants_inherit_tuned_thresholds(zoo, case):
    """int8 / ONNX variants keep the teacher's per-label thresholds (tuned on validation); the ensemble of the
    teacher and the TF-IDF model averages its members' thresholds label by label."""
    from core import artifacts

    members = ["transformer-multilabel", *COMPRESSED[case][1].get("members", [])]
    for m in members:
        zoo[m]  # saved as an artifact on first use
    cuts = [np.asarray(artifacts.load_model(m).threshold) for m in members]
    assert all(c.shape == (4,) for c in cuts) and not np.allclose(cuts[0], 0.5)
    np.testing.assert_allclose(np.asarray(zoo[case].threshold), np.mean(cuts, axis=0))
