"""The network of the pretrained-encoder family: an HF encoder + a classification head (core/models/heads.py).

`EncoderClassifier.forward(**batch)` -> logits (B, k) is the contract of the training loop; `run` returns every
intermediate the classifier's explanations read (pooled vector, pooling weights, hidden states, attentions).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


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
