"""Integrated gradients (captum LayerIntegratedGradients on the input embedding layer).

The hook is part of the model contract (core.base): a model declaring the "gradients" capability implements

    def gradient_target(self) -> core.base.GradientTarget

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

The torch families build theirs with `core.models.torch_base.torch_gradient_target(net, encode, embedding,
tokens, tokenizer)`: the pad id is the baseline and special-token positions ([CLS], <cls>, [SEP]) are kept in it.
Objects outside the TextClassifier contract (a bare torch model in a notebook) work too when they have a
`gradient_target()` method.

Example of an explicit hook for a Hugging Face encoder: forward = lambda ids, m: hf_model(input_ids=ids, attention_mask=m).logits,
embedding = hf_model.get_input_embeddings(), encode tokenises with the model's tokenizer and returns
tokenizer.convert_ids_to_tokens(ids). For an RNN: embedding = self.embedding, forward runs the network.
Attributions are for the class logit by default (output="logit"); output="proba" differentiates the
softmax (sigmoid when multilabel) probability instead. Completeness: sum(values) ~= f(x) - f(baseline);
the gap is returned as extra["delta"].
"""
from __future__ import annotations

import time

from ..base import CapabilityError, GradientTarget, TextClassifier
from .attention import merge_pieces
from .attribution import TokenAttribution

DEFAULT_STEPS = 32


def _target(model) -> GradientTarget:
    """The model's declared hooks (CapabilityError when it does not declare "gradients")."""
    if isinstance(model, TextClassifier):
        if not model.has("gradients"):
            raise CapabilityError(f"{model.kind} models do not provide gradients")
        return model.gradient_target()
    hook = getattr(model, "gradient_target", None)  # a bare torch model outside the TextClassifier contract
    if hook is None:
        raise CapabilityError(f"{type(model).__name__} has no gradient_target(): no gradients to attribute")
    return hook()


def integrated_gradients(model, text: str, class_index: int, *, n_steps: int = DEFAULT_STEPS,
                         output: str = "logit", multilabel: bool | None = None, merge: bool = True,
                         internal_batch_size: int = 16, contrast: int | None = None) -> TokenAttribution:
    """Integrated-gradients attribution of `text` towards `class_index` -> TokenAttribution.

    contrast: attribute the difference output[class_index] - output[contrast] (the gradient of the difference:
    "why class_index and not contrast").

    model: a TextClassifier declaring the "gradients" capability (or any object with `gradient_target()`);
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

    def outputs(ids, mask):
        logits = target.forward(ids, mask)
        if output == "proba":
            logits = torch.sigmoid(logits) if multilabel else torch.softmax(logits, dim=-1)
        return logits

    def forward(ids, mask):
        out = outputs(ids, mask)
        if contrast is None:
            return out
        # one output column, the difference; captum's target then indexes column 0
        return (out[:, int(class_index)] - out[:, int(contrast)]).unsqueeze(-1)

    column = int(class_index) if contrast is None else 0

    lig = LayerIntegratedGradients(forward, target.embedding)
    with torch.enable_grad():
        attributions, delta = lig.attribute(
            inputs=input_ids, baselines=baseline, additional_forward_args=(attention_mask,),
            target=column, n_steps=int(n_steps), internal_batch_size=internal_batch_size,
            return_convergence_delta=True)
    with torch.no_grad():
        base_value = float(forward(baseline, attention_mask)[0, column])
    values = attributions.sum(dim=-1)[0].detach().cpu().double().numpy()
    tokens = list(tokens)
    if merge and any(t.startswith(("##", "\u2581", "\u0120")) for t in tokens):
        tokens, values = merge_pieces(tokens, values)
    return TokenAttribution(tokens, values, base_value, int(class_index), "integrated_gradients",
                            {"n_steps": int(n_steps), "output": output, "delta": float(delta.reshape(-1)[0]),
                             "seconds": time.perf_counter() - t0})


def supports_gradients(model) -> bool:
    """True when `integrated_gradients(model, ...)` can run."""
    if isinstance(model, TextClassifier):
        return model.has("gradients")
    return callable(getattr(model, "gradient_target", None))


__all__ = ["GradientTarget", "integrated_gradients", "supports_gradients", "DEFAULT_STEPS"]
