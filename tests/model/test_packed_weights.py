"""Int8 storage of Phase 1 weights: round trip, what stays exact, loading a packed run."""

from __future__ import annotations

import numpy as np
import torch

from purrsight_model.align import checkpoint as ckpt
from purrsight_model.align.evaluate import embed_all
from purrsight_model.align.model import AlignModel
from purrsight_model.align.packed_weights import expand, is_packed, shrink
from tests.model.test_align import DIMS, HEADS, synthetic, tiny_cfg


def test_rows_round_trip_within_half_a_step() -> None:
    w = torch.randn(64, 128) * torch.linspace(0.01, 5, 64).unsqueeze(1)  # rows of all scales
    state = {"big": w, "small": torch.randn(8, 8), "probes.x.shift": torch.randn(64, 128),
             "steps": torch.tensor(3)}
    packed = shrink(state)
    assert is_packed(packed["big"]) and packed["big"]["int8"].dtype == torch.int8
    assert not is_packed(packed["small"]) and not is_packed(packed["probes.x.shift"])
    back = expand(packed)
    step = w.abs().amax(1, keepdim=True) / 127
    assert torch.all((back["big"] - w).abs() <= step * 0.51)
    assert back["small"] is state["small"] and back["steps"] is state["steps"]
    assert expand(state) == state  # an ordinary state dict passes through


def test_a_run_saved_with_int8_matrices_loads_and_predicts_the_same(tmp_path) -> None:
    cfg = tiny_cfg(hidden=64)
    model = AlignModel(cfg, DIMS, HEADS).eval()
    ckpt.write_config(cfg, tmp_path)
    ckpt.save_model(model, tmp_path)
    blob = torch.load(tmp_path / "model.pt", weights_only=False)
    blob["state_dict"] = shrink(blob["state_dict"])
    assert any(is_packed(v) for v in blob["state_dict"].values())
    torch.save(blob, tmp_path / "model.pt")
    loaded = ckpt.load_align_run(tmp_path)
    rows = synthetic(40, 4)
    a, b = embed_all(model, rows), embed_all(loaded, rows)
    np.testing.assert_allclose(a.audio, b.audio, atol=0.02)
    assert (a.probs["affective_state"].argmax(-1) == b.probs["affective_state"].argmax(-1)
            ).mean() >= 0.9
