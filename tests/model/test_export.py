"""Export of a tiny Phase 1 + Phase 2 run to a bundle: manifest, graph parity with torch,
the KV-cache decoder contract (past kv, soft prompts, advancing position ids)."""

from __future__ import annotations

import json
from argparse import Namespace

import numpy as np
import pytest
import torch

from purrsight_model.align.checkpoint import load_align_run
from purrsight_model.cli_export import run as cli_run
from purrsight_model.export import ExportError, export_bundle, tiny
from purrsight_model.export.aligner import INPUTS, example_inputs
from purrsight_model.export.common import ort_session
from purrsight_model.export.report_model import load_report_model
from purrsight_model.instruct.lora import merge_lora
from purrsight_model.runtime.bundle import load_bundle, sha256_file
from purrsight_model.runtime.llm import CachedStep, DecoderSession, DecoderSpec
from purrsight_model.schema import SCHEMA_VERSION


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    b = tiny.build_tiny_bundle(tmp_path_factory.getbasetemp() / "tiny-full")
    return {"sources": b.sources, "align_run": b.align_run, "instruct_run": b.instruct_run,
            "bundle": b.bundle}


def test_manifest_describes_every_file_and_decision(built) -> None:
    bundle = load_bundle(built["bundle"])
    m = bundle.manifest
    assert m["schema_version"] == SCHEMA_VERSION
    assert m["align_run"]["run_id"] == "align" and m["instruct"]["run_id"] == "instruct"
    assert set(m["heads"]) == {"affective_state", "vocalization", "arousal"}
    on_disk = {p.name for p in built["bundle"].iterdir()} - {"manifest.json"}
    assert set(m["files"]) == on_disk
    for name, meta in m["files"].items():
        assert meta["sha256"] == sha256_file(built["bundle"] / name)
    for graph in ("image_encoder", "audio_encoder", "text_encoder", "llm_decoder"):
        assert m["quantization"][graph]["chosen"] and m["quantization"][graph]["reason"]
    llm_q = m["quantization"]["llm_decoder"]["candidates"]
    assert llm_q["fp32+float32"]["reports_equal_torch"] == "8/8"
    assert llm_q["fp32+float32"]["field_agreement"] == 1.0
    assert any(k.startswith("int8-matmulnbits") for k in llm_q)  # INT8 built and measured
    for name, p in m["parity"].items():
        assert p["rel_diff"] <= p["tolerance"], name
    assert m["packages"]["onnxruntime"] and m["provenance"]
    assert m["llm"]["n_layers"] == 2 and m["instruct"]["k_tokens"] == 2


