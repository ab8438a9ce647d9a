"""Overlay wording and fading, runtime loading without a bundle, settings, source specs."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from fakes import FakeAnalyzer, make_observation

from purrsight_app.pipeline.analysis_loop import Analysed
from purrsight_app.pipeline.overlay_state import OverlayConfig, fade_alpha, overlay_view
from purrsight_app.pipeline.runtime_loader import find_bundle, load_runtime
from purrsight_app.pipeline.sources import SourceSpecError, parse_source
from purrsight_app.settings import Settings, load_settings, save_settings, settings_path


def analysed(obs, finished: float) -> Analysed:
    return Analysed(obs, finished, finished, None, finished, finished, 0)


def test_overlay_words_a_present_cat_and_fades_when_stale() -> None:
    cfg = OverlayConfig(fresh_s=1.0, stale_s=5.0, min_alpha=0.2)
    res = analysed(make_observation(state="playful", conf=0.81, vocalization="chirp"), 100.0)
    fresh = overlay_view(res, 100.5, cfg)
    assert fresh.headline == "Playful 81%" and fresh.alpha == 1.0 and not fresh.stale
    assert fresh.details[0] == "Vocalization: no audio"  # image only: no call type invented
    assert fresh.seen and not fresh.heard
    quiet, loud = (overlay_view(analysed(make_observation(vocalization="chirp", cat_heard=h),
                                         100.0), 100.5, cfg) for h in (0.05, 0.4))
    assert quiet.details[0] == "Vocalization: none heard"
    assert loud.details[0] == "Vocalization: chirp 70%" and not loud.heard
    mid = overlay_view(res, 103.0, cfg)
    old = overlay_view(res, 110.0, cfg)
    assert 0.2 < mid.alpha < 1.0 and old.alpha == pytest.approx(0.2) and old.stale
    assert "updated 10 s ago" in old.details


def test_overlay_says_unknown_for_a_head_the_runtime_left_out() -> None:
    """A photo-only window of a model whose arousal labels came from sounds: no arousal head,
    so "unknown", never a made-up class at 0 %."""
    obs = make_observation(arousal="high")
    view = overlay_view(analysed(obs, 10.0), 10.0)
    assert view.details[-1] == "Arousal: high 60%"
    no_head = replace(obs, heads={k: v for k, v in obs.heads.items() if k != "arousal"})
    assert overlay_view(analysed(no_head, 10.0), 10.0).details[-1] == "Arousal: unknown"


def test_overlay_is_calm_without_a_cat() -> None:
    res = analysed(make_observation(cat_visible=0.1, cat_heard=math.nan), 50.0)
    view = overlay_view(res, 50.0)
    assert view.headline == "No cat detected" and not view.cat_present
    assert view.details == () and view.cat_heard is None
    assert overlay_view(None, 1.0) is None


def test_fade_is_monotonic() -> None:
    cfg = OverlayConfig()
    alphas = [fade_alpha(t / 10, cfg) for t in range(100)]
    assert all(a >= b for a, b in zip(alphas, alphas[1:], strict=False))


def test_runtime_without_bundle_gives_a_reason(tmp_path) -> None:
    loaded = load_runtime(None, tmp_path / "models")
    assert loaded.analyzer is None and loaded.reporter is None
    assert loaded.status_line.startswith("model not available: ")
    path, why = find_bundle(tmp_path / "nope", tmp_path)
    assert path is None and "has no manifest.json" in why


def test_runtime_loader_picks_newest_bundle_and_reports_partial_failure(tmp_path) -> None:
    models = tmp_path / "models"
    for name in ("old", "new"):
        (models / name).mkdir(parents=True)
        (models / name / "manifest.json").write_text("{}")
    calls = []

    def loader(kind, path):
        calls.append((kind, path.name))
        return (FakeAnalyzer(), "") if kind == "Analyzer" else (None, "no LLM in bundle")

    loaded = load_runtime(None, models, loader=loader)
    assert calls == [("Analyzer", "new"), ("Reporter", "new")]
    assert loaded.analyzer is not None and loaded.reporter is None
    assert loaded.status_line == "reports not available: no LLM in bundle"


def test_settings_round_trip_and_bad_values(tmp_path) -> None:
    p = tmp_path / "s.json"
    save_settings(Settings(report_interval_s=60.0, source="demo"), p)
    s, warnings = load_settings(p)
    assert s.report_interval_s == 60.0 and s.source == "demo" and warnings == []
    p.write_text(json.dumps({"report_interval_s": -3, "analysis_rate_hz": "fast",
                             "nonsense": 1}))
    s, warnings = load_settings(p)
    assert s.report_interval_s == Settings().report_interval_s
    assert s.analysis_rate_hz == Settings().analysis_rate_hz
    assert len(warnings) == 2
    p.write_text("{not json")
    assert load_settings(p)[0] == Settings()
    assert settings_path().name == "settings.json"
    assert s.pipeline_config().reports.interval_s == s.report_interval_s


def test_source_specs(tmp_path) -> None:
    assert parse_source(None).kind == "auto"
    assert parse_source("camera:2").camera == 2
    assert parse_source("mic").kind == "mic"
    f = tmp_path / "x.wav"
    f.write_bytes(b"")
    spec = parse_source(str(f))
    assert spec.kind == "path" and spec.label() == "x.wav"
    with pytest.raises(SourceSpecError, match="no such file"):
        parse_source(str(tmp_path / "missing.mp4"))


def test_source_problems_are_worded_for_the_owner() -> None:
    from purrsight_app.capture import (
        AudioRing,
        CameraSource,
        FrameRing,
        MicSource,
        SourceState,
        SourceStatus,
    )
    from purrsight_app.pipeline.session import _source_line

    cam, mic = CameraSource(FrameRing()), MicSource(AudioRing(seconds=1))
    assert _source_line(cam, SourceState(SourceStatus.UNAVAILABLE, "x")) == "no camera"
    assert _source_line(mic, SourceState(SourceStatus.UNAVAILABLE, "x")) == "no microphone"
    assert _source_line(cam, SourceState(SourceStatus.LOST)) == "camera lost — reconnecting"
    assert _source_line(mic, SourceState(SourceStatus.RUNNING)) is None


def test_overlay_names_a_call_from_the_same_cat_heard_score_as_the_reports() -> None:
    from purrsight_model.runtime import CALL_HEARD_MIN

    assert OverlayConfig().call_threshold == CALL_HEARD_MIN
