"""The report model in torch: frozen LM (+ LoRA) fed by the projector's soft tokens.

Used for Phase 2 training and for torch-side evaluation; the runtime runs the same
computation from ONNX graphs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from purrsight_model.decoding import StepFn
from purrsight_model.instruct.projector import MODALITY_ORDER, Projector
from purrsight_model.instruct.prompt import PromptIds


@dataclass
class Example:
    """One training example: prompt ids (with soft slots) followed by report ids."""

    prompt: PromptIds
    target: np.ndarray  # [T] int64 report ids
    loss_mask: np.ndarray  # [T] bool: ids the model is trained to predict


def soft_index(prompt: PromptIds) -> np.ndarray:
    """[S] positions of the soft tokens in projector order (MODALITY_ORDER, K each)."""
    return np.concatenate([prompt.soft_positions[m] for m in MODALITY_ORDER])


class ReportModel(nn.Module):
    """Projector + causal LM; only the projector and LoRA adapters are trainable."""

    def __init__(self, lm: nn.Module, projector: Projector) -> None:
        super().__init__()
        self.lm, self.projector = lm, projector

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm.get_input_embeddings()(ids)  # [B, T] -> [B, T, d]

    def prompt_embeds(self, ids: torch.Tensor, soft_pos: torch.Tensor,
                      vectors: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
                      ) -> torch.Tensor:
        """Token embeddings with the soft rows replaced. ids: [B, T], soft_pos: [B, S]."""
        embeds = self.embed(ids)  # [B, T, d]
        soft = self.projector(vectors, present).to(embeds.dtype)  # [B, S, d]
        index = soft_pos.unsqueeze(-1).expand(-1, -1, embeds.shape[-1])  # [B, S, d]
        return embeds.scatter(1, index, soft)

    def loss(self, batch: list[Example], vectors: dict[str, torch.Tensor],
             present: dict[str, torch.Tensor], pad_id: int) -> torch.Tensor:
        """Mean next-token cross-entropy on the report ids marked in ``loss_mask``."""
        ids, labels, attn, soft_pos = collate(batch, pad_id)
        embeds = self.prompt_embeds(ids, soft_pos, vectors, present)
        logits = self.lm(inputs_embeds=embeds, attention_mask=attn).logits  # [B, T, V]
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(),
                               ignore_index=-100)

    @torch.no_grad()
    def step_fn(self, prompt: PromptIds, vectors: dict[str, torch.Tensor],
                present: dict[str, torch.Tensor]) -> tuple[np.ndarray, StepFn]:
        """Prefill the prompt; return its last logits and a KV-cached ``step_fn``."""
        ids = torch.from_numpy(prompt.ids).unsqueeze(0)
        soft_pos = torch.from_numpy(soft_index(prompt)).unsqueeze(0)
        embeds = self.prompt_embeds(ids, soft_pos, vectors, present)
        out = self.lm(inputs_embeds=embeds, use_cache=True)
        state = {"past": out.past_key_values, "length": ids.shape[1]}

        def step(new_ids: list[int]) -> np.ndarray:
            new = torch.tensor([new_ids], dtype=torch.long)
            length = state["length"] + len(new_ids)
            res = self.lm(input_ids=new, past_key_values=state["past"], use_cache=True,
                          attention_mask=torch.ones(1, length, dtype=torch.long))
            state["past"], state["length"] = res.past_key_values, length
            return res.logits[0, -1].float().numpy()

        return out.logits[0, -1].float().numpy(), step


def collate(batch: list[Example], pad_id: int
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ids [B, L], labels [B, L] (-100 = no loss), attention [B, L], soft [B, S]."""
    lengths = [len(s.prompt.ids) + len(s.target) for s in batch]
    width = max(lengths)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    for b, s in enumerate(batch):
        p = len(s.prompt.ids)
        seq = np.concatenate([s.prompt.ids, s.target])
        ids[b, : len(seq)] = torch.from_numpy(seq)
        attn[b, : len(seq)] = 1
        target = torch.from_numpy(s.target).clone()
        target[~torch.from_numpy(s.loss_mask)] = -100
        labels[b, p : p + len(s.target)] = target
    soft = torch.from_numpy(np.stack([soft_index(s.prompt) for s in batch]))
    return ids, labels, attn, soft
