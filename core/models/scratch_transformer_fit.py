"""Training of the from-scratch transformer family: settings (PARAMS), cross-setting checks and `fit`
(the classifier is core/models/scratch_transformer.py)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data import TextDataset
from ..params import Param, ParamError
from ..progress import ProgressCallback
from ..tokenization import build_tokenizer
from ..trainer import loop_config, loop_params, seed_everything, train_loop
from .scratch_transformer import CLASSIFIER, DESCRIPTION, KIND, TITLE, ScratchTransformerClassifier, TransformerNet
from .torch_base import tokenizer_params

__all__ = ["KIND", "TITLE", "DESCRIPTION", "OWN_PARAMS", "PARAMS", "CLASSIFIER", "check_params", "fit"]

OWN_PARAMS: list[Param] = [
    Param("num_layers", 2, "encoder layers", min=1, max=12),
    Param("num_heads", 4, "attention heads per layer (must divide d_model)", min=1, max=32),
    Param("d_model", 128, "token vector width", min=16, max=1024),
    Param("ff_dim", 256, "width of the feed-forward sub-layer", min=16, max=8192),
    Param("dropout", 0.1, "dropout on embeddings, attention and sub-layer outputs", min=0.0, max=0.9),
    Param("positional", "learned", "learned position vectors or fixed sinusoids", choices=("learned", "sinusoidal")),
    Param("pooling", "mean", "sentence vector: mean of the tokens or a <cls> token", choices=("mean", "cls")),
    *tokenizer_params(max_length_limit=1024),
]
PARAMS: list[Param] = OWN_PARAMS + loop_params(epochs=0, evals_per_epoch=0, batch_size=64, lr=1e-3,
                                               weight_decay=0.01, warmup_ratio=0.1, patience=2,
                                               max_batch_tokens=16384)  # epochs 0: core.budget plans them


def check_params(params: dict) -> dict:
    """Cross-setting checks, run by core.train.run and the Train page before any work starts."""
    if params["d_model"] % params["num_heads"]:
        raise ParamError(f"num_heads ({params['num_heads']}) must divide d_model ({params['d_model']})")
    return params


def fit(dataset: TextDataset, params: dict, progress: ProgressCallback | None = None,
        soft_targets: np.ndarray | None = None, **distill: Any) -> tuple[ScratchTransformerClassifier, dict]:
    """Train the tokenizer on the training split, then the encoder with `core.trainer.train_loop`."""
    cfg = loop_config(params)
    seed_everything(cfg.seed)
    check_params(params)
    tok = build_tokenizer(params["tokenizer"], dataset.train.texts, min_freq=params["min_freq"],
                          max_size=params["max_vocab"], vocab_size=params["bpe_vocab_size"],
                          lowercase=params["lowercase"], add_cls=params["pooling"] == "cls",
                          max_length=params["max_length"])
    net_config = {k: params[k] for k in ("num_layers", "num_heads", "d_model", "ff_dim", "dropout", "positional",
                                         "pooling")}
    net_config.update(vocab_size=tok.vocab_size, n_labels=dataset.n_labels, max_positions=tok.max_length)
    net = TransformerNet(**net_config)
    encode = tok.cached(dataset.train.texts + dataset.validation.texts)
    history = train_loop(net, encode, dataset, cfg, progress, soft_targets=soft_targets, family=KIND, **distill)
    model = ScratchTransformerClassifier(net, tok, dataset.labels, dataset.multilabel, net_config)
    info = {"history": history, "vocab_size": tok.vocab_size, "max_length": tok.max_length, "tokenizer": tok.kind}
    return model, info
