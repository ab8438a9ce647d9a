"""Low-bit storage of trained weights: int4 groups and int8 rows round trip, what stays
exact, old int8 files still read, a packed Phase 1 run loads and predicts the same."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from purrsight_model.align import checkpoint as ckpt
from purrsight_model.align.evaluate import embed_all
from purrsight_model.align.model import AlignModel
from purrsight_model.align.packed_weights import GROUP, expand, is_packed, shrink
from tests.model.test_align import DIMS, HEADS, synthetic, tiny_cfg


def _state(w: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"big": w, "small": torch.randn(8, 8), "probes.x.shift": torch.randn(64, 128),
            "steps": torch.tensor(3)}


def test_int8_rows_round_trip_within_half_a_step() -> None:
    w = torch.randn(64, 128) * torch.linspace(0.01, 5, 64).unsqueeze(1)  # rows of all scales
    state = _state(w)
    packed = shrink(state, "int8")
    assert is_packed(packed["big"]) and packed["big"]["int8"].dtype == torch.int8
    assert not is_packed(packed["small"]) and not is_packed(packed["probes.x.shift"])
    back = expand(packed)
    step = w.abs().amax(1, keepdim=True) / 127
    assert torch.all((back["big"] - w).abs() <= step * 0.51)
    assert back["small"] is state["small"] and back["steps"] is state["steps"]
    assert expand(state) == state  # an ordinary state dict passes through


def test_int4_is_exact_on_a_16_level_grid_of_any_width() -> None:
    # every group of 64 spans 16 levels -3.0, -2.5, ..., 4.5: representable exactly, so any
    # mix-up of nibble order, group layout or padding shows as an error
    cols = 2 * GROUP + 37  # a padded last group
    codes = torch.randint(0, 16, (40, cols))
    codes[:, ::GROUP], codes[:, 1::GROUP] = 0, 15  # each group's min and max
    codes[:, -1], codes[:, -2] = 0, 15
    w = codes.float() * 0.5 - 3.0
    packed = shrink({"w": w})["w"]
    assert packed["int4"].dtype == torch.uint8 and packed["int4"].numel() * 2 == 40 * 3 * GROUP
    assert torch.equal(expand({"w": packed})["w"], w)


def test_int4_error_is_small_and_the_clip_search_only_helps() -> None:
    torch.manual_seed(0)
    w = torch.randn(256, 1000) * 0.05
    w[:, 7] = 0.6  # an outlier in every row's first group
    back = expand(shrink({"w": w}))["w"]
    rel = (back - w).norm() / w.norm()
    assert rel < 0.12, rel  # 4 bits on Gaussian rows: ~0.1
    # against plain min/max rounding of each group (no clip search): never worse
    g = torch.nn.functional.pad(w, (0, (-w.shape[1]) % GROUP)).view(256, -1, GROUP)
    lo, hi = g.amin(-1, keepdim=True), g.amax(-1, keepdim=True)
    step = (hi - lo) / 15
    plain = (torch.round((g - lo) / step) * step + lo).view(256, -1)[:, :1000]
    assert (back - w).pow(2).sum() <= (plain - w).pow(2).sum() * 1.001


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="int3"):
        shrink({"w": torch.randn(128, 64)}, "int3")


@pytest.mark.parametrize("fmt", ["int4", "int8"])
def test_a_run_saved_with_packed_matrices_loads_and_predicts_the_same(tmp_path, fmt) -> None:
    cfg = tiny_cfg(hidden=64)
    model = AlignModel(cfg, DIMS, HEADS).eval()
    ckpt.write_config(cfg, tmp_path)
    ckpt.save_model(model, tmp_path)
    blob = torch.load(tmp_path / "model.pt", weights_only=False)
    blob["state_dict"] = shrink(blob["state_dict"], fmt)
    assert any(is_packed(v) for v in blob["state_dict"].values())
    torch.save(blob, tmp_path / "model.pt")
    loaded = ckpt.load_align_run(tmp_path)
    rows = synthetic(40, 4)
    a, b = embed_all(model, rows), embed_all(loaded, rows)
    np.testing.assert_allclose(a.audio, b.audio, atol=0.03)
    assert (a.probs["affective_state"].argmax(-1) == b.probs["affective_state"].argmax(-1)
            ).mean() >= 0.9
