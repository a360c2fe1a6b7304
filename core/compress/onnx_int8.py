"""ONNX Runtime int8 variant of a pretrained-encoder ("transformer") classifier.

Why it exists: on the development CPU (AMD EPYC, AVX-512 VNNI) ONNX Runtime's dynamic int8 kernels ran one text
about 2x faster than torch's dynamic int8 linear layers (24 ms vs 56 ms p50 at 49 word pieces, 1 thread, on a busy
machine; measured with /tmp probes, repeat with `python -m core bench`). Export: the legacy TorchScript exporter
(`dynamo=False`, opset 17, dynamic batch and length axes) of a wrapper returning (logits, [CLS] state); then
`onnxruntime.quantization.quantize_dynamic` (int8 weights per output channel, activations quantized per call).

Stored (`OnnxClassifier.save`): model.onnx (int8 graph; ONNX protobuf, no pickle), tokenizer/ (HF), onnx.json.
It predicts and embeds ([CLS] state); it has no attention weights and no gradients (use the parent for those).
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
DESCRIPTION = "A transformer classifier exported to ONNX and quantized to int8 with ONNX Runtime (prediction only)."
PARAMS: list = []
FORMAT = 1
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxClassifier(TextClassifier):
    """HF tokenizer + ONNX Runtime session over (input_ids, attention_mask[, token_type_ids]) -> (logits, cls)."""

    kind = KIND
    capabilities = frozenset({"chunks", "embed", "tokens"})

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

    def _feeds(self, texts: list[str]) -> dict[str, np.ndarray]:
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

        how = self.meta.get("chunking") or ch.LEGACY_CHUNKING
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

        w = self._windows([text])
        return w.spans, logits_to_proba(self._window_logits(w), self.multilabel)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, hidden) [CLS] state of the final encoder layer (as the parent's embed(pooling="cls"))."""
        return self._run(texts, 1)

    def tokenize(self, text: str) -> list[str]:
        from ..models.transformer import split_words, text_words

        return text_words(self.tokenizer, *split_words(self.tokenizer, text, int(self.meta["max_length"]))[1:])

    def n_parameters(self) -> int:
        return int(self.meta.get("n_parameters", 0))

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "model.onnx").write_bytes(self.model_bytes)
        self.tokenizer.save_pretrained(directory / "tokenizer")
        (directory / "onnx.json").write_text(json.dumps({**self.meta, "format": FORMAT, "kind": KIND}, indent=2))

    @classmethod
    def load(cls, directory: Path) -> OnnxClassifier:
        from transformers import AutoTokenizer

        from ..models import read_config

        directory = Path(directory)
        meta = read_config(directory / "onnx.json", FORMAT)
        tokenizer = AutoTokenizer.from_pretrained(directory / "tokenizer", local_files_only=True)
        return cls(directory / "model.onnx", tokenizer, meta)


CLASSIFIER = OnnxClassifier


def export_int8(model: Any, folder: Path, per_channel: bool = True) -> dict[str, Any]:
    """Export a TransformerClassifier to `folder`/fp32.onnx and quantize it to `folder`/int8.onnx."""
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from ..models.transformer import TransformerClassifier

    if not isinstance(model, TransformerClassifier):
        raise ParamError(f"ONNX export supports 'transformer'-family models, not {model.kind!r}")
    if model.config.get("penalised_words"):
        raise ParamError("ONNX export does not support penalised_words (an extra input of the attention head)")
    net = model.net.eval()
    batch = model.encode(["an example text for tracing the graph"])
    names = [k for k in INPUTS if k in batch]

    class Wrap(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, *args: torch.Tensor):
            out = self.net.run(**dict(zip(names, args)))
            return out["logits"], out["states"][:, 0]

    axes = {k: {0: "batch", 1: "tokens"} for k in names}
    axes.update(logits={0: "batch"}, cls={0: "batch"})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Wrap().eval(), tuple(batch[k] for k in names), str(folder / "fp32.onnx"), dynamo=False,
                          input_names=names, output_names=["logits", "cls"], dynamic_axes=axes, opset_version=17)
    quantize_dynamic(str(folder / "fp32.onnx"), str(folder / "int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=per_channel)
    return {"inputs": names, "fp32_mb": (folder / "fp32.onnx").stat().st_size / 1e6,
            "int8_mb": (folder / "int8.onnx").stat().st_size / 1e6}


def build_onnx_int8(teacher: Any, settings: dict[str, Any], progress: ProgressCallback) -> tuple[OnnxClassifier, dict]:
    """The int8-onnx method: export the teacher's fp32 family model and quantize it."""
    base, recipe = teacher.fresh()
    if recipe:
        raise ParamError("export the fp32 parent to ONNX (this model is already a compressed variant)")
    progress(0, 2, "int8-onnx: exporting")
    tmp = Path(tempfile.mkdtemp(prefix="textlab-onnx-"))
    try:
        info = export_int8(base, tmp)
        progress(1, 2, "int8-onnx: quantizing")
        meta = {"labels": list(base.labels), "multilabel": base.multilabel, "threshold": thresholds.as_json(base.threshold),
                "max_length": base.max_length, "hidden": base.hidden_size, "n_parameters": base.n_parameters(),
                "chunking": base.chunking, "stride": int(base.config.get("stride", 0)),
                "base_kind": base.kind, "quantization": "onnxruntime dynamic int8, per-channel weights"}
        model = OnnxClassifier(tmp / "int8.onnx", base.tokenizer, meta)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    progress(2, 2, "int8-onnx: done")
    return model, info
