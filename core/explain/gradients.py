"""Integrated gradients (captum LayerIntegratedGradients on the input embedding layer).

Hook a family implements to get this explainer (and declares the "gradients" capability):

    def gradient_target(self) -> core.explain.gradients.GradientTarget   # or a dict with the same keys

    GradientTarget(
        forward,      # (input_ids LongTensor (B, T), attention_mask LongTensor (B, T)) -> logits (B, k);
                      # a pure function of its inputs (model in eval mode, no dropout), differentiable
        embedding,    # the torch.nn.Module producing token embeddings (nn.Embedding, before positions);
                      # IG integrates along its output from baseline to input
        encode,       # text -> (input_ids (1, T), attention_mask (1, T), tokens: list[str] of length T);
                      # tokens are what is shown (word pieces "##x" are merged into words here)
        baseline_id=0,     # token id filling the baseline (the pad id is the usual choice)
        keep_ids=(),       # ids left unchanged in the baseline, e.g. (cls_id, sep_id) for BERT
    )

Models without `gradient_target()` still work when they follow the torch families' conventions
(core.models.torch_base / transformer): `model.encode([text]) -> {"input_ids", "attention_mask", ...}`,
`model.embedding_layer` (a module, or a method returning it), `model.net(**batch) -> logits`, and the display
tokens from `model.pieces(text)` or `model.tokenizer.tokens(text)`; the pad id (tokenizer.pad_token_id, else 0)
is the baseline and special-token positions ([CLS], <cls>, [SEP]) are kept in it (`adapter_target`).

Example of an explicit hook for a Hugging Face encoder: forward = lambda ids, m: hf_model(input_ids=ids, attention_mask=m).logits,
embedding = hf_model.get_input_embeddings(), encode tokenises with the model's tokenizer and returns
tokenizer.convert_ids_to_tokens(ids). For an RNN: embedding = self.embedding, forward runs the network.
Attributions are for the class logit by default (output="logit"); output="proba" differentiates the
softmax (sigmoid when multilabel) probability instead. Completeness: sum(values) ~= f(x) - f(baseline);
the gap is returned as extra["delta"].
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base import CapabilityError
from .attention import merge_pieces
from .attribution import TokenAttribution

DEFAULT_STEPS = 32


@dataclass
class GradientTarget:
    """What integrated gradients needs from a torch model (see the module docstring)."""

    forward: Callable[[Any, Any], Any]
    embedding: Any
    encode: Callable[[str], tuple[Any, Any, list[str]]]
    baseline_id: int = 0
    keep_ids: tuple[int, ...] = ()


def adapter_target(model) -> GradientTarget:
    """GradientTarget from the torch families' conventions (see the module docstring)."""
    import torch

    layer = model.embedding_layer
    embedding = layer if isinstance(layer, torch.nn.Module) else layer()
    net = model.net
    extra: dict = {}

    def encode(text: str):
        batch = dict(model.encode([text]))
        ids, mask = batch.pop("input_ids"), batch.pop("attention_mask")
        extra.clear()
        extra.update(batch)  # token_type_ids, penalty_mask ...: repeated to the IG batch in forward
        if hasattr(model, "pieces"):
            tokens = list(model.pieces(text))
        elif hasattr(getattr(model, "tokenizer", None), "tokens"):
            tokens = list(model.tokenizer.tokens(text))
        else:
            tokens = list(model.tokenizer.convert_ids_to_tokens(ids[0].tolist()))
        tokens = tokens[: ids.shape[1]] + ["<pad>"] * max(0, ids.shape[1] - len(tokens))
        return ids, mask, tokens

    def forward(ids, mask):
        kwargs = {k: v.expand(ids.shape[0], *v.shape[1:]) if torch.is_tensor(v) else v for k, v in extra.items()}
        out = net(input_ids=ids, attention_mask=mask, **kwargs)
        return out.logits if hasattr(out, "logits") else out

    tok = getattr(model, "tokenizer", None)
    pad = getattr(tok, "pad_token_id", None)
    return GradientTarget(forward, embedding, encode, baseline_id=int(pad) if pad is not None else 0,
                          keep_ids=_special_ids(tok))


