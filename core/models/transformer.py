"""Pretrained encoders (default all-MiniLM-L6-v2) fine-tuned with a pluggable head: full, frozen or LoRA.

Training (`fit`) builds the network, picks the trainable parameters by mode and runs the shared loop
(`core.trainer.train_loop`: dynamic padding, length-bucketed batches, best-on-validation checkpoint):
    full    every weight trains (default lr 5e-5)
    frozen  only the head trains; the encoder runs under no_grad in eval mode (default lr 1e-2: on AG News 2k
            rows a linear probe reached 85.2% at 1e-2 vs 77.9% at 1e-3 in the same 126 steps)
    lora    peft LoRA adapters on `lora_target_modules` (default query, value) + the head (default lr 2e-3:
            AG News 2k rows, 126 steps: 88.1% at 2e-3 vs 85.8% at 5e-4; full fine-tuning 88.5%);
            after training the adapters are merged into the encoder (`merge_and_unload`), so prediction costs
            exactly what a plain encoder costs and loading needs no peft and no base model
Prediction runs under torch.inference_mode() with SDPA attention; `attention()` switches the encoder to eager
attention for that one call (SDPA cannot return weights) under a lock.

Saved folder (`save` / `load`, never touches the network):
    classifier.json   labels, multilabel, threshold, head + options, mode, backbone name, max_length, ...
    head.safetensors  head weights
    encoder/          HF save_pretrained of the (merged) encoder
    tokenizer/        HF save_pretrained of the tokenizer
    adapter/          LoRA only: the peft adapter as trained (adapter_config.json + adapter_model.safetensors),
                      kept for provenance / reuse on the base backbone; loading uses the merged encoder/

Gradient hooks (for captum integrated gradients):
    clf.encode(texts) -> batch dict;  clf.embedding_layer() -> the word-embedding nn.Embedding
    clf.input_embeddings(texts) -> (inputs_embeds (B, T, H), batch)   word embeddings only; position and
        token-type embeddings are added inside the encoder, so these are the tensors to attribute to
    clf.forward_from_embeddings(inputs_embeds, attention_mask, token_type_ids=None, penalty_mask=None) -> logits (B, k)
e.g. `emb, batch = clf.input_embeddings([text])`, then
    `IntegratedGradients(clf.forward_from_embeddings).attribute(emb, baselines=torch.zeros_like(emb), target=c,
        additional_forward_args=(batch["attention_mask"], batch.get("token_type_ids")))`
(pass the mask through additional_forward_args: captum repeats it for every interpolation step).
"""
from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..base import Attention, TextClassifier
from ..data import TextDataset
from ..params import Param
from ..progress import ProgressCallback, null_progress
from .heads import HEADS, build_head, head_options

KIND = "transformer"
TITLE = "Pretrained encoder (MiniLM)"
DESCRIPTION = "Fine-tunes a pretrained encoder (all-MiniLM-L6-v2 by default) with a chosen head: full, frozen or LoRA."

MODES = ("full", "frozen", "lora")
#: learning rate used when `lr` is 0 (auto), per mode
AUTO_LR = {"full": 5e-5, "frozen": 1e-2, "lora": 2e-3}
POOLINGS = ("cls", "mean", "head")
FORMAT = 1


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
        Param("max_length", 0, "truncation length in word pieces (0 = from the training texts: the smallest of "
              "16/32/64/128/256/512 covering 95% of them)", min=0, max=8192),
        Param("penalised_words", [], "attention head only: words whose pooling weight is pushed down "
              "(comma separated)", type=list, advanced=True),
        Param("penalty_strength", 2.0, "how much the pooling logit of a penalised word is lowered", min=0.0,
              max=100.0, advanced=True),
        Param("head_dropout", 0.1, "dropout before the head's linear layer", min=0.0, max=0.9, advanced=True),
        Param("head_lr", 0.0, "learning rate of the head (0 = same as lr)", min=0.0, max=1.0, advanced=True),
    ]
    loop = loop_params(epochs=2, batch_size=32, evals_per_epoch=2, patience=2, eval_batch_size=64)
    # lr depends on the mode, so 0 means "pick by mode" (AUTO_LR)
    loop = [Param("lr", 0.0, "peak learning rate (0 = auto: 5e-5 full, 1e-2 frozen, 2e-3 LoRA)", min=0.0, max=1.0)
            if p.name == "lr" else p for p in loop]
    return own + loop


PARAMS: list[Param] = _params()


