"""Pretrained encoders (default all-MiniLM-L6-v2) fine-tuned with a pluggable head: full, frozen or LoRA.

This module is the classifier (inference, explanations, save/load); settings, `build`, `train` and `fit` live in
core/models/transformer_fit.py and are re-exported from here on first use (`transformer.fit`), so loading a saved
model never imports the training loop or peft.

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
    clf.gradient_target() -> core.base.GradientTarget (what core.explain.gradients uses)
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

import bisect
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import thresholds
from ..base import WORD_PATTERN, Attention, GradientTarget, TextClassifier
from ..errors import CapabilityError, ParamError
from . import chunking as ch
from . import read_config, training_attributes
from .heads import build_head
from .token_budget import WIDTH_MULTIPLE
from .torch_base import logits_to_proba, predict_logits, torch_gradient_target
from .transformer_net import EncoderClassifier, _base_encoder  # noqa: F401 - re-exported

KIND = "transformer"
TITLE = "Pretrained encoder (MiniLM)"
DESCRIPTION = "Fine-tunes a pretrained encoder (all-MiniLM-L6-v2 by default) with a chosen head: full, frozen or LoRA."

MODES = ("full", "frozen", "lora")
POOLINGS = ("cls", "mean", "head")
FORMAT = 1

#: names defined by the training module core/models/transformer_fit.py, imported from it on first use
__getattr__ = training_attributes(__name__, ".transformer_fit", {
    "PARAMS", "AUTO_LR", "create", "build", "train", "fit", "auto_max_length", "_param_groups", "_param_summary",
    "vocabulary_coverage", "validation_units", "token_lengths"})


# ----------------------------------------------------------------------------------------------- word pieces
def word_groups(pieces: list[str], word_ids: list[int | None], text: str | None = None,
                offsets: list[tuple[int, int]] | None = None) -> tuple[list[str], list[int]]:
    """Merge word pieces into display words.

    Returns (words, index) where index[t] is the word of piece t. Special tokens ([CLS], [SEP]; word id None)
    stay words of their own. With `text` and `offsets`, pieces are grouped by the `core.base.simple_tokenize`
    word they fall in (so "isn't" and "John's" stay one word although BERT splits them into three) and the word
    text comes from `text` (original casing); otherwise by the tokenizer's word ids, '##' stripped.
    """
    if text is not None and offsets is not None:
        spans = [m.span() for m in WORD_PATTERN.finditer(text)]
        starts = [a for a, _ in spans]
        word_ids = [None if wid is None else max(bisect.bisect_right(starts, offsets[t][0]) - 1, 0)
                    for t, wid in enumerate(word_ids)]
    words: list[str] = []
    index: list[int] = []
    last: int | None = None
    for piece, wid in zip(pieces, word_ids):
        if wid is None or wid != last:  # a new word (or a special token)
            words.append(text[spans[wid][0]:spans[wid][1]] if offsets is not None and text is not None
                         and wid is not None else piece)
        elif text is None or offsets is None:
            words[-1] += piece[2:] if piece.startswith("##") else piece
        index.append(len(words) - 1)
        last = wid
    return words, index


def merge_pieces(weights: np.ndarray, index: list[int]) -> np.ndarray:
    """`core.explain.attention.merge_words` (the one piece -> word merge) as float32; `index` from `word_groups`."""
    from ..explain.attention import merge_words

    return merge_words(weights, index).astype(np.float32)


def split_words(tokenizer: Any, text: str, max_length: int) -> tuple[Any, list[str], list[str], list[int]]:
    """(tokenizer output for [text] as pt tensors with offsets, pieces, words, index) with `word_groups`."""
    enc = tokenizer([text], truncation=True, max_length=max_length, return_tensors="pt", return_offsets_mapping=True)
    pieces = tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    words, index = word_groups(pieces, enc.word_ids(0), text, [tuple(o) for o in enc["offset_mapping"][0].tolist()])
    return enc, pieces, words, index


def text_words(tokenizer: Any, pieces: list[str], words: list[str], index: list[int]) -> list[str]:
    """`words` without the special tokens ([CLS], [SEP]): the units explanations are shown on."""
    special = set(tokenizer.all_special_tokens)
    keep = {index[t] for t, p in enumerate(pieces) if p not in special}
    return [w for i, w in enumerate(words) if i in keep]


# ----------------------------------------------------------------------------------------------- classifier
class TransformerClassifier(TextClassifier):
    """A pretrained encoder + head. Build with `transformer_fit.create(...)` / `build(...)`, train with `fit`."""

    kind = KIND
    capabilities = frozenset({"attention", "chunks", "embed", "gradients", "tokens"})

    def __init__(self, net: EncoderClassifier, tokenizer: Any, labels: list[str], multilabel: bool,
                 config: dict[str, Any], threshold: float = 0.5) -> None:
        self.net = net
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.multilabel = bool(multilabel)
        self.threshold = thresholds.from_json(threshold)
        self.config = dict(config)  # backbone, head, head_options, mode, max_length, penalised_words, chunking, ...
        self.adapter_files: dict[str, bytes] = {}
        self._penalised = {w.lower() for w in self.config.get("penalised_words") or []}
        self._attn_lock = threading.Lock()

    # ------------------------------------------------------------------ construction
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
        """A batch cut to max_length, padded to a multiple of token_budget.WIDTH_MULTIPLE (its gcd with max_length):
        few shapes per run; one text is not padded (explanations read it piece by piece). + penalty_mask (B, T)."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        multiple = int(np.gcd(WIDTH_MULTIPLE, self.max_length)) if len(texts) > 1 else None
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt",
                             pad_to_multiple_of=multiple, return_offsets_mapping=bool(self._penalised))
        batch = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
        if self._penalised:
            batch["penalty_mask"] = self._penalty_mask(enc, texts)
        return batch

    def _penalty_mask(self, enc: Any, texts: list[str]) -> torch.Tensor:
        rows = [ch.word_mask(enc, i, text, self._penalised) for i, text in enumerate(texts)]
        return torch.tensor(rows, dtype=torch.float32).reshape(enc["input_ids"].shape)

    def _pieces_and_words(self, text: str) -> tuple[dict[str, torch.Tensor], list[str], list[str], list[int]]:
        enc, pieces, words, index = split_words(self.tokenizer, text, self.max_length)
        batch = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
        if self._penalised:
            batch["penalty_mask"] = self._penalty_mask(enc, [text])
        return batch, pieces, words, index

    def pieces(self, text: str) -> list[str]:
        """The word pieces the encoder sees, including [CLS] / [SEP] (truncated to max_length)."""
        return self._pieces_and_words(text)[1]

    def tokenize(self, text: str) -> list[str]:
        """Words (word pieces merged, original casing, special tokens dropped): the units explanations use."""
        return text_words(self.tokenizer, *self._pieces_and_words(text)[1:])

    # ------------------------------------------------------------------ inference
    @property
    def chunking(self) -> str:
        """How a text longer than max_length is read: "off" (truncated), "mean" or "max" (core.models.chunking)."""
        return str(self.config.get("chunking") or ch.LEGACY_CHUNKING)

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(n, k) float32 logits (length-sorted batches, inference mode). With chunking on, a text longer than
        max_length gets the logits of its aggregated window probabilities (`core.models.chunking`)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        if self.chunking == "off":
            return predict_logits(self.net, self.encode, texts, batch_size)
        w = self._windows(texts)
        return ch.aggregate_logits(self._window_logits(w), w.sample, len(texts), self.chunking, self.multilabel,
                                   logits_to_proba)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return logits_to_proba(self.predict_logits(texts), self.multilabel)

    def validation_logits(self, texts: Sequence[str], on_batch: Callable[[int, int], None] | None = None,
                          most: int = ch.VAL_WINDOWS) -> np.ndarray:
        """(n, k) logits as `predict_logits` reads texts, with at most `most` evenly spread windows per long text
        (`ch.spread`): the training loop's validation, which runs many times and must stay cheap."""
        w = ch.spread(self._windows(list(texts)), most)
        return ch.aggregate_logits(self._window_logits(w, on_batch), w.sample, len(texts), self.chunking,
                                   self.multilabel, logits_to_proba)

    def _windows(self, texts: Sequence[str]) -> ch.Windows:
        return ch.windows(self.tokenizer, texts, self.max_length, int(self.config.get("stride",
                                ch.DEFAULT_STRIDE)), self._penalised or None)

    @torch.inference_mode()
    def _window_logits(self, w: ch.Windows, on_batch: Callable[[int, int], None] | None = None) -> np.ndarray:
        from ..precision import autocast

        self.net.eval()

        def run(arrays: dict[str, np.ndarray]) -> np.ndarray:
            with autocast():  # bf16 on CPUs that have it (core.precision), else a no-op
                return self.net(**{k: torch.from_numpy(v) for k, v in arrays.items()}).float().numpy()

        return ch.window_logits(w, run, len(self.labels), self.max_length, self.tokenizer.pad_token_id or 0,
                                on_batch)

    def chunk_proba(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """"chunks": ([(start_char, end_char)] of each window of `text`, (n_chunks, k) window probabilities).
        Windows of max_length word pieces overlapping by the model's stride, whatever its chunking setting."""
        w = self._windows([text])
        return w.spans, logits_to_proba(self._window_logits(w), self.multilabel)

    @torch.inference_mode()
    def embed(self, texts: Sequence[str], pooling: str = "cls", batch_size: int = 64) -> np.ndarray:
        """(n, D) sentence vectors from the final encoder layer: "cls" ([CLS] state, D = hidden), "mean"
        (mean over real tokens, D = hidden) or "head" (the head's pooled vector, what its linear layer reads)."""
        from .heads import masked_mean

        if pooling not in POOLINGS:
            raise ParamError(f"pooling must be one of {POOLINGS}")
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
                raise CapabilityError("pooling weights exist only for head=attention")
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
            raise ParamError("kind must be 'self' or 'pooling'")
        if not merge:
            return Attention(tokens=pieces, weights=w.astype(np.float32), kind=kind, pieces=list(pieces))
        return Attention(tokens=words, weights=merge_pieces(w, index), kind=kind, pieces=list(pieces))

    # ------------------------------------------------------------------ gradients (captum)
    def gradient_target(self) -> GradientTarget:
        """Integrated-gradients hooks: the network, its word-embedding layer, the word pieces as tokens (the
        explainer merges them into words), [PAD] as baseline with [CLS] / [SEP] kept."""
        return torch_gradient_target(self.net, self.encode, self.embedding_layer(), self.pieces, self.tokenizer)

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
                "threshold": thresholds.as_json(self.threshold), **self.config}
        (directory / "classifier.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path) -> TransformerClassifier:
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        directory = Path(directory)
        meta = read_config(directory / "classifier.json", FORMAT)
        tokenizer = AutoTokenizer.from_pretrained(directory / "tokenizer", local_files_only=True)
        # use_safetensors: an artifact's encoder is always safetensors; never fall back to a pickled .bin
        encoder = AutoModel.from_pretrained(directory / "encoder", attn_implementation="sdpa",
                                            local_files_only=True, use_safetensors=True).eval()
        head = build_head(meta["head"], int(encoder.config.hidden_size), len(meta["labels"]),
                          **meta.get("head_options", {}))
        head.load_state_dict(load_file(str(directory / "head.safetensors")))
        config = {k: meta[k] for k in ("backbone", "head", "head_options", "mode", "max_length", "penalised_words",
                                       "lora", "chunking", "stride") if k in meta}
        config.setdefault("chunking", ch.LEGACY_CHUNKING)  # saved before chunking: read as trained
        clf = cls(EncoderClassifier(encoder, head), tokenizer, meta["labels"], meta["multilabel"], config,
                  threshold=thresholds.from_json(meta.get("threshold")))
        adapter = directory / "adapter"
        if adapter.is_dir():
            clf.adapter_files = {p.name: p.read_bytes() for p in adapter.iterdir() if p.is_file()}
        clf.finalize()
        return clf


CLASSIFIER = TransformerClassifier