def _special_ids(tok) -> tuple[int, ...]:
    ids = [getattr(tok, a, None) for a in ("cls_token_id", "sep_token_id", "bos_token_id", "eos_token_id")]
    if hasattr(tok, "add_cls"):  # core.tokenization scratch tokenizers: <cls> = 2
        from ..tokenization import CLS_ID

        ids.append(CLS_ID)
    return tuple(int(i) for i in ids if i is not None)


def _target(model) -> GradientTarget:
    ok = (hasattr(model, "has") and model.has("gradients")) or not hasattr(model, "has")
    conventions = all(hasattr(model, a) for a in ("encode", "embedding_layer", "net"))
    if not ok or not (hasattr(model, "gradient_target") or conventions):
        raise CapabilityError(f"{getattr(model, 'kind', type(model).__name__)} models do not provide gradients")
    if not hasattr(model, "gradient_target"):
        return adapter_target(model)
    t = model.gradient_target()
    if isinstance(t, GradientTarget):
        return t
    if isinstance(t, dict):
        return GradientTarget(**t)
    return GradientTarget(*t)


def integrated_gradients(model, text: str, class_index: int, *, n_steps: int = DEFAULT_STEPS,
                         output: str = "logit", multilabel: bool | None = None, merge: bool = True,
                         internal_batch_size: int = 16) -> TokenAttribution:
    """Integrated-gradients attribution of `text` towards `class_index` -> TokenAttribution.

    model: anything with `gradient_target()` (and, if it is a TextClassifier, the "gradients" capability);
    raises CapabilityError otherwise. `merge` merges word pieces into words (sums their values).
    """
    import torch
    from captum.attr import LayerIntegratedGradients

    if output not in ("logit", "proba"):
        raise ValueError("output must be 'logit' or 'proba'")
    target = _target(model)
    if multilabel is None:
        multilabel = bool(getattr(model, "multilabel", False))
    t0 = time.perf_counter()
    input_ids, attention_mask, tokens = target.encode(text)
    input_ids = torch.as_tensor(input_ids).long().reshape(1, -1)
    attention_mask = torch.as_tensor(attention_mask).long().reshape(1, -1)
    baseline = torch.full_like(input_ids, int(target.baseline_id))
    for keep in target.keep_ids:
        baseline[input_ids == keep] = keep

    def forward(ids, mask):
        logits = target.forward(ids, mask)
        if output == "proba":
            logits = torch.sigmoid(logits) if multilabel else torch.softmax(logits, dim=-1)
        return logits

    lig = LayerIntegratedGradients(forward, target.embedding)
    with torch.enable_grad():
        attributions, delta = lig.attribute(
            inputs=input_ids, baselines=baseline, additional_forward_args=(attention_mask,),
            target=int(class_index), n_steps=int(n_steps), internal_batch_size=internal_batch_size,
            return_convergence_delta=True)
    with torch.no_grad():
        base_value = float(forward(baseline, attention_mask)[0, int(class_index)])
    values = attributions.sum(dim=-1)[0].detach().cpu().double().numpy()
    tokens = list(tokens)
    if merge and any(t.startswith(("##", "\u2581", "\u0120")) for t in tokens):
        tokens, values = merge_pieces(tokens, values)
    return TokenAttribution(tokens, values, base_value, int(class_index), "integrated_gradients",
                            {"n_steps": int(n_steps), "output": output, "delta": float(delta.reshape(-1)[0]),
                             "seconds": time.perf_counter() - t0})


def supports_gradients(model) -> bool:
    """True when `integrated_gradients(model, ...)` can run."""
    return bool(getattr(model, "has", lambda c: False)("gradients")) and (
        hasattr(model, "gradient_target") or all(hasattr(model, a) for a in ("encode", "embedding_layer", "net")))


__all__ = ["GradientTarget", "adapter_target", "integrated_gradients", "supports_gradients", "DEFAULT_STEPS"]