# ----------------------------------------------------------------------------------------------- word pieces
def word_groups(pieces: list[str], word_ids: list[int | None], text: str | None = None,
                offsets: list[tuple[int, int]] | None = None) -> tuple[list[str], list[int]]:
    """Merge word pieces into display words.

    Returns (words, index) where index[t] is the word of piece t. Special tokens ([CLS], [SEP]; word id None)
    stay words of their own. Word text comes from `text[offsets]` when given (keeps the original casing),
    else from the pieces with '##' stripped.
    """
    words: list[str] = []
    index: list[int] = []
    last: int | None = None
    start = 0  # character offset where the current word begins
    with_text = text is not None and offsets is not None
    for t, (piece, wid) in enumerate(zip(pieces, word_ids)):
        if wid is None or wid != last:  # a new word (or a special token)
            start = offsets[t][0] if with_text else 0
            words.append(text[start:offsets[t][1]] if with_text and wid is not None else piece)
        elif with_text:
            words[-1] = text[start:offsets[t][1]]
        else:
            words[-1] += piece[2:] if piece.startswith("##") else piece
        index.append(len(words) - 1)
        last = wid
    return words, index


def merge_pieces(weights: np.ndarray, index: list[int]) -> np.ndarray:
    """`core.explain.attention.merge_words` (the one piece -> word merge) as float32; `index` from `word_groups`."""
    from ..explain.attention import merge_words

    return merge_words(weights, index).astype(np.float32)


