"""Bundle verification: corrupt, truncated, missing or mismatched bundles fail with one clear
BundleError naming the problem (the app then falls back to its default bundle)."""

from __future__ import annotations

import json
import shutil

import pytest

from purrsight_model.export import tiny
from purrsight_model.runtime import Analyzer, BundleError, Reporter, load_bundle
from purrsight_model.runtime.bundle import MANIFEST


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A small bundle without a report model (fp32: fastest to build)."""
    return tiny.build_tiny_bundle(tmp_path_factory.getbasetemp() / "tiny-analyzer",
                                  report=False, quantize=False).bundle


@pytest.fixture
def copy(good, tmp_path):
    dst = tmp_path / "bundle"
    shutil.copytree(good, dst)
    return dst


def _manifest(path):
    return json.loads((path / MANIFEST).read_text())


def _write_manifest(path, manifest) -> None:
    (path / MANIFEST).write_text(json.dumps(manifest))


def test_good_bundle_loads(good) -> None:
    bundle = load_bundle(good)
    assert bundle.heads["arousal"] == ("low", "medium", "high")
    assert not bundle.has_reporter and bundle.path("aligner").name == "aligner.onnx"


def test_flipped_byte_is_detected(copy) -> None:
    target = copy / "aligner.onnx"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"aligner\.onnx is corrupt"):
        load_bundle(copy)
    with pytest.raises(BundleError, match="corrupt"):
        Analyzer.load(copy)


def test_truncated_and_missing_files(copy) -> None:
    target = copy / "image_encoder.onnx"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(BundleError, match=r"image_encoder\.onnx has 100 bytes"):
        load_bundle(copy)
    target.unlink()
    with pytest.raises(BundleError, match=r"image_encoder\.onnx is missing"):
        load_bundle(copy)


def test_schema_version_mismatch(copy) -> None:
    manifest = _manifest(copy)
    manifest["schema_version"] = "0.9"
    _write_manifest(copy, manifest)
    with pytest.raises(BundleError, match="schema '0.9'"):
        load_bundle(copy)


def test_bad_manifests(copy, tmp_path) -> None:
    with pytest.raises(BundleError, match="not found"):
        load_bundle(tmp_path / "nowhere")
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path)
    (copy / MANIFEST).write_text("{not json")
    with pytest.raises(BundleError, match="cannot read"):
        load_bundle(copy)
    _write_manifest(copy, {"format": "something-else"})
    with pytest.raises(BundleError, match="not a purrsight-bundle"):
        load_bundle(copy)


def test_file_outside_bundle_and_missing_role_refused(good, copy) -> None:
    manifest = _manifest(copy)
    manifest["files"]["../evil.onnx"] = manifest["files"].pop("aligner.onnx")
    _write_manifest(copy, manifest)
    with pytest.raises(BundleError, match="outside the bundle"):
        load_bundle(copy)
    manifest = _manifest(good)
    del manifest["files"]["aligner.onnx"]
    _write_manifest(copy, manifest)
    with pytest.raises(BundleError, match="no aligner graph"):
        load_bundle(copy)


def test_reporter_needs_a_report_model(good) -> None:
    with pytest.raises(BundleError, match="no report model"):
        Reporter.load(good)


def test_unloadable_graph_with_matching_hash(copy) -> None:
    """A file whose hash was re-recorded but which is not ONNX still fails as BundleError."""
    target = copy / "aligner.onnx"
    target.write_bytes(b"not an onnx graph")
    manifest = _manifest(copy)
    from purrsight_model.runtime.bundle import sha256_file

    manifest["files"]["aligner.onnx"].update(bytes=target.stat().st_size,
                                             sha256=sha256_file(target))
    _write_manifest(copy, manifest)
    with pytest.raises(BundleError, match="onnxruntime cannot load"):
        Analyzer.load(copy)


def test_default_bundle_from_environment(good, monkeypatch, tmp_path) -> None:
    from purrsight_model.runtime import default_bundle

    monkeypatch.setenv("PURRSIGHT_DEFAULT_BUNDLE", str(good))
    assert default_bundle() == good
    monkeypatch.setenv("PURRSIGHT_DEFAULT_BUNDLE", str(tmp_path))  # no manifest there
    found = default_bundle()
    assert found is None or (found / MANIFEST).is_file()


def test_default_bundle_can_be_switched_off(monkeypatch) -> None:
    from purrsight_model.runtime import default_bundle

    monkeypatch.setenv("PURRSIGHT_DEFAULT_BUNDLE", "none")
    assert default_bundle() is None
