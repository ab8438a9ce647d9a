"""The default model's small committed parts: pack (int4/int8/fp16), assemble (pinned, verified), card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from purrsight_model.align.packed_weights import expand, is_packed, shrink
from purrsight_model.default_model import AssembleError, assemble, is_current
from purrsight_model.default_model.assemble import RECORD, STAMP, compare_files
from purrsight_model.default_model.card import END, START, render, summary, update_card
from purrsight_model.default_model.pack import pack, source_digest, unpack
from purrsight_model.export.bundle import pins_of
from purrsight_model.export.tiny import build_tiny_bundle
from purrsight_model.runtime import load_bundle
from purrsight_model.runtime.reporter import Reporter, WindowInputs


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_bundle(tmp_path_factory.mktemp("tinybuild"))


@pytest.fixture(scope="module")
def parts(tiny, tmp_path_factory) -> Path:
    """Packed parts + a record pinned to what the measured tiny export chose."""
    src = tmp_path_factory.mktemp("parts")
    pack(tiny.align_run, tiny.instruct_run, src)
    manifest = json.loads((tiny.bundle / "manifest.json").read_text())
    (src / RECORD).write_text(json.dumps({"pins": pins_of(manifest)}))
    return src


def _assemble(parts: Path, out: Path, tiny, **kw) -> Path:
    # the tiny tokenizer is trained per call: share one set of sources so that only the
    # export itself is under test (the packaged tokenizers are plain files)
    return assemble(parts, out, sources=tiny.sources, llm=str(tiny.instruct_run.parent / "llm"),
                    threads=1, **kw)


def test_pack_stores_small_weights_without_local_paths(tiny, parts) -> None:
    blob = torch.load(parts / "align" / "model.pt", weights_only=False)
    state = blob["state_dict"]
    packed = {k for k, v in state.items() if is_packed(v)}
    assert packed and all(state[k]["int4"].dtype == torch.uint8 for k in packed)
    floats = {k: v for k, v in state.items() if k not in packed and v.is_floating_point()}
    probes = {k for k in floats if k.startswith("probes.")}
    assert probes and all(floats[k].dtype == torch.float32 for k in probes)  # kept exact
    assert all(v.dtype == torch.float16 for k, v in floats.items() if k not in probes)
    assert blob["config"]["data"] == "" and blob["config"]["cache"] == ""
    assert "llm_folder" not in (parts / "instruct" / "config.yaml").read_text()
    assert (parts / "align" / "model.pt").stat().st_size < (
        tiny.align_run / "model.pt").stat().st_size
    projector = torch.load(parts / "instruct" / "adapter.pt", weights_only=False)["projector"]
    rows = {k for k, v in projector.items() if is_packed(v)}  # tiny: maybe none
    assert all(projector[k]["int8"].dtype == torch.int8 for k in rows)
    assert all(v.dtype == torch.float16 for k, v in projector.items() if k not in rows)


def test_a_packed_adapter_reads_back_through_the_phase2_loader(tmp_path) -> None:
    from purrsight_model.default_model.pack import _copy_weights
    from purrsight_model.instruct.checkpoint import RUN_MARKER, load_weights

    w = torch.randn(256, 64)
    blob = {"projector": {"maps.audio.0.weight": w, "maps.audio.0.bias": torch.randn(256)},
            "lora": {"a": torch.randn(4, 8)}, "lora_names": ["x"]}
    (tmp_path / "run").mkdir()
    torch.save(blob, tmp_path / "run" / RUN_MARKER)
    (tmp_path / "packed").mkdir()
    _copy_weights(tmp_path / "run" / RUN_MARKER, tmp_path / "packed" / RUN_MARKER,
                  torch.float16, packed=True)
    stored = torch.load(tmp_path / "packed" / RUN_MARKER, weights_only=False)["projector"]
    assert stored["maps.audio.0.weight"]["int8"].dtype == torch.int8
    back = load_weights(tmp_path / "packed")
    step = w.abs().amax(1, keepdim=True) / 127
    assert torch.all((back["projector"]["maps.audio.0.weight"] - w).abs() <= step * 0.51)
    assert back["lora"]["a"].dtype == torch.float16 and back["lora_names"] == ["x"]


def test_unpack_restores_what_pack_stored_as_fp32(tiny, parts, tmp_path) -> None:
    align, instruct = unpack(parts, tmp_path, llm="/some/llm")
    for run, name, key, fmt in ((align, "model.pt", "state_dict", "int4"),
                                (instruct, "adapter.pt", "projector", "int8")):
        got = torch.load(run / name, weights_only=False)[key]
        trained = tiny.align_run if name == "model.pt" else tiny.instruct_run
        ref = torch.load(trained / name, weights_only=False)[key]
        for k, v in ref.items():
            assert got[k].dtype == v.dtype
            if k.startswith("probes."):
                assert torch.equal(got[k], v), k
            elif is_packed(stored := shrink({k: v}, fmt)[k]):  # exactly the packed numbers
                assert torch.equal(got[k], expand({k: stored})[k]), k
            elif v.is_floating_point():
                assert torch.equal(got[k], v.half().float()), k
    assert "/some/llm" in (instruct / "config.yaml").read_text()


def test_assemble_is_reproducible_and_verified(tiny, parts, tmp_path) -> None:
    first = _assemble(parts, tmp_path / "a", tiny, verify=False)
    manifest = json.loads((first / "manifest.json").read_text())
    record = {**json.loads((parts / RECORD).read_text()), "files": manifest["files"]}
    (parts / RECORD).write_text(json.dumps(record))
    assert not is_current(first, parts)  # the record changed since
    second = _assemble(parts, tmp_path / "b", tiny)  # a fresh rebuild matches every hash
    assert compare_files(json.loads((second / "manifest.json").read_text()), record) == []
    assert is_current(second, parts)
    stamp = (second / STAMP).stat().st_mtime_ns
    assert _assemble(parts, second, tiny) == second  # up to date: nothing rebuilt
    assert (second / STAMP).stat().st_mtime_ns == stamp
    assert json.loads((second / STAMP).read_text())["verified"] is True
    shipped = torch.load(second / "src" / "align" / "model.pt", weights_only=False)
    assert next(iter(shipped["state_dict"].values())).dtype == torch.float16  # small to ship
    assert (second / "src" / "instruct" / "adapter.pt").is_file()  # fine-tuning starts here
    bundle = load_bundle(second)
    vec = np.ones(16, np.float32) / 4.0
    report = Reporter(bundle, threads=1).report_from(
        WindowInputs(vec, None, {"affective_state": ("content", 0.9)}))
    assert report.modalities_used == ("image",)


def test_assemble_refuses_a_mismatch_and_keeps_the_old_bundle(tiny, parts, tmp_path) -> None:
    good = _assemble(parts, tmp_path / "good", tiny, verify=False)
    before = (good / "manifest.json").read_bytes()
    record = json.loads((parts / RECORD).read_text())
    name = "aligner.onnx"
    record["files"] = {name: {"sha256": "0" * 64}}
    bad_src = tmp_path / "bad"
    for sub in ("align", "instruct"):
        (bad_src / sub).mkdir(parents=True)
        for f in (parts / sub).iterdir():
            (bad_src / sub / f.name).write_bytes(f.read_bytes())
    (bad_src / RECORD).write_text(json.dumps(record))
    with pytest.raises(AssembleError, match=name):
        _assemble(bad_src, good, tiny)
    assert (good / "manifest.json").read_bytes() == before
    assert not list(tmp_path.glob("good.old")) and not list(tmp_path.glob(".assemble-*"))


def test_source_digest_changes_with_the_weights(parts, tmp_path) -> None:
    copy = tmp_path / "copy"
    for sub in ("align", "instruct"):
        (copy / sub).mkdir(parents=True)
        for f in (parts / sub).iterdir():
            (copy / sub / f.name).write_bytes(f.read_bytes())
    (copy / RECORD).write_bytes((parts / RECORD).read_bytes())
    assert source_digest(copy) == source_digest(parts)
    (copy / "align" / "model.pt").write_bytes(b"changed")
    assert source_digest(copy) != source_digest(parts)


def test_missing_record_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(AssembleError, match="build-default"):
        assemble(tmp_path, tmp_path / "out")


def test_card_numbers_block_is_replaced_not_duplicated(tmp_path) -> None:
    result = {"evaluated": 10,
              "heads": {"catsound10": {"accuracy": 0.8, "macro_f1": 0.7, "n": 10}},
              "catmeows_grouped_by_cat": {"macro_f1": 0.55}, "call_type": None,
              "reports": {"n": 4, "validity": 1.0,
                          "field_accuracy": {"affective_state": {"accuracy": 0.5, "n": 4}}}}
    record = {"test": summary(result), "seconds": {"align": 120.0}}
    card = tmp_path / "MODEL_CARD.md"
    card.write_text(f"# Card\n\nprose\n\n{START}\nold\n{END}\n\nmore prose\n")
    update_card(card, record)
    update_card(card, record)
    text = card.read_text()
    assert text.count(START) == 1 and "old" not in text and "more prose" in text
    assert "| 0.800 | no (short by 0.020) |" in text
    assert "| 0.550 | yes |" in text and "n/a" in text
    assert "affective_state 0.50" in text


def test_reused_training_runs_keep_the_times_of_the_build_that_trained_them(tmp_path) -> None:
    from purrsight_model.default_model.build import _prior_seconds, _reused_runs

    runs = tmp_path / "runs"
    for name, files in (("align-val", ("model.pt", "metrics.json")),
                        ("align", ("model.pt", "metrics.json")), ("instruct", ("adapter.pt",))):
        (runs / name).mkdir(parents=True)
        for f in files:
            (runs / name / f).write_text("x")
    assert _reused_runs(runs) == ("align",)  # Phase 2 never finished: it trains again
    (tmp_path / RECORD).write_text(json.dumps({"seconds": {"align": 900.0, "instruct": 1.0}}))
    seconds = {"convert": 1.0, **_prior_seconds(tmp_path, ("align",))}
    assert seconds == {"convert": 1.0, "align": 900.0, "reused": ["align"]}
    result = {"evaluated": 1, "heads": {}, "catmeows_grouped_by_cat": None, "call_type": None,
              "reports": None}
    block = render({"test": summary(result), "seconds": seconds})
    assert "align 15.0 min (in the build that trained the reused runs)" in block
    assert "convert 0.0 min" in block and "reused" not in block.replace("reused runs", "")
