"""ONNX Runtime int8 variant of a torch classifier (pretrained encoders, shallow students, RNN, scratch transformer).

The "int8" compression method builds this by default when onnxruntime is installed (runtime=auto; runtime=torch
keeps torch's dynamic int8, core/models/variants.py); "int8-onnx" always does. Export: core/compress/onnx_export.py.

Why it exists: on the development CPU (AMD EPYC, AVX-512 VNNI) ONNX Runtime's dynamic int8 kernels ran one text
about 2x faster than torch's dynamic int8 linear layers (24 ms vs 56 ms p50 at 49 word pieces, 1 thread, on a busy
machine; measured with /tmp probes, repeat with `python -m core bench`). Export: the legacy TorchScript exporter
(`dynamo=False`, opset 17, dynamic batch and length axes) of a wrapper returning (logits, [CLS] state); then
`onnxruntime.quantization.quantize_dynamic` (int8 weights per output channel, activations quantized per call).

Stored (`OnnxClassifier.save`): model.onnx (int8 graph; ONNX protobuf, no pickle), tokenizer/ (HF, or the scratch
tokenizer of an rnn / scratch_transformer parent), onnx.json (`base_kind`, `runtime`: "onnxruntime").
It predicts and embeds ([CLS] state / pooled vector); it has no attention weights and no gradients: explainers that
need them run on the fp32 parent (core.lineage.capable_ancestor).
Long texts are read as the parent reads them: its chunking and stride (core.models.chunking) are copied into
onnx.json; an export made before chunking existed reads truncated texts.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import thresholds
from ..base import TextClassifier
from ..errors import ParamError
from ..progress import ProgressCallback

KIND = "onnx"
TITLE = "ONNX Runtime int8"
DESCRIPTION = "A torch classifier exported to ONNX and quantized to int8 with ONNX Runtime (prediction only)."
PARAMS: list = []
FORMAT = 1


class OnnxClassifier(TextClassifier):
    """HF tokenizer + ONNX Runtime session over (input_ids, attention_mask[, token_type_ids]) -> (logits, cls)."""

    kind = KIND

    def __init__(self, model_path: Path, tokenizer: Any, meta: dict[str, Any], threads: int | None = None) -> None:
        import onnxruntime as ort
        import torch

        self.model_bytes = Path(model_path).read_bytes()
        self.tokenizer = tokenizer
        self.meta = dict(meta)
        self.labels = list(meta["labels"])
        self.multilabel = bool(meta["multilabel"])
        self.threshold = thresholds.from_json(meta.get("threshold"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or torch.get_num_threads())  # follow the process's torch setting
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(self.model_bytes, opts, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    @property
    def hf(self) -> bool:
        """True for a pretrained-encoder export (HF tokenizer, chunked long texts); False for rnn / scratch."""
        return self.meta.get("base_kind", "transformer") == "transformer"

    @property
    def capabilities(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({"chunks", "embed", "tokens"} if self.hf else {"embed", "tokens"})

    def _feeds(self, texts: list[str]) -> dict[str, np.ndarray]:
        if not self.hf:
            return {k: v.numpy().astype(np.int64) for k, v in self.tokenizer.encode(texts).items()
                    if k in self.input_names}
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=int(self.meta["max_length"]),
                             return_tensors="np")
        return {k: np.asarray(enc[k], dtype=np.int64) for k in self.input_names}

    def _run(self, texts: Sequence[str], output: int, batch_size: int = 64) -> np.ndarray:
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        order = np.argsort([len(t) for t in texts], kind="stable")
        chunks = []
        for s in range(0, len(texts), batch_size):
            rows = order[s:s + batch_size]
            chunks.append(self.session.run(None, self._feeds([texts[i] for i in rows]))[output])
        if not chunks:
            return np.zeros((0, len(self.labels) if output == 0 else int(self.meta.get("hidden", 0))), np.float32)
        out = np.empty((len(texts), chunks[0].shape[1]), np.float32)
        out[order] = np.concatenate(chunks)
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        from ..models import chunking as ch
        from ..models.torch_base import logits_to_proba

        how = (self.meta.get("chunking") or ch.LEGACY_CHUNKING) if self.hf else "off"
        if how == "off" or not len(texts):
            return logits_to_proba(self._run(texts, 0), self.multilabel)
        w = self._windows(texts)
        logits = ch.aggregate_logits(self._window_logits(w), w.sample, len(texts), how, self.multilabel,
                                     logits_to_proba)
        return logits_to_proba(logits, self.multilabel)

    def _windows(self, texts: Sequence[str]):
        from ..models import chunking as ch

        return ch.windows(self.tokenizer, texts, int(self.meta["max_length"]),
                          int(self.meta.get("stride", ch.DEFAULT_STRIDE)))

    def _window_logits(self, w) -> np.ndarray:
        from ..models import chunking as ch

        run = lambda arrays: self.session.run(None, {k: arrays[k] for k in self.input_names})[0]  # noqa: E731
        return ch.window_logits(w, run, len(self.labels), int(self.meta["max_length"]),
                                self.tokenizer.pad_token_id or 0)

    def chunk_proba(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """"chunks": ([(start_char, end_char)] per window, (n_chunks, k) window probabilities)."""
        from ..models.torch_base import logits_to_proba

        if not self.hf:
            return super().chunk_proba(text)
        w = self._windows([text])
        return w.spans, logits_to_proba(self._window_logits(w), self.multilabel)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, hidden) [CLS] state of the final encoder layer (as the parent's embed(pooling="cls")); rnn /
        scratch transformer: the pooled vector that feeds the head (as the parent's embed)."""
        return self._run(texts, 1)

    def tokenize(self, text: str) -> list[str]:
        from ..models.transformer import split_words, text_words

        if not self.hf:
            return self.tokenizer.tokens(text)
        return text_words(self.tokenizer, *split_words(self.tokenizer, text, int(self.meta["max_length"]))[1:])

    def n_parameters(self) -> int:
        return int(self.meta.get("n_parameters", 0))

    @property
    def runtime(self) -> str:
        return "onnxruntime"

    def describe(self) -> str:
        return f"int8 ONNX Runtime graph of a {self.meta.get('base_kind', 'transformer')} model (dynamic int8)"

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "model.onnx").write_bytes(self.model_bytes)
        if self.hf:
            self.tokenizer.save_pretrained(directory / "tokenizer")
        else:
            self.tokenizer.save(directory / "tokenizer")
        (directory / "onnx.json").write_text(json.dumps({**self.meta, "format": FORMAT, "kind": KIND}, indent=2))

    @classmethod
    def load(cls, directory: Path) -> OnnxClassifier:
        from ..models import read_config

        directory = Path(directory)
        meta = read_config(directory / "onnx.json", FORMAT)
        if meta.get("base_kind", "transformer") == "transformer":
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(directory / "tokenizer", local_files_only=True)
        else:
            from ..tokenization import load_tokenizer

            tokenizer = load_tokenizer(directory / "tokenizer")
        return cls(directory / "model.onnx", tokenizer, meta)


