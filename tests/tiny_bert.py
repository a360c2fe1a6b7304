"""A tiny random BERT and a toy 4-topic dataset for the pretrained-encoder tests (no network, built in memory).

Plain helper functions (no fixtures) so any test file can import them:
    tiny_tokenizer() -> BertTokenizer over a ~110-token WordPiece vocabulary built here
    tiny_encoder(seed) -> BertModel (hidden 32, 2 layers, 2 heads, SDPA attention), random weights
    tiny_dataset(multilabel=False) -> TextDataset with topic words that make the labels learnable
    tiny_params(**overrides) -> resolved transformer params with small, fast settings
"""
from __future__ import annotations

import numpy as np

from core.data import Split, TextDataset

TOPICS = {
    "World": "war election minister president government army peace nation",
    "Sports": "game team win match season player coach goal",
    "Business": "market stock price company bank profit trade oil",
    "Tech": "software computer internet phone web chip data space",
}
FILLER = "the a of to in and on for with says new year first after over".split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_vocab() -> dict[str, int]:
    words = [w for ws in TOPICS.values() for w in ws.split()] + FILLER
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    pieces = ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"] + ["##s", "##ing", "##ed"]
    tokens = list(dict.fromkeys(SPECIAL + words + chars + pieces))
    return {t: i for i, t in enumerate(tokens)}


def tiny_tokenizer():
    from transformers import BertTokenizer  # the fast (tokenizers-backed) class in transformers 5

    return BertTokenizer(vocab=tiny_vocab(), do_lower_case=True)


def tiny_encoder(seed: int = 0):
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(tiny_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=48, max_position_embeddings=64, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0)
    cfg._attn_implementation = "sdpa"
    return BertModel(cfg).eval()


def _texts(rng: np.random.Generator, n: int, multilabel: bool) -> tuple[list[str], np.ndarray]:
    names = list(TOPICS)
    texts, ys = [], []
    for _ in range(n):
        if multilabel:
            y = (rng.random(len(names)) < 0.4).astype(np.int64)
            if not y.any():
                y[rng.integers(len(names))] = 1
            topics = [names[j] for j in np.flatnonzero(y)]
        else:
            y = int(rng.integers(len(names)))
            topics = [names[y]]
        words = [str(rng.choice(TOPICS[t].split())) for t in topics for _ in range(2)]
        words += [str(w) for w in rng.choice(FILLER, size=int(rng.integers(2, 6)))]
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + ".")
        ys.append(y)
    return texts, np.asarray(ys, dtype=np.int64)


def tiny_dataset(multilabel: bool = False, n_train: int = 96, seed: int = 0) -> TextDataset:
    rng = np.random.default_rng(seed)
    splits = [Split(*_texts(rng, n, multilabel)) for n in (n_train, 32, 32)]
    return TextDataset(name="tiny_topics", labels=list(TOPICS), train=splits[0], validation=splits[1],
                       test=splits[2], multilabel=multilabel)


def tiny_params(**overrides) -> dict:
    from core.models.transformer import PARAMS
    from core.params import resolve

    given = {"backbone": "tiny", "epochs": 3, "batch_size": 16, "evals_per_epoch": 1, "patience": 0,
             "max_length": 32, "lr": 3e-3, "restore_best": False, "grad_stats_every": 1000}
    given.update(overrides)
    return resolve(PARAMS, given)


def tiny_teacher(ds: TextDataset, epochs: int = 2):
    """A fine-tuned tiny-BERT "transformer" classifier on `ds` (finalized, eval mode)."""
    from core.models import transformer as T

    params = tiny_params(epochs=epochs)
    model = T.build(ds, params, encoder=tiny_encoder(), tokenizer=tiny_tokenizer())
    T.train(model, ds, params)
    model.finalize()
    return model
