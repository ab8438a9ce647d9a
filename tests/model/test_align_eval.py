"""Phase 1 evaluation: call-type metric, model selection robust to tiny classes, EMA runs."""

from __future__ import annotations

import numpy as np
import pytest

from purrsight_model import metrics
from purrsight_model.align import checkpoint as ckpt
from purrsight_model.align.evaluate import call_type_report, selection_score
from purrsight_model.align.train import AlignData, train_align
from purrsight_model.progress import StopFlag
from purrsight_model.schema import VOCALIZATION
from tests.model.test_align import HEADS, synthetic, tiny_cfg


def idx(*names: str) -> np.ndarray:
    return np.array([VOCALIZATION.index(n) if n else -1 for n in names])


def test_call_type_counts_only_the_four_calls_but_any_wrong_prediction() -> None:
    y = idx("purr", "hiss", "growl", "meow", "meow", "trill", "")
    pred = idx("purr", "hiss", "growl", "meow", "trill", "trill", "purr")
    report = call_type_report(y, pred, VOCALIZATION)
    assert report["n"] == 5  # the trill row and the unlabelled row are left out
    assert report["accuracy"] == pytest.approx(4 / 5)
    # meow F1 = 2*1/(2+1); purr/hiss/growl perfect; trill absent from the truth: not averaged
    assert report["macro_f1"] == pytest.approx((3 + 2 / 3) / 4)


def head_report(y: list[int], pred: list[int], classes: tuple[str, ...]) -> dict:
    return metrics.classification_report(np.array(y), np.array(pred), classes)


def test_selection_ignores_classes_with_a_handful_of_rows() -> None:
    classes = ("meow", "trill")
    right = head_report([0] * 20 + [1], [0] * 20 + [1], classes)
    wrong = head_report([0] * 20 + [1], [0] * 20 + [0], classes)
    assert right["macro_f1"] - wrong["macro_f1"] > 0.4  # the raw metric swings wildly
    a = selection_score({"heads": {"v": right}, "retrieval": {}})
    b = selection_score({"heads": {"v": wrong}, "retrieval": {}})
    assert a == pytest.approx(b, abs=0.03)
    worse = head_report([0] * 20 + [1], [1] * 5 + [0] * 15 + [1], classes)
    assert selection_score({"heads": {"v": worse}, "retrieval": {}}) < a - 0.05


def test_weight_average_is_saved_and_survives_stop_and_resume(tmp_path) -> None:
    data = AlignData(synthetic(96, 0), synthetic(48, 1), HEADS)
    cfg = tiny_cfg(ema=0.9, epochs=4)
    stop = StopFlag()
    for event in train_align(cfg, tmp_path, data=data, stop=stop):
        if event.step == 8:
            stop.set()
    saved = ckpt.load_state(tmp_path)
    assert saved is not None and saved["ema"] is not None
    events = list(train_align(cfg, tmp_path, data=data))
    assert events[0].message.startswith("resumed") and events[-1].done
    state = ckpt.load_state(tmp_path)
    assert state["epoch"] == 4
    key = "members.0.audio_proj.net.1.weight"
    assert not np.allclose(state["ema"][key].numpy(), state["state_dict"][key].numpy())


def test_the_weight_average_is_what_gets_saved(tmp_path) -> None:
    data = AlignData(synthetic(64, 0), synthetic(32, 1), HEADS)
    list(train_align(tiny_cfg(ema=0.9, epochs=1), tmp_path, data=data))
    state = ckpt.load_state(tmp_path)
    saved = ckpt.load_align_run(tmp_path).state_dict()
    key = "members.0.audio_proj.net.1.weight"
    assert np.allclose(saved[key].numpy(), state["ema"][key].numpy())
    assert not np.allclose(saved[key].numpy(), state["state_dict"][key].numpy())