CLASSIFIER = OnnxClassifier


def build_onnx(base: Any, progress: ProgressCallback, recipe: dict[str, Any] | None = None
               ) -> tuple[OnnxClassifier, dict]:
    """ONNX Runtime int8 classifier of `base`, an fp32 classifier of an exportable family (core.compress.onnx_export);
    `recipe` (of a compressed parent) may hold pruned heads, applied before the export."""
    from ..models.variants import CompressedClassifier
    from .onnx_export import export_int8

    recipe = dict(recipe or {})
    if recipe.get("pruned_heads"):
        base = CompressedClassifier(base, {"pruned_heads": recipe["pruned_heads"]}).base  # shrinks base in place
    progress(0, 2, "int8 (ONNX Runtime): exporting")
    tmp = Path(tempfile.mkdtemp(prefix="textlab-onnx-"))
    try:
        info = export_int8(base, tmp)
        progress(1, 2, "int8 (ONNX Runtime): quantizing")
        meta = {"labels": list(base.labels), "multilabel": base.multilabel,
                "threshold": thresholds.as_json(base.threshold),
                "n_parameters": base.n_parameters(), "base_kind": base.kind, "runtime": "onnxruntime",
                "quantization": "onnxruntime dynamic int8, per-channel weights"}
        if base.kind == "transformer":
            meta.update(max_length=base.max_length, hidden=base.hidden_size, chunking=base.chunking,
                        stride=int(base.config.get("stride", 0)))
        else:
            meta["hidden"] = int(getattr(base.net, "pooled_dim", 0) or 0)
        model = OnnxClassifier(tmp / "int8.onnx", base.tokenizer, meta)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    progress(2, 2, "int8 (ONNX Runtime): done")
    return model, info


def build_onnx_int8(teacher: Any, settings: dict[str, Any], progress: ProgressCallback) -> tuple[OnnxClassifier, dict]:
    """The int8-onnx method: export the teacher's fp32 family model and quantize it."""
    base, recipe = teacher.fresh()
    if recipe:
        raise ParamError("export the fp32 parent to ONNX (this model is already a compressed variant)")
    return build_onnx(base, progress)