# ----------------------------------------------------------------------------------------------- network
class EncoderClassifier(nn.Module):
    """encoder (HF AutoModel) + head. `forward(**batch)` -> logits (B, k), the contract of the training loop."""

    def __init__(self, encoder: nn.Module, head: nn.Module, frozen: bool = False) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.frozen = frozen

    def train(self, mode: bool = True) -> EncoderClassifier:
        super().train(mode)
        if self.frozen:  # a frozen encoder keeps dropout off: its features must not change between steps
            self.encoder.eval()
        return self

    def run(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
            token_type_ids: torch.Tensor | None = None, penalty_mask: torch.Tensor | None = None,
            inputs_embeds: torch.Tensor | None = None, output_attentions: bool = False) -> dict[str, Any]:
        """Everything: logits, pooled, pooling weights, last hidden states (B, T, H), attentions (L × (B, H, T, T))."""
        kwargs: dict[str, Any] = {"attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        if inputs_embeds is not None:
            kwargs["inputs_embeds"] = inputs_embeds
        else:
            kwargs["input_ids"] = input_ids
        if output_attentions:
            kwargs["output_attentions"] = True
        if self.frozen and self.training and inputs_embeds is None:
            with torch.no_grad():  # no activations kept for backward: frozen training is several times faster
                out = self.encoder(**kwargs)
        else:
            out = self.encoder(**kwargs)
        states = out.last_hidden_state
        head = self.head(states, attention_mask, penalty_mask)
        return {"logits": head.logits, "pooled": head.pooled, "weights": head.weights, "states": states,
                "attentions": getattr(out, "attentions", None)}

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, penalty_mask: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        return self.run(input_ids, attention_mask, token_type_ids, penalty_mask, inputs_embeds)["logits"]


def _base_encoder(encoder: nn.Module) -> nn.Module:
    """The transformers model under a peft wrapper (or the encoder itself)."""
    return encoder.get_base_model() if hasattr(encoder, "get_base_model") else encoder


def _param_summary(n_trainable: int, n_total: int) -> str:
    """'75,268 of 22.8M trainable = 0.33%'."""
    total = f"{n_total / 1e6:.1f}M" if n_total >= 1e6 else f"{n_total / 1e3:.1f}k"
    return f"{n_trainable:,} of {total} trainable = {100 * n_trainable / max(n_total, 1):.2f}%"


# ----------------------------------------------------------------------------------------------- classifier
class TransformerClassifier(TextClassifier):
    """A pretrained encoder + head. Build with `TransformerClassifier.create(...)`, train with `fit`."""

    kind = KIND
    capabilities = frozenset({"attention", "embed", "gradients", "tokens"})

    def __init__(self, net: EncoderClassifier, tokenizer: Any, labels: list[str], multilabel: bool,
                 config: dict[str, Any], threshold: float = 0.5) -> None:
        self.net = net
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.multilabel = bool(multilabel)
        self.threshold = float(threshold)
        self.config = dict(config)  # backbone, head, head_options, mode, max_length, penalised_words, ...
        self.adapter_files: dict[str, bytes] = {}
        self._penalised = {w.lower() for w in self.config.get("penalised_words") or []}
        self._attn_lock = threading.Lock()

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, labels: list[str], multilabel: bool, *, backbone: str = "minilm-l6", head: str = "cls",
               mode: str = "full", max_length: int = 128, head_opts: dict | None = None,
               penalised_words: Sequence[str] = (), lora: dict | None = None, encoder: nn.Module | None = None,
               tokenizer: Any = None) -> TransformerClassifier:
        """An untrained classifier. `encoder` / `tokenizer` may be passed directly (tests use a tiny BERT);
        otherwise they come from `core.backbones`. `lora`: {r, alpha, dropout, target_modules}."""
        from .. import backbones

        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if penalised_words and head != "attention":
            raise ValueError("penalised_words only works with head=attention (it lowers attention-pooling weights)")
        if encoder is None:
            encoder = backbones.load_encoder(backbone)
        if tokenizer is None:
            tokenizer = backbones.load_tokenizer(backbone)
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("the backbone needs a fast (Rust) tokenizer: word ids and offsets are used")
        hidden = int(encoder.config.hidden_size)
        head_opts = head_options(head, dict(head_opts or {}))
        head_mod = build_head(head, hidden, len(labels), **head_opts)
        config = {"backbone": backbone, "head": head, "head_options": head_opts, "mode": mode,
                  "max_length": int(max_length), "penalised_words": list(penalised_words), "lora": None}
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
        return cls(net, tokenizer, labels, multilabel, config)

    def finalize(self) -> None:
        """After training: merge LoRA adapters into the encoder (keeping the adapter files for `save`), unfreeze
        the flag used by training, switch to eval mode."""
        enc = self.net.encoder
        if hasattr(enc, "merge_and_unload"):
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                enc.save_pretrained(tmp)
                self.adapter_files = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}
            self.net.encoder = enc.merge_and_unload()
        self.net.frozen = False
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.net.eval()

    # ------------------------------------------------------------------ tokenisation
    @property
    def max_length(self) -> int:
        return int(self.config.get("max_length") or 128)

    def encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenise one batch, padded to its longest text (dynamic padding) and truncated to max_length.
        Adds `penalty_mask` (B, T) 0/1 when penalised words are set."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt",
                             return_offsets_mapping=bool(self._penalised))
        batch = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
        if self._penalised:
            batch["penalty_mask"] = self._penalty_mask(enc, texts)
        return batch

    def _penalty_mask(self, enc: Any, texts: list[str]) -> torch.Tensor:
        offsets = enc["offset_mapping"].tolist()
        mask = torch.zeros(enc["input_ids"].shape, dtype=torch.float32)
        for i, text in enumerate(texts):
            wids = enc.word_ids(i)
            spans: dict[int, list[int]] = {}
            for t, w in enumerate(wids):
                if w is not None:
                    spans.setdefault(w, []).append(t)
            for ts in spans.values():
                word = text[offsets[i][ts[0]][0]:offsets[i][ts[-1]][1]].lower()
                if word in self._penalised:
                    mask[i, ts] = 1.0
        return mask

    def _pieces_and_words(self, text: str) -> tuple[dict[str, torch.Tensor], list[str], list[str], list[int]]:
        enc = self.tokenizer([text], truncation=True, max_length=self.max_length, return_tensors="pt",
                             return_offsets_mapping=True)
        pieces = self.tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
        offsets = [tuple(o) for o in enc["offset_mapping"][0].tolist()]
        words, index = word_groups(pieces, enc.word_ids(0), text, offsets)
        batch = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
        if self._penalised:
            batch["penalty_mask"] = self._penalty_mask(enc, [text])
        return batch, pieces, words, index

    def pieces(self, text: str) -> list[str]:
        """The word pieces the encoder sees, including [CLS] / [SEP] (truncated to max_length)."""
        return self._pieces_and_words(text)[1]

    def tokenize(self, text: str) -> list[str]:
        """Words (word pieces merged, original casing, special tokens dropped): the units explanations use."""
        _, pieces, words, index = self._pieces_and_words(text)
        special = set(self.tokenizer.all_special_tokens)
        keep = {index[t] for t, p in enumerate(pieces) if p not in special}
        return [w for i, w in enumerate(words) if i in keep]

    # ------------------------------------------------------------------ inference
    def predict_logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(n, k) float32 logits (length-sorted batches, inference mode)."""
        from ..trainer import predict_logits

        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        return predict_logits(self.net, self.encode, texts, batch_size)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        from ..trainer import logits_to_proba

        return logits_to_proba(self.predict_logits(texts), self.multilabel)

    @torch.inference_mode()
    def embed(self, texts: Sequence[str], pooling: str = "cls", batch_size: int = 64) -> np.ndarray:
        """(n, D) sentence vectors from the final encoder layer: "cls" ([CLS] state, D = hidden), "mean"
        (mean over real tokens, D = hidden) or "head" (the head's pooled vector, what its linear layer reads)."""
        from .heads import masked_mean

        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}")
        texts = list(texts)
        self.net.eval()
        order = np.argsort([len(t) for t in texts], kind="stable")
        chunks = []
        for s in range(0, len(texts), batch_size):
            rows = order[s:s + batch_size]
            batch = self.encode([texts[i] for i in rows])
            out = self.net.run(**batch)
            if pooling == "cls":
                v = out["states"][:, 0]
            elif pooling == "mean":
                v = masked_mean(out["states"], batch["attention_mask"])
            else:
                v = out["pooled"]
            chunks.append(v.float().numpy())
        if not chunks:
            return np.zeros((0, self.hidden_size), np.float32)
        res = np.empty((len(texts), chunks[0].shape[1]), np.float32)
        res[order] = np.concatenate(chunks)
        return res

    @property
    def hidden_size(self) -> int:
        return int(_base_encoder(self.net.encoder).config.hidden_size)

    def _set_attn(self, impl: str) -> None:
        model = _base_encoder(self.net.encoder)
        if hasattr(model, "set_attn_implementation"):
            model.set_attn_implementation(impl)
        else:  # older transformers
            model.config._attn_implementation = impl

    def attention(self, text: str, kind: str = "self", merge: bool = True) -> Attention:
        """Attention of one text.

        kind="self": every layer and head, weights (L, H, T, T), rows sum to 1. Computed with eager attention
        (SDPA cannot return weights); the encoder switches back to SDPA afterwards.
        kind="pooling": the attention head's pooling weights (T,).
        merge=True: T counts words (pieces merged by `merge_pieces`, [CLS]/[SEP] kept), `pieces` holds the raw
        pieces; merge=False: T counts pieces and `tokens` are the pieces.
        """
        batch, pieces, words, index = self._pieces_and_words(text)
        if kind == "pooling":
            if self.config["head"] != "attention":
                raise ValueError("pooling weights exist only for head=attention")
            with torch.inference_mode():
                self.net.eval()
                w = self.net.run(**batch)["weights"][0].float().numpy()
        elif kind == "self":
            with self._attn_lock, torch.inference_mode():
                self.net.eval()
                current = getattr(_base_encoder(self.net.encoder).config, "_attn_implementation", "sdpa")
                self._set_attn("eager")
                try:
                    atts = self.net.run(**batch, output_attentions=True)["attentions"]
                finally:
                    self._set_attn(current)
            if not atts:
                raise RuntimeError("the encoder returned no attention weights")
            w = torch.stack([a[0] for a in atts]).float().numpy()  # (L, H, T, T)
        else:
            raise ValueError("kind must be 'self' or 'pooling'")
        if not merge:
            return Attention(tokens=pieces, weights=w.astype(np.float32), kind=kind, pieces=list(pieces))
        return Attention(tokens=words, weights=merge_pieces(w, index), kind=kind, pieces=list(pieces))

    # ------------------------------------------------------------------ gradients (captum)
    def embedding_layer(self) -> nn.Module:
        """The encoder's word-embedding layer (for captum LayerIntegratedGradients)."""
        return _base_encoder(self.net.encoder).get_input_embeddings()

    def input_embeddings(self, texts: Sequence[str]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(inputs_embeds (B, T, H) word embeddings, batch) for `forward_from_embeddings`."""
        batch = self.encode(list(texts))
        with torch.no_grad():
            emb = self.embedding_layer()(batch["input_ids"])
        return emb.detach(), batch

    def forward_from_embeddings(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor,
                                token_type_ids: torch.Tensor | None = None,
                                penalty_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, k) from word embeddings (B, T, H), differentiable (eval mode, gradients on)."""
        self.net.eval()
        return self.net(attention_mask=attention_mask, token_type_ids=token_type_ids, penalty_mask=penalty_mask,
                        inputs_embeds=inputs_embeds)

    # ------------------------------------------------------------------ bookkeeping
    def n_parameters(self) -> int:
        return int(sum(p.numel() for p in self.net.parameters()))

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        enc = self.net.encoder
        if hasattr(enc, "merge_and_unload"):
            raise RuntimeError("call finalize() before save(): LoRA adapters are merged into the saved encoder")
        enc.save_pretrained(directory / "encoder")
        self.tokenizer.save_pretrained(directory / "tokenizer")
        state = {k: v.detach().contiguous() for k, v in self.net.head.state_dict().items()}
        save_file(state, str(directory / "head.safetensors"))
        if self.adapter_files:
            (directory / "adapter").mkdir(exist_ok=True)
            for name, data in self.adapter_files.items():
                (directory / "adapter" / name).write_bytes(data)
        meta = {"format": FORMAT, "kind": KIND, "labels": self.labels, "multilabel": self.multilabel,
                "threshold": self.threshold, **self.config}
        (directory / "classifier.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path) -> TransformerClassifier:
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        directory = Path(directory)
        meta = json.loads((directory / "classifier.json").read_text())
        if meta.get("format", 1) > FORMAT:
            raise ValueError(f"{directory} was written by a newer version (format {meta['format']})")
        tokenizer = AutoTokenizer.from_pretrained(directory / "tokenizer", local_files_only=True)
        # use_safetensors: an artifact's encoder is always safetensors; never fall back to a pickled .bin
        encoder = AutoModel.from_pretrained(directory / "encoder", attn_implementation="sdpa",
                                            local_files_only=True, use_safetensors=True).eval()
        head = build_head(meta["head"], int(encoder.config.hidden_size), len(meta["labels"]),
                          **meta.get("head_options", {}))
        head.load_state_dict(load_file(str(directory / "head.safetensors")))
        config = {k: meta[k] for k in ("backbone", "head", "head_options", "mode", "max_length", "penalised_words",
                                       "lora") if k in meta}
        clf = cls(EncoderClassifier(encoder, head), tokenizer, meta["labels"], meta["multilabel"], config,
                  threshold=meta.get("threshold", 0.5))
        adapter = directory / "adapter"
        if adapter.is_dir():
            clf.adapter_files = {p.name: p.read_bytes() for p in adapter.iterdir() if p.is_file()}
        clf.finalize()
        return clf


CLASSIFIER = TransformerClassifier


# ----------------------------------------------------------------------------------------------- training
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


def _resolve_max_length(dataset: TextDataset, tokenizer: Any, encoder: nn.Module, requested: int) -> int:
    limit = int(getattr(encoder.config, "max_position_embeddings", 512) or 512)
    if requested:
        return min(int(requested), limit)
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
    max_length = _resolve_max_length(dataset, tokenizer, encoder, params.get("max_length", 0))
    lora = {"r": params["lora_r"], "alpha": params["lora_alpha"], "dropout": params["lora_dropout"],
            "target_modules": list(params["lora_target_modules"])}
    head_opts = {"dropout": params["head_dropout"], "penalty_strength": params["penalty_strength"]}
    return TransformerClassifier.create(
        dataset.labels, dataset.multilabel, backbone=params["backbone"], head=params["head"], mode=params["mode"],
        max_length=max_length, head_opts=head_opts, penalised_words=params.get("penalised_words") or [],
        lora=lora, encoder=encoder, tokenizer=tokenizer)


def train(model: TransformerClassifier, dataset: TextDataset, params: dict[str, Any],
          progress: ProgressCallback | None = None) -> dict:
    """Run the shared loop on `model` (not finalized: LoRA adapters still separate); returns train_info."""
    from ..trainer import loop_config, train_loop

    cfg = loop_config({**params, "lr": params.get("lr") or AUTO_LR[params["mode"]]})
    head_lr = params.get("head_lr") or cfg.lr
    groups = _param_groups(model, cfg.lr, head_lr, cfg.weight_decay)
    n_total = model.n_parameters()
    n_trainable = int(sum(p.numel() for p in model.net.parameters() if p.requires_grad))
    history = train_loop(model.net, model.encode, dataset, cfg, progress, param_groups=groups)
    return {
        "history": history,
        "backbone": params["backbone"], "mode": params["mode"], "head": params["head"],
        "max_length": model.max_length, "lr": cfg.lr, "head_lr": head_lr,
        "n_parameters": n_total, "n_trainable": n_trainable,
        "trainable": _param_summary(n_trainable, n_total),
        "peak_memory_mb": history.get("peak_memory_mb"), "train_seconds": history.get("train_seconds"),
        "lora": model.config.get("lora"),
    }


def fit(dataset: TextDataset, params: dict[str, Any], progress: ProgressCallback | None = None
        ) -> tuple[TransformerClassifier, dict]:
    """Build, train (best validation state kept) and finalize a classifier; returns (model, train_info)."""
    from ..trainer import seed_everything

    progress = progress or null_progress
    progress(0, 1, f"model: loading backbone {params['backbone']}")
    seed_everything(int(params.get("seed", 0)))
    model = build(dataset, params)
    info = train(model, dataset, params, progress)
    model.finalize()
    return model, info
