"""Knowledge distillation: a smaller student learns from a teacher's probabilities.

Teacher: any classifier with `predict_proba`; its probabilities on the training split (plus optional extra
unlabelled texts, which join the training split with the teacher's argmax as their hard label) are the soft
targets. Loss (inside `core.trainer.train_loop`): α·CE(student, y) + (1 − α)·T²·KL(teacher_T || student_T), where
`_T` means softmax of logits / T (multi-label: BCE against the temperature-softened teacher sigmoid).

Students:
    shallow               a copy of a "transformer"-family teacher keeping only some encoder layers (default
                          0, 2, 4 of 6), its embeddings and (by default) its head; trained like the teacher
    rnn                   the recurrent family (BiLSTM by default) trained from scratch with the soft targets
    scratch_transformer   the small from-scratch transformer family, same way
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..base import TextClassifier
from ..data import Split, TextDataset
from ..errors import DataError, ParamError
from ..params import Param, resolve
from ..progress import ProgressCallback, null_progress

STUDENTS = ("shallow", "rnn", "scratch_transformer")
OWN_PARAMS: list[Param] = [
    Param("student", "shallow", "shallow copy of a transformer teacher, or a BiLSTM / scratch transformer",
          choices=STUDENTS),
    Param("layers", ["0", "2", "4"], "shallow student: teacher encoder layers to keep (0-based, comma separated)",
          type=list),
    Param("head_init", "copy", "shallow student: copy the teacher's head or start a new one", choices=("copy", "new")),
    Param("alpha", 0.5, "weight of the hard-label cross-entropy (1 - alpha goes to the teacher's soft targets)",
          min=0.0, max=1.0),
    Param("temperature", 2.0, "softening temperature T of teacher and student outputs", min=0.1, max=50.0),
    Param("max_train", 0, "train on a seeded sample of this many training rows (0 = all)", min=0),
    Param("extra_texts", "", "optional text file (one text per line) of unlabelled texts to add for the soft targets"),
    Param("max_extra", 20000, "at most this many extra texts", min=0, advanced=True),
]
#: student-family settings used when not given (BiLSTM as in the classic distillation-to-LSTM papers)
STUDENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "shallow": {"lr": 1e-4, "epochs": 2},
    "rnn": {"cell": "lstm", "bidirectional": True},
    "scratch_transformer": {},
}


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(distillation settings resolved against OWN_PARAMS, the rest: the student family's own settings)."""
    own_names = {p.name for p in OWN_PARAMS}
    own = resolve(OWN_PARAMS, {k: v for k, v in settings.items() if k in own_names})
    rest = {k: v for k, v in settings.items() if k not in own_names}
    return own, rest


def read_extra_texts(path: str, limit: int) -> list[str]:
    """Non-empty lines of a UTF-8 text file (at most `limit`)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"extra_texts: no file {p}")
    lines = [line.strip() for line in p.read_text(encoding="utf-8", errors="replace").splitlines()]
    return [t for t in lines if t][:limit]


def teacher_targets(teacher: TextClassifier, texts: list[str], progress: ProgressCallback = null_progress,
                    cache_key: str | None = None) -> np.ndarray:
    """(n, k) float32 teacher probabilities over `texts`.

    With `cache_key` (e.g. teacher name + creation time) they are kept in cache_dir()/distill/ (plain .npy), so a
    second student of the same teacher and rows does not pay for the teacher's inference again."""
    import hashlib
    import re

    from ..config import cache_dir
    from ..train import predict_in_chunks

    path = None
    if cache_key:
        h = hashlib.sha256("\0".join(texts).encode("utf-8", "replace")).hexdigest()[:16]
        folder = cache_dir() / "distill"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', cache_key)[:150]}-{h}.npy"
        if path.exists():
            cached = np.load(path, allow_pickle=False)
            if cached.shape[0] == len(texts):
                return cached
    out = predict_in_chunks(teacher, texts, progress, message="distill: teacher targets")
    if path is not None:
        np.save(path, out, allow_pickle=False)
    return out


def distill_dataset(ds: TextDataset, teacher: TextClassifier, own: dict[str, Any],
                    progress: ProgressCallback = null_progress, cache_key: str | None = None
                    ) -> tuple[TextDataset, np.ndarray, int]:
    """(training dataset (sampled, plus extra texts), the teacher's soft targets for its train split, n extra)."""
    from ..data import apply_max_train

    if own["max_train"] and own["max_train"] < len(ds.train):
        ds = apply_max_train(ds, int(own["max_train"]))
    texts = list(ds.train.texts)
    extra = read_extra_texts(own["extra_texts"], int(own["max_extra"])) if own["extra_texts"] else []
    soft = teacher_targets(teacher, texts + extra, progress, cache_key)
    if extra:
        p = soft[len(texts):]
        hard = (p >= getattr(teacher, "threshold", 0.5)).astype(np.int64) if ds.multilabel else p.argmax(1)
        y = np.concatenate([np.asarray(ds.train.y), hard.astype(np.asarray(ds.train.y).dtype)])
        ds = dataclasses.replace(ds, train=Split(texts + extra, y))
    return ds, soft, len(extra)


