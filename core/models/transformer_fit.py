"""Training of the pretrained-encoder family: settings (PARAMS), building an untrained classifier and `fit`.

Kept apart from core/models/transformer.py (the classifier: inference, explanations, save/load) so loading a
saved model never imports the training loop (core.trainer, accelerate) or peft. Modes and learning rates are
described in that module's docstring.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from ..coverage import backbone_coverage, measure
from ..data import TextDataset
from ..errors import ParamError
from ..params import Param
from ..progress import ProgressCallback, null_progress
from . import chunking as ch
from .heads import HEADS, build_head, head_options
from .transformer import (
    CLASSIFIER,
    DESCRIPTION,
    KIND,
    MODES,
    TITLE,
    EncoderClassifier,
    TransformerClassifier,
)

__all__ = ["KIND", "TITLE", "DESCRIPTION", "PARAMS", "CLASSIFIER", "AUTO_LR", "create", "build", "train", "fit",
           "auto_max_length", "vocabulary_coverage", "validation_units", "token_lengths"]

#: learning rate used when `lr` is 0 (auto), per mode
AUTO_LR = {"full": 5e-5, "frozen": 1e-2, "lora": 2e-3}


def _params() -> list[Param]:
    from ..trainer import loop_params

    own = [
        Param("backbone", "minilm-l6", "encoder: a known name (minilm-l6), a local save_pretrained folder or an "
              "'org/name' hub id (hub ids need internet)"),
        Param("head", "cls", "classification head over the token states", choices=tuple(HEADS)),
        Param("mode", "full", "full fine-tuning, frozen encoder (head only) or LoRA adapters", choices=MODES),
        Param("lora_r", 8, "LoRA rank", min=1, max=256),
        Param("lora_alpha", 16, "LoRA scaling alpha (update scaled by alpha / r)", min=1, max=1024),
        Param("lora_dropout", 0.1, "dropout on the LoRA input", min=0.0, max=0.9, advanced=True),
        Param("lora_target_modules", ["query", "value"], "module names that get LoRA adapters "
              "(BERT: query, key, value, dense)", type=list, advanced=True),
        Param("max_length", 0, "window in word pieces (0 = from the training texts: the smallest of "
              "16/32/64/128/256/512 covering 95% of them, at most 128 unless chunking is off: longer texts are "
              "read as windows)", min=0, max=8192),
        Param("chunking", ch.DEFAULT_CHUNKING, "texts longer than max_length: read as overlapping windows whose "
              "probabilities are averaged (mean) or maxed per class (max), or cut at max_length (off)",
              choices=ch.CHUNKINGS),
        Param("stride", ch.DEFAULT_STRIDE, "overlap of consecutive windows in word pieces (at most half a window)",
              min=0, max=4096, advanced=True),
        Param("train_windows", "random", "chunking on: a long training text is one of its windows drawn at random "
              "each epoch (random) or always its first window (first); validation reads it as prediction does",
              choices=ch.TRAIN_WINDOWS, advanced=True),
        Param("penalised_words", [], "attention head only: words whose pooling weight is pushed down "
              "(comma separated)", type=list, advanced=True),
        Param("penalty_strength", 2.0, "how much the pooling logit of a penalised word is lowered", min=0.0,
              max=100.0, advanced=True),
        Param("head_dropout", 0.1, "dropout before the head's linear layer", min=0.0, max=0.9, advanced=True),
        Param("head_lr", 0.0, "learning rate of the freshly initialised head (0 = auto: max(lr, 1e-3))", min=0.0,
              max=1.0, advanced=True),
    ]
    # epochs / evaluations from core.budget; 2,048 word pieces per forward pass (32 x 64) whatever the lengths
    loop = loop_params(epochs=0, evals_per_epoch=0, batch_size=32, patience=2, eval_batch_size=64,
                       max_batch_tokens=2048)
    # lr depends on the mode, so 0 means "pick by mode" (AUTO_LR)
    loop = [Param("lr", 0.0, "peak learning rate (0 = auto: 5e-5 full, 1e-2 frozen, 2e-3 LoRA)", min=0.0, max=1.0)
            if p.name == "lr" else p for p in loop]
    return own + loop


PARAMS: list[Param] = _params()


def _param_summary(n_trainable: int, n_total: int) -> str:
    """'75,268 of 22.8M trainable = 0.33%'."""
    total = f"{n_total / 1e6:.1f}M" if n_total >= 1e6 else f"{n_total / 1e3:.1f}k"
    return f"{n_trainable:,} of {total} trainable = {100 * n_trainable / max(n_total, 1):.2f}%"



def create(labels: list[str], multilabel: bool, *, backbone: str = "minilm-l6", head: str = "cls",
           mode: str = "full", max_length: int = 128, head_opts: dict | None = None,
           penalised_words: Sequence[str] = (), lora: dict | None = None, encoder: nn.Module | None = None,
           tokenizer: Any = None, chunking: str = ch.DEFAULT_CHUNKING, stride: int = ch.DEFAULT_STRIDE
           ) -> TransformerClassifier:
    """An untrained classifier. `encoder` / `tokenizer` may be passed directly (tests use a tiny BERT);
    otherwise they come from `core.backbones`. `lora`: {r, alpha, dropout, target_modules}. `chunking` / `stride`:
    how texts longer than max_length are read (core.models.chunking), saved with the model."""
    from .. import backbones

    if mode not in MODES:
        raise ParamError(f"mode must be one of {MODES}")
    if chunking not in ch.CHUNKINGS:
        raise ParamError(f"chunking must be one of {ch.CHUNKINGS}")
    if penalised_words and head != "attention":
        raise ParamError("penalised_words only works with head=attention (it lowers attention-pooling weights)")
    if encoder is None:
        encoder = backbones.load_encoder(backbone)
    if tokenizer is None:
        tokenizer = backbones.load_tokenizer(backbone)
    if not getattr(tokenizer, "is_fast", False):
        raise ParamError("the backbone needs a fast (Rust) tokenizer: word ids and offsets are used")
    hidden = int(encoder.config.hidden_size)
    head_opts = head_options(head, dict(head_opts or {}))
    head_mod = build_head(head, hidden, len(labels), **head_opts)
    config = {"backbone": backbone, "head": head, "head_options": head_opts, "mode": mode,
              "max_length": int(max_length), "penalised_words": list(penalised_words), "lora": None,
              "chunking": chunking, "stride": int(stride)}
    if mode == "frozen":
        for p in encoder.parameters():
            p.requires_grad_(False)
    elif mode == "lora":
        from peft import LoraConfig, get_peft_model

        lora = {"r": 8, "alpha": 16, "dropout": 0.1, "target_modules": ["query", "value"], **(lora or {})}
        encoder = get_peft_model(encoder, LoraConfig(r=int(lora["r"]), lora_alpha=int(lora["alpha"]),
                                                     lora_dropout=float(lora["dropout"]),
                                                     target_modules=list(lora["target_modules"]), bias="none"))
        config["lora"] = lora
    net = EncoderClassifier(encoder, head_mod, frozen=(mode == "frozen"))
    return TransformerClassifier(net, tokenizer, labels, multilabel, config)



def auto_max_length(texts: Sequence[str], tokenizer: Any, percentile: float = 95.0, sample: int = 2000,
                    limit: int = 512) -> int:
    """Truncation length covering `percentile`% of `texts` (word pieces incl. special tokens), rounded up to a
    multiple of 8 and clipped to [16, limit]. Uses a seeded sample of at most `sample` texts."""
    texts = list(texts)
    if not texts:
        return 128
    rng = np.random.default_rng(0)
    if len(texts) > sample:
        texts = [texts[i] for i in rng.choice(len(texts), sample, replace=False)]
    lengths = [len(ids) for ids in tokenizer(texts, truncation=False)["input_ids"]]
    n = int(np.ceil(np.percentile(lengths, percentile) / 8) * 8)
    return int(min(max(n, 16), limit))


def _resolve_max_length(dataset: TextDataset, tokenizer: Any, limit: int, requested: int,
                        chunking: str = ch.DEFAULT_CHUNKING) -> int:
    """The model's window in word pieces: `requested`, else the data's suggestion (16/32/.../512 covering 95% of
    the texts), at most ch.AUTO_WINDOW_CAP when chunking reads longer texts as windows (module docstring there);
    never over `limit` (the encoder's max_position_embeddings)."""
    if requested:
        return min(int(requested), limit)
    if chunking != "off":
        limit = min(limit, ch.AUTO_WINDOW_CAP)
    try:  # the data module's suggestion (the number the Dataset page shows: 16/32/64/128/... covering 95%)
        from ..data import suggest_max_length

        n = int(suggest_max_length(dataset, tokenizer))
    except ImportError:
        return auto_max_length(dataset.train.texts, tokenizer, limit=limit)
    return int(min(max(n, 16), limit))


def _param_groups(model: TransformerClassifier, lr: float, head_lr: float, weight_decay: float) -> list[dict]:
    """AdamW groups: encoder at `lr`, head at `head_lr`; no decay on biases / norms / embeddings."""
    groups = []
    for part, part_lr in ((model.net.encoder, lr), (model.net.head, head_lr)):
        decay, no_decay = [], []
        for name, p in part.named_parameters():
            if not p.requires_grad:
                continue
            (no_decay if p.ndim < 2 or "norm" in name.lower() or "embed" in name.lower() else decay).append(p)
        groups += [{"params": decay, "weight_decay": weight_decay, "lr": part_lr},
                   {"params": no_decay, "weight_decay": 0.0, "lr": part_lr}]
    return [g for g in groups if g["params"]]


def build(dataset: TextDataset, params: dict[str, Any], *, encoder: nn.Module | None = None,
          tokenizer: Any = None) -> TransformerClassifier:
    """An untrained classifier for `dataset` from resolved `params` (max_length resolved from the data)."""
    from .. import backbones

    tokenizer = tokenizer if tokenizer is not None else backbones.load_tokenizer(params["backbone"])
    encoder = encoder if encoder is not None else backbones.load_encoder(params["backbone"])
    chunking = params.get("chunking", ch.DEFAULT_CHUNKING)
    limit = int(getattr(encoder.config, "max_position_embeddings", 512) or 512)
    max_length = _resolve_max_length(dataset, tokenizer, limit, params.get("max_length", 0), chunking)
    lora = {"r": params["lora_r"], "alpha": params["lora_alpha"], "dropout": params["lora_dropout"],
            "target_modules": list(params["lora_target_modules"])}
    head_opts = {"dropout": params["head_dropout"], "penalty_strength": params["penalty_strength"]}
    return create(
        dataset.labels, dataset.multilabel, backbone=params["backbone"], head=params["head"], mode=params["mode"],
        max_length=max_length, head_opts=head_opts, penalised_words=params.get("penalised_words") or [],
        lora=lora, encoder=encoder, tokenizer=tokenizer, chunking=chunking,
        stride=params.get("stride", ch.DEFAULT_STRIDE))


def train(model: TransformerClassifier, dataset: TextDataset, params: dict[str, Any],
          progress: ProgressCallback | None = None) -> dict:
    """Run the shared loop on `model` (not finalized: LoRA adapters still separate); returns train_info."""
    from ..budget import head_lr as fresh_head_lr
    from ..trainer import loop_config, train_loop

    cfg = loop_config({**params, "lr": params.get("lr") or AUTO_LR[params["mode"]]})
    head_lr = params.get("head_lr") or fresh_head_lr(cfg.lr)  # a new head learns faster than the encoder
    groups = _param_groups(model, cfg.lr, head_lr, cfg.weight_decay)
    n_total = model.n_parameters()
    n_trainable = int(sum(p.numel() for p in model.net.parameters() if p.requires_grad))
    view = _window_view(model, dataset, params, cfg.seed)
    history = train_loop(model.net, model.encode, dataset, cfg, progress, param_groups=groups, family=KIND,
                         **view.loop_kwargs())
    return {
        "history": history,
        "backbone": params["backbone"], "mode": params["mode"], "head": params["head"],
        "max_length": model.max_length, "chunking": model.chunking, "stride": model.config["stride"], "lr": cfg.lr, "head_lr": head_lr,
        "n_parameters": n_total, "n_trainable": n_trainable,
        "trainable": _param_summary(n_trainable, n_total),
        "peak_memory_mb": history.get("peak_memory_mb"), "train_seconds": history.get("train_seconds"),
        "lora": model.config.get("lora"), "train_windows": view.as_dict(),
    }


class _WindowView:
    """How the loop reads long texts of a chunked model: `picker` (random training windows, or None) and, when
    `long_val` validation texts are longer than one window, validation by aggregated windows
    (TransformerClassifier.validation_logits)."""

    def __init__(self, model: TransformerClassifier, picker: ch.WindowPicker | None, long_val: int,
                 how: str) -> None:
        self.model, self.picker, self.long_val, self.how = model, picker, long_val, how

    def loop_kwargs(self) -> dict[str, Any]:
        return {"train_view": self.picker, "val_logits": self.model.validation_logits if self.long_val else None}

    def as_dict(self) -> dict[str, Any]:
        """Recorded in train_info: the setting, long training texts read as random windows, long validation texts."""
        return {"mode": self.how, "long_train_texts": len(self.picker) if self.picker else 0,
                "long_validation_texts": self.long_val, "validation_windows": ch.VAL_WINDOWS}


def _window_view(model: TransformerClassifier, dataset: TextDataset, params: dict[str, Any],
                 seed: int) -> _WindowView:
    """The long-text reading of the training loop (chunking off: none; texts that fit one window: none)."""
    how = params.get("train_windows", "random")
    if model.chunking == "off":
        return _WindowView(model, None, 0, "off")
    stride = int(model.config.get("stride", ch.DEFAULT_STRIDE))
    picker = ch.WindowPicker(model.tokenizer, dataset.train.texts, model.max_length, stride, seed) \
        if how == "random" else None
    long_val = len(ch.WindowPicker(model.tokenizer, dataset.validation.texts, model.max_length, stride))
    return _WindowView(model, picker if picker else None, long_val, how)


def fit(dataset: TextDataset, params: dict[str, Any], progress: ProgressCallback | None = None
        ) -> tuple[TransformerClassifier, dict]:
    """Build, train (best validation state kept) and finalize a classifier; returns (model, train_info)."""
    from ..trainer import seed_everything

    progress = progress or null_progress
    progress(0, 1, f"model: loading backbone {params['backbone']}")
    seed_everything(int(params.get("seed", 0)))
    model = build(dataset, params)
    coverage = measure(model.tokenizer, dataset.train.texts, params["backbone"])
    info = train(model, dataset, params, progress)
    info["backbone_coverage"] = coverage.as_dict()  # recorded in the manifest (core.train)
    model.finalize()
    return model, info


def _window(dataset: TextDataset, params: dict[str, Any], tokenizer: Any) -> int:
    """The max_length `build` will resolve for these params, without loading the encoder's weights."""
    from .. import backbones

    return _resolve_max_length(dataset, tokenizer, backbones.position_limit(params["backbone"]),
                               params.get("max_length", 0), params.get("chunking", ch.DEFAULT_CHUNKING))


def token_lengths(dataset: TextDataset, params: dict[str, Any]) -> np.ndarray:
    """Pre-flight hook (core.preflight): (n_train,) word pieces each training text is trained as (special
    tokens included, at most the resolved max_length, rounded up as `encode` pads: token_budget.padded_width),
    so the estimate sees the run's real batch widths."""
    from .. import backbones
    from .token_budget import padded_width

    tokenizer = backbones.load_tokenizer(params["backbone"])
    window = _window(dataset, params, tokenizer)
    texts = [t if isinstance(t, str) else str(t) for t in dataset.train.texts]
    lengths = [len(ids) for start in range(0, len(texts), 4096)  # bounded memory on big splits
               for ids in tokenizer(texts[start:start + 4096], truncation=True, max_length=window)["input_ids"]]
    return np.asarray([padded_width(n, window) for n in lengths], dtype=np.int64)


def validation_units(dataset: TextDataset, params: dict[str, Any]) -> int:
    """Pre-flight hook (core.preflight): forward passes of one validation -- a text each, a long text (chunking
    on) up to ch.VAL_WINDOWS windows (`_WindowView`, TransformerClassifier.validation_logits)."""
    from .. import backbones

    texts = list(dataset.validation.texts)
    chunking = params.get("chunking", ch.DEFAULT_CHUNKING)
    if chunking == "off" or not texts:
        return len(texts)
    tokenizer = backbones.load_tokenizer(params["backbone"])
    w = ch.windows(tokenizer, texts, _window(dataset, params, tokenizer), int(params.get("stride",
                                                                                         ch.DEFAULT_STRIDE)))
    return int(np.minimum(np.bincount(w.sample, minlength=len(texts)), ch.VAL_WINDOWS).sum())


def vocabulary_coverage(dataset: TextDataset, params: dict[str, Any]) -> dict[str, Any]:
    """Pre-flight hook (core.preflight): how well the backbone's vocabulary covers the training texts."""
    return backbone_coverage(params["backbone"], dataset.train.texts).as_dict()
