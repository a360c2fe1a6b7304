"""Training of the recurrent family: settings (PARAMS) and `fit` (the classifier is core/models/rnn.py)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..data import TextDataset
from ..errors import ParamError
from ..params import Param
from ..progress import ProgressCallback
from ..tokenization import build_tokenizer
from ..trainer import loop_config, loop_params, seed_everything, train_loop
from .embedding_init import CHOICES as EMBEDDING_CHOICES
from .embedding_init import extend_vocabulary, pretrained_start, resolve_source, tokenizer_kind
from .rnn import AGGREGATIONS, CELLS, CLASSIFIER, DESCRIPTION, KIND, TITLE, RNNClassifier, RNNNet
from .torch_base import tokenizer_params
from .tuned_rows import learned_rows

#: freeze_embeddings choices: which embedding rows stay at their pretrained start
FREEZE = ("none", "pretrained", "all")

__all__ = ["KIND", "TITLE", "DESCRIPTION", "OWN_PARAMS", "PARAMS", "CLASSIFIER", "fit"]

OWN_PARAMS: list[Param] = [
    Param("cell", "gru", "recurrent cell", choices=CELLS),
    Param("num_layers", 1, "stacked recurrent layers", min=1, max=6),
    Param("bidirectional", False, "read the text in both directions (about 2x slower per epoch)"),
    Param("aggregation", "attention", "how per-token states become one vector (concat = max + mean + last)",
          choices=AGGREGATIONS),
    Param("embed_dim", 128, "word embedding size", min=8, max=1024),
    Param("init_embeddings", "auto", "start the embeddings from pretrained vectors: auto = by the training texts' "
          "language (English -> minilm-l6 word pieces, Russian -> navec word vectors, else none); sets embed_dim "
          "to their size (384 / 300); works offline", choices=EMBEDDING_CHOICES),
    Param("freeze_embeddings", "none", "keep word vectors fixed while the rest learns: pretrained = only the rows "
          "that got a pretrained vector (words without one - punctuation, emoji, slang - still learn), all = every "
          "row; fixed vectors keep words seen in training next to the ones that were not", choices=FREEZE),
    Param("pretrained_vocab", False, "also put every word of the pretrained vectors (navec: ~230k more) in the word "
          "vocabulary, so words unseen in training keep their vector instead of <unk> (those rows stay fixed); "
          "larger artifact (~+280 MB)", advanced=True),
    Param("hidden_dim", 128, "recurrent state size (per direction)", min=8, max=2048),
    Param("dropout", 0.3, "dropout on embeddings, between layers and in the head", min=0.0, max=0.9),
    *tokenizer_params(max_length_limit=2048, auto=True),
]
# defaults from an AG News grid of one-change-at-a-time variants (core/experiments.py): a one-direction GRU
# with attention pooling over BPE tokens gave the best accuracy per second of the recurrent variants (tokenizer=auto
# keeps BPE there; under navec word vectors it builds a word vocabulary: embedding_init.TOKENIZER); epochs
# come from core.budget (at least 6, more for small data and many classes); 128 x 256 tokens per pass
PARAMS: list[Param] = OWN_PARAMS + loop_params(epochs=0, evals_per_epoch=0, batch_size=128, lr=4e-3,
                                               weight_decay=0.0, warmup_ratio=0.03, patience=3,
                                               max_batch_tokens=32768)


def fit(dataset: TextDataset, params: dict, progress: ProgressCallback | None = None,
        soft_targets: np.ndarray | None = None, **distill: Any) -> tuple[RNNClassifier, dict]:
    """Build the tokenizer on the training split, train with `core.trainer.train_loop`, return (model, info).
    `soft_targets` / `alpha` / `temperature` are passed to the loop (distillation into an RNN)."""
    cfg = loop_config(params)
    seed_everything(cfg.seed)
    choice = params.get("init_embeddings", "none")
    source = resolve_source(choice, dataset.train.texts)  # the pretrained start decides tokenizer=auto
    kind = tokenizer_kind(params["tokenizer"], source[0])
    tok = build_tokenizer(kind, dataset.train.texts, min_freq=params["min_freq"],
                          max_size=params["max_vocab"], vocab_size=params["bpe_vocab_size"],
                          lowercase=params["lowercase"], max_length=params["max_length"])
    n_training_rows = tok.vocab_size
    if params.get("pretrained_vocab"):
        tok = extend_vocabulary(tok, source[0])
    net_config = {k: params[k] for k in ("cell", "num_layers", "bidirectional", "aggregation", "embed_dim",
                                         "hidden_dim", "dropout")}
    net_config.update(vocab_size=tok.vocab_size, n_labels=dataset.n_labels)
    init, covered, init_record = pretrained_start(choice, tok, dataset.train.texts, resolved=source)
    if init is not None:
        net_config["embed_dim"] = int(init.shape[1])
    freeze = params.get("freeze_embeddings", "none")
    if freeze != "none" and init is None:
        raise ParamError("freeze_embeddings needs a pretrained start (init_embeddings), or the words stay random")
    learn = learned_rows(freeze, covered, n_training_rows, tok.vocab_size)
    if learn is not None:  # a fixed table + learned offsets for these rows (never the padding row)
        net_config["tuned_rows"] = int(learn[1:].sum())
    net = RNNNet(**net_config)
    if init is not None:
        with torch.no_grad():
            net.embedding.weight.copy_(init)
    if learn is not None:
        net.embedding.choose_rows(learn)
    encode = tok.cached(dataset.train.texts + dataset.validation.texts)
    history = train_loop(net, encode, dataset, cfg, progress, soft_targets=soft_targets, family=KIND,
                         trainable=(lambda name: not name.startswith("embedding.")) if freeze == "all" else None,
                         **distill)
    model = RNNClassifier(net, tok, dataset.labels, dataset.multilabel, net_config)
    info = {"history": history, "vocab_size": tok.vocab_size, "max_length": tok.max_length,
            "tokenizer": tok.kind}
    info["embedding_init"] = init_record
    if "coverage" in init_record:
        info["init_embeddings_coverage"] = init_record["coverage"]
    return model, info