def shallow_copy(teacher: TextClassifier, layers: list[int], head_init: str = "copy") -> TextClassifier:
    """A "transformer"-family classifier with the teacher's embeddings, the chosen encoder layers (in order) and
    the teacher's head (copied) or a new head; every weight trainable."""
    from ..models.heads import build_head
    from ..models.transformer import EncoderClassifier, TransformerClassifier, _base_encoder

    if not isinstance(teacher, TransformerClassifier):
        raise ParamError(f"a shallow student needs a 'transformer'-family teacher, not {teacher.kind!r}; "
                         "use student=rnn or student=scratch_transformer")
    encoder = copy.deepcopy(_base_encoder(teacher.net.encoder))
    stack = encoder.encoder.layer
    n = len(stack)
    if not layers or any(i < 0 or i >= n for i in layers):
        raise ParamError(f"layers must be indices in 0..{n - 1}, got {layers}")
    encoder.encoder.layer = nn.ModuleList([stack[i] for i in layers])
    for new_idx, layer in enumerate(encoder.encoder.layer):
        for m in layer.modules():  # keep layer_idx consistent with the new position (used by caches only)
            if hasattr(m, "layer_idx"):
                m.layer_idx = new_idx
    encoder.config.num_hidden_layers = len(layers)
    if head_init == "copy":
        head = copy.deepcopy(teacher.net.head)
    else:
        cfg = teacher.config
        head = build_head(cfg["head"], int(encoder.config.hidden_size), len(teacher.labels),
                          **cfg.get("head_options", {}))
    student = TransformerClassifier(EncoderClassifier(encoder, head), teacher.tokenizer, teacher.labels,
                                    teacher.multilabel, {**teacher.config, "mode": "full", "lora": None},
                                    threshold=teacher.threshold)
    for p in student.net.parameters():
        p.requires_grad_(True)
    student.net.train()
    return student


def distill(teacher: TextClassifier, fresh_teacher: TextClassifier | None, ds: TextDataset, settings: dict[str, Any],
            progress: ProgressCallback = null_progress, cache_key: str | None = None
            ) -> tuple[TextClassifier, dict[str, Any]]:
    """Train a student on `ds` from `teacher`'s probabilities; returns (student, train_info).

    `fresh_teacher` is an fp32 copy of the teacher's own family (a shallow student copies its layers); it may be
    the teacher itself when the teacher is not a compressed variant. `cache_key` caches the teacher's
    probabilities (see `teacher_targets`).
    """
    from ..models import family
    from ..trainer import loop_config, train_loop

    own, rest = split_settings(settings)
    kind = own["student"]
    train_ds, soft, n_extra = distill_dataset(ds, teacher, own, progress, cache_key)
    knobs = {"soft_targets": soft, "alpha": float(own["alpha"]), "temperature": float(own["temperature"])}
    given = {**STUDENT_DEFAULTS[kind], **rest}
    info: dict[str, Any] = {"student": kind, "alpha": own["alpha"], "temperature": own["temperature"],
                            "train_rows": len(train_ds.train), "extra_texts": n_extra}
    if kind == "shallow":
        from ..models import transformer_fit as tf

        params = resolve(tf.PARAMS, {k: v for k, v in given.items() if k in {p.name for p in tf.PARAMS}})
        layers = [int(x) for x in own["layers"]]
        student = shallow_copy(fresh_teacher or teacher, layers, own["head_init"])
        if "max_length" in rest and params["max_length"]:  # otherwise the teacher's truncation length
            student.config["max_length"] = int(params["max_length"])
        cfg = loop_config({**params, "lr": params.get("lr") or 1e-4})
        groups = tf._param_groups(student, cfg.lr, params.get("head_lr") or cfg.lr, cfg.weight_decay)
        history = train_loop(student.net, student.encode, train_ds, cfg, progress, param_groups=groups,
                             family="transformer", **knobs)
        student.finalize()
        info.update(history=history, layers=layers, head_init=own["head_init"], lr=cfg.lr,
                    n_parameters=student.n_parameters())
        return student, info
    fam = family(kind)
    params = resolve(fam.PARAMS, given)
    student, fam_info = fam.fit(train_ds, params, progress, **knobs)
    info.update(fam_info)
    info["student_params"] = params
    return student, info


def kl_to_teacher(p_teacher: np.ndarray, p_student: np.ndarray) -> float:
    """Mean KL(teacher || student) over rows (nats); how far a student's outputs are from its teacher's."""
    p = np.clip(np.asarray(p_teacher, dtype=np.float64), 1e-9, 1.0)
    q = np.clip(np.asarray(p_student, dtype=np.float64), 1e-9, 1.0)
    return float(np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1)))
