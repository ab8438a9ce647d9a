"""The torch-free runtime on a tiny exported bundle: Analyzer with every input combination,
text search, and Reporter reports that are schema-valid and equal to torch's greedy decode."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

from purrsight_model.align.checkpoint import load_align_run
from purrsight_model.export import tiny
from purrsight_model.export.bundle import pins_of
from purrsight_model.export.choose import MIN_COSINE
from purrsight_model.export.report_model import load_report_model, make_probes, torch_reports
from purrsight_model.export.text import TextGraph, tokenize
from purrsight_model.frontends import log_mel_patches, preprocess_images
from purrsight_model.runtime import (
    Analyzer,
    Observation,
    Reporter,
    WindowInputs,
    window_inputs,
)
from purrsight_model.runtime.zeroshot import CALL_HEARD_MIN, fuse_calls, level_dbfs
from purrsight_model.schema import VOCALIZATION, Report, parse_report


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    b = tiny.build_tiny_bundle(tmp_path_factory.getbasetemp() / "tiny-full")
    return {"sources": b.sources, "align_run": b.align_run, "instruct_run": b.instruct_run,
            "bundle": b.bundle}


@pytest.fixture(scope="module")
def analyzer(built):
    return Analyzer.load(built["bundle"], threads=1)


def _frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)


def _audio(seed: int = 0, seconds: float = 0.96) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    noise = np.random.default_rng(seed).normal(0, 0.05, t.size)
    return (0.3 * np.sin(2 * np.pi * 440 * t) + noise).astype(np.float32)


@torch.no_grad()
def _torch_window(built, frame, audio):
    """The same window through torch/ORT reference pieces: aligned vectors + head probs."""
    model = load_align_run(built["align_run"])
    src = built["sources"]
    d = model.dims
    if frame is not None:
        emb, _ = src.image(torch.from_numpy(preprocess_images([frame])))
        frames, fm = emb[None], torch.ones(1, 1, dtype=torch.bool)
    else:
        frames, fm = torch.zeros(1, 1, d.image), torch.zeros(1, 1, dtype=torch.bool)
    if audio is not None:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(src.audio_graph), providers=["CPUExecutionProvider"])
        pe, ps = sess.run(["embedding", "scores"], {"log_mel": log_mel_patches(audio)[:, None]})
        patches, pm, scores = torch.from_numpy(pe)[None], torch.ones(1, len(pe), dtype=torch.bool), \
            torch.from_numpy(ps)[None]
    else:
        patches, pm = torch.zeros(1, 1, d.audio), torch.zeros(1, 1, dtype=torch.bool)
        scores = torch.zeros(1, 1, d.audio_scores)
    hi, ha = fm.any(-1), pm.any(-1)
    img = model.embed_image(frames, fm) * hi[:, None]
    aud = model.embed_audio(patches, pm, scores) * ha[:, None]
    probs = {k: torch.softmax(v, -1)[0].numpy() for k, v in model.classify(img, hi, aud, ha).items()}
    return img[0].numpy(), aud[0].numpy(), probs


@pytest.mark.parametrize("with_frame,with_audio", [(True, True), (True, False), (False, True),
                                                   (False, False)])
def test_analyze_every_input_combination(built, analyzer, with_frame, with_audio) -> None:
    frame = _frame() if with_frame else None
    audio = _audio() if with_audio else None
    obs = analyzer.analyze(frame, audio, ts=123.0)
    assert isinstance(obs, Observation) and obs.ts == 123.0
    assert (obs.has_image, obs.has_audio) == (with_frame, with_audio)
    assert math.isnan(obs.cat_visible) != with_frame and math.isnan(obs.cat_heard) != with_audio
    if with_frame and with_audio:  # the tiny tagger "hears" a cat: fused (gate tested below)
        assert obs.cat_heard >= CALL_HEARD_MIN
    assert (obs.image_vec is not None, obs.audio_vec is not None) == (with_frame, with_audio)
    assert bool(obs.calls) == with_audio
    for head, probs in obs.heads.items():
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4), head
    img, aud, probs = _torch_window(built, frame, audio)
    for head in ("affective_state", "arousal"):  # vocalization may carry zero-shot fusion
        got = np.array(list(obs.heads[head].values()))
        np.testing.assert_allclose(got, probs[head], atol=1e-4)
    if with_frame:
        np.testing.assert_allclose(obs.image_vec, img, atol=1e-4)
        assert 0.0 <= obs.cat_visible <= 1.0
    if with_audio:
        np.testing.assert_allclose(obs.audio_vec, aud, atol=1e-4)
        assert -20 < obs.audio_level_db < 0
    if with_frame or with_audio:
        assert np.linalg.norm(obs.embedding) == pytest.approx(1.0, abs=1e-4)
    else:
        assert obs.embedding is None and obs.audio_level_db == -120.0


def test_clip_analysis_caps_frames_and_patches(analyzer) -> None:
    frames = [_frame(i) for i in range(9)]
    obs = analyzer.analyze_clip(frames, _audio(1, seconds=5.0))
    assert obs.has_image and obs.has_audio and obs.embedding.shape == (16,)
    resampled = analyzer.analyze(None, _audio(2, seconds=1.0)[::2], sr=8000)
    assert resampled.has_audio


def test_embed_text_matches_torch(built, analyzer) -> None:
    vec = analyzer.embed_text("cat hissing near the door")
    text = built["sources"].text
    ids, mask = tokenize(text.tokenizer_json, ["cat hissing near the door"], text.max_tokens)
    graph = TextGraph(text.model, load_align_run(built["align_run"]).text_proj)
    with torch.no_grad():
        ref = graph(torch.from_numpy(ids), torch.from_numpy(mask))[0].numpy()
    assert vec.shape == (16,) and np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-5)
    manifest = json.loads((built["bundle"] / "manifest.json").read_text())
    if pins_of(manifest)["text_encoder"] == "fp32":
        np.testing.assert_allclose(vec, ref, atol=1e-5)
    else:  # the exporter kept INT8 only where it timed faster: hold it to its own bar
        assert float(vec @ ref) >= MIN_COSINE


def test_reporter_equals_torch_greedy_constrained_decode(built) -> None:
    reporter = Reporter.load(built["bundle"], threads=1)
    loaded = load_report_model(built["instruct_run"])
    probes = make_probes(load_align_run(built["align_run"]), n=4, seed=5)
    expected = torch_reports(loaded, probes)
    for probe, ref in zip(probes, expected, strict=True):
        got = reporter.report_from(WindowInputs(probe.image, probe.audio, probe.hints))
        assert got == ref
        assert parse_report(got.to_json()) == got
        assert got.modalities_used == probe.modalities
    assert reporter.last_stats.n_calls < reporter.last_stats.n_tokens  # forced runs batched


def test_reporter_on_observations_is_schema_valid(built, analyzer) -> None:
    reporter = Reporter.load(built["bundle"], threads=1)
    window = [analyzer.analyze(_frame(i), _audio(i)) for i in range(3)]
    report = reporter.report(window)
    assert isinstance(report, Report) and report.modalities_used == ("image", "audio")
    image_only = reporter.report([analyzer.analyze(_frame(4), None)])
    assert image_only.modalities_used == ("image",) and image_only.vocalization == "unknown"
    empty = reporter.report([])
    assert empty.modalities_used == () and empty.ears == "unknown"


def test_window_inputs_average_and_hints() -> None:
    a, b = np.zeros(4, np.float32), np.zeros(4, np.float32)
    a[0], b[1] = 1.0, 1.0
    call = {"purr": 0.7, "meow": 0.3}
    heads = [{"affective_state": {"content": 0.9, "anxious": 0.1}, "vocalization": call},
             {"affective_state": {"content": 0.2, "anxious": 0.8}, "vocalization": call},
             {"affective_state": {"content": 0.2, "anxious": 0.8}, "vocalization": call}]
    obs = [Observation(ts=0, has_image=True, has_audio=False, heads=h, image_vec=v)
           for h, v in zip(heads, (a, b, b), strict=True)]
    win = window_inputs(obs, {"affective_state": "affect", "vocalization": "call"})
    assert win.audio_vec is None and win.modalities == ("image",)
    assert np.linalg.norm(win.image_vec) == pytest.approx(1.0)
    assert win.image_vec[1] > win.image_vec[0] > 0
    assert win.hints == {"affect": ("anxious", pytest.approx(1.7 / 3))}  # no audio: no call


@pytest.mark.parametrize("heard", [0.05, 0.9])
def test_audio_with_no_cat_does_not_steer_the_heads_beside_a_frame(analyzer, monkeypatch,
                                                                   heard) -> None:
    """Room noise beside a frame: the heads and the fused vector come from the frame alone,
    while the window still reports its audio (level, cat_heard, calls). Audio alone is always
    aligned, heard or not."""
    frame, audio = _frame(), _audio()
    emb, scores = analyzer.encode_audio(audio)
    scores = scores.copy()
    scores[:, list(analyzer.cat_classes)] = heard
    monkeypatch.setattr(analyzer, "encode_audio", lambda wave: (emb, scores))
    both, image_only = analyzer.analyze(frame, audio), analyzer.analyze(frame, None)
    assert both.has_audio and both.calls and both.cat_heard == pytest.approx(heard)
    gated = heard < CALL_HEARD_MIN
    for head in ("affective_state", "arousal"):
        same = np.allclose(list(both.heads[head].values()),
                           list(image_only.heads[head].values()), atol=1e-6)
        assert same == gated, head
    assert np.allclose(both.embedding, image_only.embedding, atol=1e-6) == gated
    assert (both.audio_vec is None) == gated
    assert analyzer.analyze(None, audio).audio_vec is not None
    monkeypatch.setattr(analyzer, "audio_gate", 0.0)  # the benchmark's baseline: always fuse
    assert analyzer.analyze(frame, audio).audio_vec is not None


def test_a_head_is_left_out_of_windows_its_labels_never_came_with(built, analyzer,
                                                                  monkeypatch) -> None:
    """The manifest carries each head's evidence; a head whose labels were sounds only is
    not reported for a photo (nor for a photo beside audio with no cat in it)."""
    manifest = json.loads((built["bundle"] / "manifest.json").read_text())
    assert manifest["head_evidence"]["arousal"] == ["image", "audio"]  # the tiny run's record
    assert analyzer.evidence["arousal"] == {"image", "audio"}
    monkeypatch.setitem(analyzer.evidence, "arousal", frozenset({"audio"}))
    photo = analyzer.analyze(_frame(), None)
    assert "arousal" not in photo.heads and "affective_state" in photo.heads
    assert "arousal" in analyzer.analyze(None, _audio()).heads
    assert "arousal" in analyzer.analyze(_frame(), _audio()).heads  # heard: read from both
    monkeypatch.delitem(analyzer.evidence, "arousal")  # unrecorded: always on
    assert "arousal" in analyzer.analyze(_frame(), None).heads


def _heard_window(heard: float, call: dict[str, float]) -> list[Observation]:
    vec = np.zeros(4, np.float32)
    vec[2] = 1.0
    return [Observation(ts=t, has_image=False, has_audio=True, heads={"vocalization": call},
                        audio_vec=vec, cat_heard=h) for t, h in enumerate((math.nan, heard))]


def test_window_cat_heard_is_the_max_over_observations_with_audio() -> None:
    win = window_inputs(_heard_window(0.6, {"hiss": 0.8, "purr": 0.2}), {"vocalization": "v"})
    assert win.cat_heard == pytest.approx(0.6) and win.hints["v"][0] == "hiss"
    assert math.isnan(window_inputs([], {}).cat_heard)


@pytest.mark.parametrize(("heard", "said", "expected", "restricted"), [
    (0.6, "unknown", "hiss", False),  # heard: the LM's unknown becomes the head's call
    (0.6, "purr", "purr", False),  # a call the LM decided is kept
    (0.1, "unknown", "unknown", True),  # not heard: no call, and the decoder may not name one
    (math.nan, "unknown", "unknown", False),  # no cat-class scores: the LM alone decides
])
def test_report_vocalization_follows_the_overlay_rule(heard, said, expected, restricted) -> None:
    from purrsight_model.runtime.reporter import call_restriction, ground_call

    win = window_inputs(_heard_window(heard, {"hiss": 0.8, "purr": 0.2}),
                        {"vocalization": "vocalization"})
    report = Report(vocalization=said, modalities_used=("audio",))
    assert ground_call(report, win).vocalization == expected
    assert (call_restriction(win) == {"vocalization": ["unknown"]}) is restricted
    image_only = WindowInputs(np.ones(4, np.float32) / 2, None, {"vocalization": ("hiss", 0.9)},
                              cat_heard=0.9)
    assert ground_call(Report(modalities_used=("image",)), image_only).vocalization == "unknown"


def test_reporter_names_no_call_when_no_cat_is_heard(built, analyzer) -> None:
    reporter = Reporter.load(built["bundle"], threads=1)
    obs = analyzer.analyze(_frame(1), _audio(1))
    quiet = reporter.report([replace(obs, cat_heard=0.0)])
    assert quiet.vocalization == "unknown"
    heard = reporter.report([replace(obs, cat_heard=0.9)])
    assert heard.vocalization in VOCALIZATION  # the LM's call, or else the head's


def test_zero_shot_fusion_only_where_heads_agree() -> None:
    probs = {"purr": 0.5, "hiss": 0.3, "meow": 0.2}
    agreed = fuse_calls(probs, {"purr": 0.9, "hiss": 0.1})
    assert agreed["purr"] == pytest.approx(0.9) and sum(agreed.values()) == pytest.approx(1.0)
    assert agreed["hiss"] / agreed["meow"] == pytest.approx(1.5)
    assert fuse_calls(probs, {"hiss": 0.95}) == probs  # disagreement: trained head untouched
    assert fuse_calls(probs, {"purr": 0.2}) == probs  # too weak to count
    assert level_dbfs(np.zeros(100, np.float32)) == -120.0
    assert level_dbfs(np.full(100, 0.5, np.float32)) == pytest.approx(-6.02, abs=0.01)


def test_analyze_is_safe_from_two_threads(analyzer) -> None:
    inputs = [(_frame(i), _audio(i)) for i in range(4)]
    serial = [analyzer.analyze(f, a).embedding for f, a in inputs]
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = analyzer.analyze(*inputs[i]).embedding

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, ref in enumerate(serial):
        np.testing.assert_allclose(results[i], ref, atol=1e-6)


def test_runtime_runs_without_torch(built) -> None:
    code = (
        "import sys, numpy as np\n"
        "from purrsight_model.runtime import Analyzer, Reporter\n"
        f"a = Analyzer.load({str(built['bundle'])!r}, threads=1)\n"
        "o = a.analyze(np.zeros((64, 64, 3), np.uint8), np.zeros(15360, np.float32))\n"
        "r = Reporter.load(a.bundle).report([o])\n"
        "v = a.embed_text('a cat')\n"
        "print(r.to_json())\n"
        "print('loaded=' + ','.join(m for m in ('torch', 'transformers', 'PySide6')\n"
        "                           if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    report_line, loaded = out.stdout.strip().split("\n")[-2:]
    parse_report(report_line)
    assert loaded == "loaded="


def test_all_int8_bundle_runs_end_to_end(tmp_path_factory) -> None:
    """Every INT8 variant (QDQ image, dynamic text, MatMulNBits decoder) loads and runs."""
    build = tiny.build_tiny_bundle(tmp_path_factory.getbasetemp() / "tiny-int8", quantize="all")
    analyzer = Analyzer.load(build.bundle, threads=1)
    files = analyzer.bundle.manifest["files"]
    assert files["image_encoder.onnx"]["precision"].startswith("int8")
    assert files["text_encoder.onnx"]["precision"] == "int8-dynamic"
    assert files["llm_decoder.onnx"]["precision"] == "int8-matmulnbits"
    assert files["image_calibration.json"]["role"] == "calibration"
    obs = analyzer.analyze(_frame(), _audio())
    assert sum(obs.heads["affective_state"].values()) == pytest.approx(1.0, abs=1e-4)
    report = Reporter.load(analyzer.bundle, threads=1).report([obs])
    assert parse_report(report.to_json()).modalities_used == ("image", "audio")
