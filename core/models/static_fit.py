"""Building a static-embedding student (core/models/static.py) from a pretrained-encoder ("transformer") teacher.

Steps (after model2vec, Tulkens & van Dongen 2024; rebuilt here with torch at build time, numpy at run time):
 1. Token vectors: every vocabulary id t goes through the encoder on its own, framed by the tokenizer's special
    tokens ([CLS] t [SEP] for BERT), in batches of `token_batch`; the vector is the mean of the final hidden states
    over those positions (`pooling=mean`, as model2vec), the state at t's position (`token`) or at [CLS] (`cls`,
    the default: on AG News with the fine-tuned MiniLM teacher and an MLP head, 86.2% vs 84.2% for mean pooling
    with a linear head; cls + linear 83.9%).
    The encoder is the fine-tuned teacher's (`encoder=teacher`) or its pretrained backbone (`encoder=base`).
 2. PCA to `dims` dimensions (sklearn; fitted on the non-special rows; no whitening).
 3. Frequency weighting (SIF, Arora et al. 2017): row t is scaled by a / (a + p(t)), p(t) = (count(t) + 1) /
    (N + V) from the token counts of the training texts, a = `sif_coefficient`. Frequent tokens ("the", ",")
    fade out of the mean, rare topical tokens keep full weight (model2vec's Zipf weighting does the same from
    vocabulary rank when no corpus is given; here the training texts are always at hand). `weighting=none` skips it.
 4. Storage: int8 rows with per-row scales by default (the table is most of the file), decoded to float32.
 5. Head: the teacher's probabilities over the training texts (computed once, batched, cached like distillation's)
    are the targets of a linear / ReLU-MLP head on the standardised mean vectors: loss
    alpha * CE(student, y) + (1 - alpha) * T^2 * KL(teacher_T || student_T) (multi-label: BCE against the
    teacher's sigmoid outputs), Adam, `epochs` epochs (at least MIN_STEPS updates on small training sets).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import thresholds
from ..errors import ParamError
from ..params import Param
from ..progress import ProgressCallback, null_progress
from .static import STORAGES, StaticClassifier, encode_rows

MIN_STEPS = 300
#: pooling -> (states (B, T, H), slot of the token) -> (B, H)
POOLINGS: dict[str, Any] = {"mean": lambda st, pos: st.mean(1), "token": lambda st, pos: st[:, pos],
                            "cls": lambda st, pos: st[:, 0]}
PARAMS: list[Param] = [
    Param("encoder", "teacher", "encoder the token vectors come from: the fine-tuned teacher or its pretrained "
          "backbone", choices=("teacher", "base")),
    Param("dims", 256, "PCA dimensions of the token vectors", min=2, max=4096),
    Param("pooling", "cls", "token vector: the [CLS] state (what a fine-tuned head reads), the mean of the output "
          "states (model2vec's choice) or the token's own state", choices=("cls", "mean", "token")),
    Param("weighting", "sif", "scale token vectors by a / (a + p(token)) (SIF) or not", choices=("sif", "none")),
    Param("sif_coefficient", 1e-3, "a of the SIF weighting", min=1e-8, max=1.0, advanced=True),
    Param("storage", "int8", "how the token table is stored (int8 rows with per-row scales, float16, float32)",
          choices=STORAGES),
    Param("hidden", 256, "hidden units of the head's ReLU layer (0 = linear head, which also gives exact token "
          "contributions)", min=0, max=4096),
    Param("epochs", 30, "head training epochs", min=1, max=1000),
    Param("lr", 3e-3, "head learning rate (Adam)", min=1e-6, max=1.0),
    Param("batch_size", 128, "head training batch size", min=1),
    Param("alpha", 0.5, "weight of the hard-label loss (1 - alpha goes to the teacher's probabilities)",
          min=0.0, max=1.0),
    Param("temperature", 1.0, "softening temperature T of teacher and student outputs", min=0.1, max=50.0),
    Param("max_train", 0, "use a seeded sample of this many training rows (0 = all)", min=0),
    Param("max_tokens", 512, "tokens read per text (the rest is ignored)", min=1),
    Param("token_batch", 512, "vocabulary tokens per encoder batch while distilling the vectors", min=1,
          advanced=True),
    Param("seed", 0, "seed of the head's initialisation and batch order", min=0, advanced=True),
]


def token_vectors(teacher: Any, encoder: Any, pooling: str, batch: int,
                  progress: ProgressCallback = null_progress) -> tuple[np.ndarray, np.ndarray]:
    """((V, H) float32 encoder vector of every vocabulary id, (V,) bool: is a special token)."""
    import torch

    tok = teacher.tokenizer
    n_vocab = len(tok)
    special = np.zeros(n_vocab, bool)
    special[[i for i in tok.all_special_ids if i < n_vocab]] = True
    template, pos = _template(tok, special)
    ids = torch.tensor(template, dtype=torch.long).repeat(n_vocab, 1)
    ids[:, pos] = torch.arange(n_vocab)
    out = np.zeros((n_vocab, int(encoder.config.hidden_size)), np.float32)
    encoder.eval()
    with torch.inference_mode():
        for s in range(0, n_vocab, batch):
            progress(s, n_vocab, "static: token vectors")
            x = ids[s:s + batch]
            kw = {"input_ids": x, "attention_mask": torch.ones_like(x)}
            if "token_type_ids" in tok.model_input_names:
                kw["token_type_ids"] = torch.zeros_like(x)
            states = encoder(**kw).last_hidden_state
            out[s:s + len(x)] = POOLINGS[pooling](states, pos).float().numpy()
    progress(n_vocab, n_vocab, "static: token vectors")
    return out, special


def _template(tok: Any, special: np.ndarray) -> tuple[list[int], int]:
    """(ids of a one-token text as the tokenizer frames it, e.g. [CLS] t [SEP], the index of t's slot)."""
    for i in np.flatnonzero(~special)[:5000]:
        ids = list(tok(tok.decode([int(i)]))["input_ids"])
        slots = [j for j, x in enumerate(ids) if x < len(special) and not special[x]]
        if len(slots) == 1:
            return ids, slots[0]
    raise ParamError("could not find how the tokenizer frames a one-token text")


def sif_weights(counts: np.ndarray, a: float) -> np.ndarray:
    """(V,) SIF weights a / (a + p) with add-one smoothed unigram probabilities p from `counts` (V,)."""
    p = (counts + 1.0) / (counts.sum() + len(counts))
    return (a / (a + p)).astype(np.float32)


def reduce(vectors: np.ndarray, special: np.ndarray, dims: int, seed: int = 0) -> np.ndarray:
    """PCA of the non-special rows to min(dims, H, rows) dimensions; special rows become zeros."""
    from sklearn.decomposition import PCA

    rows = np.flatnonzero(~special)
    k = int(min(dims, vectors.shape[1], len(rows)))
    pca = PCA(n_components=k, random_state=seed).fit(vectors[rows])
    out = np.zeros((len(vectors), k), np.float32)
    out[rows] = pca.transform(vectors[rows]).astype(np.float32)
    return out


def train_head(x: np.ndarray, soft: np.ndarray, y: np.ndarray, multilabel: bool, p: dict[str, Any],
               progress: ProgressCallback = null_progress) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[float]]:
    """Head [(W (out, in), b (out,)), ...] on standardised features x (n, d); returns (layers, loss per epoch)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    g = torch.Generator().manual_seed(int(p["seed"]))
    torch.manual_seed(int(p["seed"]))
    k, hidden = soft.shape[1], int(p["hidden"])
    layers: list[nn.Module] = [nn.Linear(x.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, k)] if hidden else \
        [nn.Linear(x.shape[1], k)]
    net = nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=float(p["lr"]), weight_decay=1e-5)
    xt, st = torch.from_numpy(x), torch.from_numpy(np.asarray(soft, np.float32))
    yt = torch.from_numpy(np.asarray(y)).long() if not multilabel else torch.from_numpy(np.asarray(y, np.float32))
    alpha, temp, bs = float(p["alpha"]), float(p["temperature"]), int(p["batch_size"])
    # small training sets: at least MIN_STEPS updates, so the head converges whatever the number of rows
    epochs = max(int(p["epochs"]), -(-MIN_STEPS // -(-len(x) // bs)))
    history = []
    for epoch in range(epochs):
        progress(epoch, epochs, "static: training the head")
        total = 0.0
        for idx in torch.randperm(len(xt), generator=g).split(bs):
            z = net(xt[idx])
            if multilabel:
                hard = F.binary_cross_entropy_with_logits(z, yt[idx])
                t = torch.sigmoid(torch.logit(st[idx].clamp(1e-6, 1 - 1e-6)) / temp)
                soft_loss = F.binary_cross_entropy_with_logits(z / temp, t) * temp ** 2
            else:
                hard = F.cross_entropy(z, yt[idx])
                t = torch.softmax(torch.log(st[idx].clamp_min(1e-9)) / temp, dim=1)
                soft_loss = F.kl_div(F.log_softmax(z / temp, dim=1), t, reduction="batchmean") * temp ** 2
            loss = alpha * hard + (1 - alpha) * soft_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history.append(round(total / len(xt), 6))
    progress(epochs, epochs, "static: training the head")
    lin = [m for m in net if isinstance(m, nn.Linear)]
    return [(m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in lin], history


def token_counts(model: StaticClassifier, texts: list[str]) -> np.ndarray:
    """(V,) how often each vocabulary id occurs in `texts` (special tokens excluded by the tokenizer call)."""
    ids = model.token_ids(texts)
    flat = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    return np.bincount(flat, minlength=model.embeddings.shape[0]).astype(np.float64)[:model.embeddings.shape[0]]


def cached_token_vectors(fresh: Any, encoder: Any, p: dict[str, Any], progress: ProgressCallback,
                         cache_key: str | None) -> tuple[np.ndarray, np.ndarray]:
    """`token_vectors`, kept in cache_dir()/static/ (plain .npy) under `cache_key` + encoder + pooling, so another
    student of the same teacher (other dims, weighting or head) skips the pass over the vocabulary."""
    import re

    from ..config import cache_dir

    if not cache_key:
        return token_vectors(fresh, encoder, p["pooling"], int(p["token_batch"]), progress)
    folder = cache_dir() / "static"
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{cache_key}-{p['encoder']}-{p['pooling']}")[:180]
    vec, spec = folder / f"{stem}.npy", folder / f"{stem}.special.npy"
    if vec.exists() and spec.exists():
        return np.load(vec, allow_pickle=False), np.load(spec, allow_pickle=False)
    vectors, special = token_vectors(fresh, encoder, p["pooling"], int(p["token_batch"]), progress)
    np.save(vec, vectors, allow_pickle=False)
    np.save(spec, special, allow_pickle=False)
    return vectors, special


def build(teacher: Any, fresh: Any, texts: list[str], y: np.ndarray, soft: np.ndarray, p: dict[str, Any],
          progress: ProgressCallback = null_progress, cache_key: str | None = None
          ) -> tuple[StaticClassifier, dict[str, Any]]:
    """The static student of `teacher` (probabilities `soft` (n, k) over `texts`) from `fresh`, an fp32
    "transformer"-family copy whose tokenizer and encoder give the token vectors (cached under `cache_key`)."""
    from .transformer import TransformerClassifier, _base_encoder

    if not isinstance(fresh, TransformerClassifier):
        raise ParamError(f"a static student needs a 'transformer'-family teacher (a tokenizer and an encoder), "
                         f"not {fresh.kind!r}")
    if p["encoder"] == "base":
        from ..backbones import load_encoder

        encoder = load_encoder(fresh.config["backbone"])
    else:
        encoder = _base_encoder(fresh.net.encoder)
    vectors, special = cached_token_vectors(fresh, encoder, p, progress, cache_key)
    progress(0, 1, "static: PCA")
    table = reduce(vectors, special, int(p["dims"]), int(p["seed"]))
    meta = {"labels": list(teacher.labels), "multilabel": bool(teacher.multilabel),
            "threshold": thresholds.as_json(getattr(teacher, "threshold", 0.5)), "max_tokens": int(p["max_tokens"]),
            "storage": p["storage"], "pooling": p["pooling"], "weighting": p["weighting"], "encoder": p["encoder"],
            "backbone": fresh.config.get("backbone")}
    tokenizer_json = fresh.tokenizer.backend_tokenizer.to_str()
    k, d = len(teacher.labels), table.shape[1]
    ident = [(np.zeros((k, d), np.float32), np.zeros(k, np.float32))]
    probe = StaticClassifier(tokenizer_json, {"embeddings": table}, ident, np.zeros(d), np.ones(d), meta)
    weights = np.ones(len(table), np.float32)
    if p["weighting"] == "sif":
        weights = sif_weights(token_counts(probe, texts), float(p["sif_coefficient"]))
    stored = encode_rows(table * weights[:, None], p["storage"])
    probe = StaticClassifier(tokenizer_json, stored, ident, np.zeros(d), np.ones(d), meta)
    x = probe.embed(texts)
    mu, sigma = x.mean(0), x.std(0) + 1e-6
    head, history = train_head((x - mu) / sigma, soft, y, bool(teacher.multilabel), p, progress)
    model = StaticClassifier(tokenizer_json, stored, head, mu, sigma, meta)
    info = {"vocabulary": int(len(table)), "dims": int(d), "train_rows": len(texts), "history": history,
            "agreement_train": _agreement(model.predict_proba(texts), soft, model)}
    return model, info


def _agreement(p_student: np.ndarray, p_teacher: np.ndarray, model: StaticClassifier) -> float:
    """Share of rows (multi-label: of label decisions) where student and teacher decide the same."""
    if model.multilabel:
        return float(np.mean((p_student >= model.threshold) == (p_teacher >= model.threshold)))
    return float(np.mean(p_student.argmax(1) == p_teacher.argmax(1)))
