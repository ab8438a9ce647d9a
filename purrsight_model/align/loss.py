"""Symmetric InfoNCE over every modality pair present, with missing-modality masking."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from purrsight_model.progress import TrainingError


def info_nce(
    a: torch.Tensor,
    b: torch.Tensor,
    scale: torch.Tensor,
    positives: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE between matched rows of ``a`` and ``b`` (both L2-normalised).

    a, b: [N, D]. ``positives`` [N, N] bool marks extra positives (e.g. rows sharing a
    caption's labels); the diagonal is always positive and targets are spread evenly over
    all positives of a row, so identical captions are not pushed apart as negatives.
    """
    logits = scale * a @ b.t()  # [N, N]
    n = a.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=a.device)
    pos = eye if positives is None else (positives | eye)
    target = pos.float() / pos.float().sum(-1, keepdim=True)  # [N, N], rows sum to 1
    loss_ab = -(target * F.log_softmax(logits, dim=-1)).sum(-1).mean()
    target_t = pos.t().float() / pos.t().float().sum(-1, keepdim=True)
    loss_ba = -(target_t * F.log_softmax(logits.t(), dim=-1)).sum(-1).mean()
    return 0.5 * (loss_ab + loss_ba)


def masked_pair_losses(
    embeddings: dict[str, torch.Tensor],
    present: dict[str, torch.Tensor],
    scale: torch.Tensor,
    positives: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """InfoNCE for each modality pair on the rows where both are present.

    embeddings: name -> [N, D]; present: name -> [N] bool. A pair with fewer than 2 valid
    rows has no negatives and is left out (not counted as a zero loss).
    """
    names = sorted(embeddings)
    out: dict[str, torch.Tensor] = {}
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            both = present[x] & present[y]  # [N]
            if int(both.sum()) < 2:
                continue
            pos = None if positives is None else positives[both][:, both]
            out[f"{x}-{y}"] = info_nce(embeddings[x][both], embeddings[y][both], scale, pos)
    return out


def contrastive_loss(
    embeddings: dict[str, torch.Tensor],
    present: dict[str, torch.Tensor],
    scale: torch.Tensor,
    positives: torch.Tensor | None = None,
) -> tuple[torch.Tensor | None, dict[str, float]]:
    """Mean of the pair losses that exist; raises ``TrainingError`` on a NaN/inf loss."""
    pairs = masked_pair_losses(embeddings, present, scale, positives)
    if not pairs:
        return None, {}
    total = torch.stack(list(pairs.values())).mean()
    if not torch.isfinite(total):
        bad = [k for k, v in pairs.items() if not torch.isfinite(v)]
        raise TrainingError(f"contrastive loss is not finite for pairs {bad}")
    return total, {k: float(v.detach()) for k, v in pairs.items()}