def test_aligner_graph_matches_torch_for_every_presence_pattern(built) -> None:
    model = load_align_run(built["align_run"])
    x = example_inputs(model, b=4, f=3, p=5, seed=7)
    x[1][3] = 0.0  # row 3: neither modality
    x[3][3] = 0.0
    session = ort_session(load_bundle(built["bundle"]).path("aligner"))
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(names, dict(zip(INPUTS, x, strict=True))), strict=True))
    t = [torch.from_numpy(a) for a in x]
    with torch.no_grad():
        img = model.embed_image(t[0], t[1] > 0.5) * (t[1].amax(-1, keepdim=True) > 0.5)
        aud = model.embed_audio(t[2], t[3] > 0.5, t[4]) * (t[3].amax(-1, keepdim=True) > 0.5)
        logits = model.classify_media(img, t[1].amax(-1) > 0.5, aud, t[3].amax(-1) > 0.5,
                                      t[2], t[3] > 0.5, t[4])
        plain = model.classify(img, t[1].amax(-1) > 0.5, aud, t[3].amax(-1) > 0.5)
    assert "vocalization" in model.probes  # the tiny run carries a fitted linear probe
    heard = t[3].amax(-1) > 0.5
    assert not np.allclose(logits["vocalization"][heard], plain["vocalization"][heard].log_softmax(-1))
    np.testing.assert_allclose(got["image_vec"], img.numpy(), atol=1e-5)
    np.testing.assert_allclose(got["audio_vec"], aud.numpy(), atol=1e-5)
    for head, lg in logits.items():
        np.testing.assert_allclose(got[f"prob_{head}"], torch.softmax(lg, -1).numpy(), atol=1e-5)
    assert np.all(got["fused_vec"][3] == 0) and np.all(got["image_vec"][2] == 0)
    assert np.allclose(np.linalg.norm(got["fused_vec"][:3], axis=-1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def llm_pair(built):
    """(torch LM with LoRA merged, ORT decoder session, embedding table, projector)."""
    loaded = load_report_model(built["instruct_run"])
    merge_lora(loaded.llm.model)
    bundle = load_bundle(built["bundle"])
    assert bundle.manifest["files"]["llm_decoder.onnx"]["precision"] == "fp32"
    decoder = DecoderSession(bundle.path("llm_decoder"),
                             DecoderSpec.from_manifest(bundle.section("llm")), threads=1)
    table = np.load(bundle.path("llm_embeddings")).astype(np.float32)
    return loaded, decoder, table


def _soft_prompt(loaded, table, n_ids: int = 12) -> tuple[np.ndarray, list[int]]:
    """Prompt rows with the projector's 4 soft tokens at positions 3..6, and follow-up ids."""
    rng = np.random.default_rng(3)
    ids = rng.integers(3, table.shape[0], n_ids)
    vec = torch.nn.functional.normalize(torch.randn(1, 16), dim=-1)
    with torch.no_grad():
        soft = loaded.model.projector({"image": vec, "audio": vec},
                                      {"image": torch.tensor([True]),
                                       "audio": torch.tensor([False])})[0].numpy()
    rows = table[ids].copy()
    rows[3:7] = soft
    return rows, [int(i) for i in rng.integers(3, table.shape[0], 6)]


def test_decoder_logits_match_torch_with_soft_prompt_and_cache(llm_pair) -> None:
    loaded, decoder, table = llm_pair
    prompt, follow = _soft_prompt(loaded, table)
    step = CachedStep(decoder, table, prompt)
    lm = loaded.llm.model
    with torch.no_grad():
        out = lm(inputs_embeds=torch.from_numpy(prompt[None]), use_cache=True)
        past, n = out.past_key_values, len(prompt)
        got = step([])  # prompt only
        np.testing.assert_allclose(got, out.logits[0, -1].numpy(), atol=1e-4)
        for chunk in ([follow[0]], follow[1:4], [follow[4]]):  # single ids and a forced run
            rows = torch.from_numpy(table[chunk][None])  # the bundle's (maybe fp16) rows
            res = lm(inputs_embeds=rows, past_key_values=past, use_cache=True,
                     attention_mask=torch.ones(1, n + len(chunk), dtype=torch.long))
            past, n = res.past_key_values, n + len(chunk)
            np.testing.assert_allclose(step(chunk), res.logits[0, -1].numpy(), atol=1e-4)
    assert step.length == n and step.calls == [len(prompt), 1, 3, 1]


def test_position_ids_advance_with_the_cache(llm_pair, monkeypatch) -> None:
    _, decoder, table = llm_pair
    prompt = table[[5, 6, 7, 8, 9]]
    seen = []
    real_run = decoder.session.run

    def spy(names, feed):
        seen.append((feed["position_ids"].copy(), feed["attention_mask"].shape[1]))
        return real_run(names, feed)

    monkeypatch.setattr(decoder.session, "run", spy)
    split = CachedStep(decoder, table, prompt)
    split([])
    split([10, 11])
    last = split([12])
    assert [p.tolist() for p, _ in seen] == [[[0, 1, 2, 3, 4]], [[5, 6]], [[7]]]
    assert [m for _, m in seen] == [5, 7, 8]
    whole = CachedStep(decoder, table, table[[5, 6, 7, 8, 9, 10, 11, 12]])([])
    np.testing.assert_allclose(last, whole, atol=1e-4)  # incremental == one pass
    # and the check is sensitive: a cache step whose positions restart at 0 differs
    def restart_positions(self, embeds, past, past_len):
        s = embeds.shape[1]
        feed = {"inputs_embeds": embeds.astype(np.float32),
                "attention_mask": np.ones((1, past_len + s), np.int64),
                "position_ids": np.arange(s, dtype=np.int64)[None],
                **dict(zip(self.past_names, past, strict=True))}
        logits, *presents = real_run(self.outputs, feed)
        return logits[0], presents

    monkeypatch.setattr(DecoderSession, "run", restart_positions)
    broken = CachedStep(decoder, table, prompt)
    broken([])
    broken([10, 11])
    assert np.abs(broken([12]) - whole).max() > 1e-3


def test_export_errors_name_the_problem(built, tmp_path) -> None:
    with pytest.raises(ExportError, match="not empty"):
        export_bundle(built["align_run"], None, built["bundle"], sources=built["sources"])
    with pytest.raises(ExportError, match="Phase 1 run"):
        export_bundle(tmp_path / "nope", None, tmp_path / "b", sources=built["sources"])
    with pytest.raises(ExportError, match="Phase 2 run"):
        export_bundle(built["align_run"], tmp_path, tmp_path / "b2", sources=built["sources"])
    assert not (tmp_path / "b2").exists() or not any((tmp_path / "b2").iterdir())


def test_cli_export_without_report_model(built, tmp_path, monkeypatch, capsys) -> None:
    import purrsight_model.export as export_pkg

    monkeypatch.setattr(export_pkg, "packaged_sources", lambda cfg: built["sources"])
    real = export_pkg.export_bundle

    def with_tiny_sources(*args, **kw):
        return real(*args, sources=built["sources"], **kw)

    monkeypatch.setattr(export_pkg, "export_bundle", with_tiny_sources)
    args = Namespace(run=built["align_run"], out=tmp_path / "b", instruct_run=None,
                     calibration=None, no_quantize=True, threads=1)
    assert cli_run(args) == 0
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert "llm_decoder.onnx" not in manifest["files"]
    assert all(q["chosen"] in ("fp32", "float") for q in manifest["quantization"].values())
    assert "image_encoder.onnx" in capsys.readouterr().out


def test_int8_image_graph_rebuilds_from_its_calibration_cache(tmp_path) -> None:
    """The saved activation ranges reproduce the INT8 graph without the calibration frames."""
    from purrsight_model.export.calibration import calibration_set
    from purrsight_model.export.image import export_image
    from purrsight_model.export.quantize import quantize_image_static

    torch.manual_seed(0)
    cal = calibration_set(None, n=8)
    fp32 = tmp_path / "fp32.onnx"
    export_image(tiny.TinyImageNet().eval(), fp32, cal.evaluate)
    cache = tmp_path / "calibration.json"
    first = quantize_image_static(fp32, tmp_path / "a.onnx", cal.calibrate, cache)
    assert json.loads(cache.read_text())  # ranges were written
    again = quantize_image_static(fp32, tmp_path / "b.onnx", None, cache)
    x = {"pixels": cal.evaluate}
    out_a, out_b = ort_session(first).run(None, x), ort_session(again).run(None, x)
    for a, b in zip(out_a, out_b, strict=True):
        np.testing.assert_array_equal(a, b)
    ref = ort_session(fp32).run(None, x)[0]
    cos = (ref * out_a[0]).sum(-1) / np.linalg.norm(ref, axis=-1) / np.linalg.norm(out_a[0], axis=-1)
    assert cos.min() > 0.95  # INT8 stays close to fp32 on the tiny net
