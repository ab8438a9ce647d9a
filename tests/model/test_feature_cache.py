"""Feature cache with tiny fake encoders: layout, resume, re-run, errors, reader, load_split."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from purrsight_model.data import cli_features
from purrsight_model.data.augment import AugmentConfig
from purrsight_model.data.feature_batch import load_split
from purrsight_model.data.feature_cache import FeatureConfig, build_augmented, build_cache
from purrsight_model.data.feature_store import FeatureCache
from purrsight_model.data.jsonl import JsonlDataset, write_jsonl
from purrsight_model.encoders.base import AudioFeatures, ImageFeatures
from tests.model.test_data_fixtures import tone, write_audio, write_image, write_video


class FakeImage:
    """Embedding = per-channel means + size; cat score = mean red / 255."""

    kind, dim, version = "fakeimg", 5, "fakeimg-000000000001"

    def __init__(self) -> None:
        self.images = 0

    def encode(self, images):
        self.images += len(images)
        emb = np.array([[*im.reshape(-1, 3).mean(0), im.shape[0], im.shape[1]] for im in images],
                       np.float32)  # [N, 5]
        return ImageFeatures(emb, emb[:, 0] / 255.0, None)


def patches(n_samples: int) -> int:
    """Patch count of the fake audio encoder: one per 0.5 s, at least one."""
    return max(1, round(n_samples / 8000))


class FakeAudio:
    """``patches(n)`` patches; embedding = [rms, length]; 3 fake class scores."""

    kind, dim, version, sample_rate = "fakeaud", 2, "fakeaud-000000000001", 16000

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls, self.fail_after = 0, fail_after

    def encode(self, waveform):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt  # simulates Ctrl-C in the middle of a run
        self.calls += 1
        p = patches(waveform.size)
        emb = np.tile([np.sqrt(np.mean(waveform**2)), waveform.size], (p, 1)).astype(np.float32)
        return AudioFeatures(emb, np.full((p, 3), 0.5, np.float32))


class FakeText:
    kind, dim, version = "faketxt", 4, "faketxt-000000000001"

    def __init__(self) -> None:
        self.texts = 0

    def encode(self, texts):
        self.texts += len(texts)
        v = np.array([[len(t), t.count("a"), t.count("e"), 1.0] for t in texts], np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    for i, (sr, sec) in enumerate([(8000, 1.0), (22050, 2.0), (44100, 0.5), (16000, 3.0)]):
        write_audio(media / f"a{i}.wav", tone(300 + 50 * i, sr, sec, 2 if i % 2 else 1), sr)
    shutil.copy(media / "a0.wav", media / "a0_copy.wav")  # same content, other name
    write_image(media / "i0.png")
    write_image(media / "i1.jpg", np.full((20, 30, 3), 200, np.uint8))
    write_video(media / "v0.mp4", seconds=2.0, fps=10)
    write_video(media / "v1.avi", seconds=1.5, fps=10, with_audio=False)
    (media / "broken.mp3").write_bytes(b"ID3" + bytes(range(256)) * 8)
    rows = [{"text": f"cat sound {i}", "audio": f"media/a{i}.wav"} for i in range(4)]
    rows += [{"text": "copy of a0", "audio": "media/a0_copy.wav"},
             {"text": "a cat photo", "image": "media/i0.png"},
             {"text": "a cat photo", "image": "media/i1.jpg"},  # same caption: one text entry
             {"text": "a cat video", "video": "media/v0.mp4"},
             {"text": "a silent video", "video": "media/v1.avi"},
             {"text": "broken", "audio": "media/broken.mp3"},
             {"text": "missing", "audio": "media/nope.wav"}]
    path = tmp_path / "set.jsonl"
    write_jsonl(path, rows)
    return path


def _build(dataset: Path, out: Path, audio=None, workers: int = 2):
    rows = list(JsonlDataset(dataset))
    encs = {"image": FakeImage(), "audio": audio or FakeAudio(), "text": FakeText()}
    run = build_cache(rows, out, cfg=FeatureConfig(workers=workers, image_batch=2),
                      progress=False, **encs)
    return rows, run, encs


def test_first_run_layout_and_errors(dataset: Path, tmp_path: Path):
    out = tmp_path / "cache"
    _, run, encs = _build(dataset, out)
    assert run.computed == {"audio": 4, "image": 2, "video": 2, "text": 10}
    assert run.cached["audio"] == 1  # the copy shares a0's content hash
    assert sorted(Path(p).name for p, _ in run.errors) == ["broken.mp3", "nope.wav"]
    assert all(Path(p).name in reason for p, reason in run.errors)
    sha = hashlib.sha256((dataset.parent / "media/a1.wav").read_bytes()).hexdigest()
    assert (out / FakeAudio.version / sha[:2] / f"{sha}.npz").is_file()
    vsha = hashlib.sha256((dataset.parent / "media/v0.mp4").read_bytes()).hexdigest()
    assert (out / FakeImage.version / vsha[:2] / f"{vsha}.fps2.npz").is_file()
    assert encs["image"].images == 2 + 4 + 3  # two stills + frames at 2 fps of 2 s and 1.5 s
    assert not list(out.rglob("*.tmp"))
    meta = json.loads((out / "cache.json").read_text())
    assert meta["audio"] == {"version": FakeAudio.version, "dim": 2} and meta["fps"] == 2.0


def test_second_run_computes_nothing(dataset: Path, tmp_path: Path):
    out = tmp_path / "cache"
    _build(dataset, out)
    _, run, encs = _build(dataset, out, workers=0)
    assert not run.computed
    assert run.cached == {"audio": 5, "image": 2, "video": 2, "text": 10}
    assert encs["audio"].calls == encs["image"].images == encs["text"].texts == 0
    assert len(run.errors) == 2  # still reported, still not fatal


def test_resume_after_interruption(dataset: Path, tmp_path: Path):
    out = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        _build(dataset, out, audio=FakeAudio(fail_after=2))
    stored = list((out / FakeAudio.version).rglob("*.npz"))
    assert len(stored) == 2 and not list(out.rglob("*.tmp"))
    _, run, encs = _build(dataset, out)
    assert run.computed["audio"] == 2 and run.cached["audio"] == 3
    assert encs["audio"].calls == 2 + 1  # the two remaining files + the video's track


def test_reader(dataset: Path, tmp_path: Path):
    out = tmp_path / "cache"
    _build(dataset, out)
    cache = FeatureCache(out)  # versions come from cache.json
    a1 = dataset.parent / "media/a1.wav"
    feats = cache.audio(a1)
    assert feats.embedding.shape == (4, 2) and feats.scores.shape == (4, 3)  # 2 s -> 4 patches
    assert feats.embedding[0, 1] == 32000  # 2 s at 16 kHz after resampling from 22.05 kHz
    assert np.array_equal(cache.audio(cache.sha(a1)).embedding, feats.embedding)
    img = cache.image(dataset.parent / "media/i1.jpg")
    assert img.embedding.shape == (1, 5) and img.embedding[0, 3:].tolist() == [20, 30]
    video = cache.video(dataset.parent / "media/v0.mp4")
    assert video.frames.embedding.shape == (4, 5) and video.frame_times.tolist() == [0, .5, 1, 1.5]
    assert video.audio is not None and video.audio.embedding.shape[0] >= 3
    silent = cache.video(dataset.parent / "media/v1.avi")
    assert silent.audio is None and silent.frames.embedding.shape == (3, 5)
    assert cache.text("a cat photo").shape == (4,) and cache.text("never seen") is None
    assert cache.audio(dataset.parent / "media/broken.mp3") is None
    assert FeatureCache(out, audio_version="other-v1").audio(a1) is None


def test_load_split_shapes_and_masks(dataset: Path, tmp_path: Path):
    out = tmp_path / "cache"
    rows, _, _ = _build(dataset, out)
    batch = load_split(rows, FeatureCache(out))
    assert batch.index.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert batch.missing == [9, 10]
    n = 9
    assert batch.image.shape == (n, 4, 5) and batch.image_mask.shape == (n, 4)
    assert batch.image_mask.sum(1).tolist() == [0, 0, 0, 0, 0, 1, 1, 4, 3]
    assert batch.audio_mask[8].sum() == 0  # video without a track
    assert batch.audio.shape == (n, 6, 2) and batch.audio_scores.shape == (n, 6, 3)
    assert batch.audio_mask.sum(1).tolist()[:5] == [2, 4, 1, 6, 2]  # 1, 2, 0.5, 3, 1 s
    assert batch.audio_mask[5:7].sum() == 0 and batch.audio_mask[7].sum() >= 3
    assert not batch.audio[~batch.audio_mask].any()  # padding is zero
    assert batch.image_cat[5, 0] == pytest.approx(85 / 255, abs=1)  # red stripe third
    assert batch.text.shape == (n, 4)
    assert np.allclose(np.linalg.norm(batch.text, axis=1), 1)
    capped = load_split(rows, FeatureCache(out), max_patches=2, max_frames=2)
    assert capped.audio.shape[1] == 2 and capped.image.shape[1] == 2
    assert capped.audio_mask.sum(1).tolist()[:4] == [2, 2, 1, 2]
    sel = capped.audio[3, :, 0]  # evenly spread patches of a constant-rms tone: same rows
    assert np.allclose(sel, batch.audio[3, 0, 0])


def _run_cli_features(dataset: Path, out: Path, monkeypatch: pytest.MonkeyPatch,
                      *extra: str) -> int:
    """``purrsight-model features DATASET --out OUT ...`` with fake encoders."""
    fakes = {"image": FakeImage(), "audio": FakeAudio(), "text": FakeText()}
    monkeypatch.setattr(cli_features, "_load_encoders",
                        lambda args, need: {k: v for k, v in fakes.items() if k in need})
    parser = argparse.ArgumentParser()
    cli_features.add_parser(parser.add_subparsers())
    args = parser.parse_args(["features", str(dataset), "--out", str(out), "--no-progress",
                              *extra])
    return args.func(args)


def test_cli_features(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "cache"
    assert _run_cli_features(dataset, out, monkeypatch, "--workers", "1") == 0
    printed = capsys.readouterr().out
    assert "errors: 2" in printed and "broken.mp3" in printed
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == 2


# --- augmented copies -----------------------------------------------------------------------

def _split_rows(dataset: Path) -> list:
    """The fixture's rows with splits: a0, a2 and the images train; a1 val; a3 test."""
    rows = list(JsonlDataset(dataset))
    splits = {"media/a1.wav": "val", "media/a3.wav": "test"}
    out = []
    for row in rows:
        rel = str(row.media.get("audio", "")).split(str(dataset.parent) + "/")[-1]
        out.append(dataclasses.replace(row, split=splits.get(rel, "train")))
    return out


def _augment(rows, out: Path, audio=None, copies: int = 2, **kw):
    encs = {"image": FakeImage(), "audio": audio or FakeAudio()}
    aug = AugmentConfig(copies=copies, noise_prob=0.0, mix_prob=1.0)
    run = build_augmented(rows, out, aug, cfg=FeatureConfig(workers=1), progress=False,
                          **encs, **kw)
    return aug, run, encs


def test_augmented_copies_only_for_training_rows(dataset: Path, tmp_path: Path):
    out = tmp_path / "cache"
    rows = _split_rows(dataset)
    build_cache(rows, out, image=FakeImage(), audio=FakeAudio(), text=FakeText(),
                cfg=FeatureConfig(workers=0), progress=False)
    aug, run, _ = _augment(rows, out)
    # train media: a0 (+ its copy, same content), a2, two images, two videos; val/test: none
    assert run.computed == {"audio+aug": 2 * 2, "image+aug": 2 * 2, "video+aug": 2 * 2}
    cache = FeatureCache(out)
    a1, a2 = dataset.parent / "media/a1.wav", dataset.parent / "media/a2.wav"
    assert cache.audio(a1, aug.variant(1)) is None  # validation media stays as recorded
    copies = [cache.audio(a2, aug.variant(k)).embedding for k in (1, 2)]
    original = cache.audio(a2).embedding
    assert not np.allclose(copies[0], original) and not np.allclose(copies[0], copies[1])
    sha = cache.sha(a2)
    assert (out / FakeAudio.version / aug.recipe_id() / sha[:2] / f"{sha}.2.npz").is_file()
    assert cache.augment_recipes()[aug.recipe_id()]["copies"] == {"image": 2, "audio": 2,
                                                                  "video": 2}
    assert json.loads((out / "cache.json").read_text())["audio"]["version"] == FakeAudio.version


def test_augmented_build_resumes_with_identical_copies(dataset: Path, tmp_path: Path):
    rows = _split_rows(dataset)
    full, part = tmp_path / "full", tmp_path / "part"
    aug, _, first = _augment(rows, full)
    with pytest.raises(KeyboardInterrupt):
        _augment(rows, part, audio=FakeAudio(fail_after=1))
    _, run, encs = _augment(rows, part)
    assert encs["audio"].calls == first["audio"].calls - 1  # the stored copy is kept
    assert run.computed["audio+aug"] == 2 * 2 - 1
    for name in ("a0.wav", "a2.wav"):
        path = dataset.parent / "media" / name
        for k in (1, 2):
            a = FeatureCache(full).audio(path, aug.variant(k)).embedding
            b = FeatureCache(part).audio(path, aug.variant(k)).embedding
            assert np.array_equal(a, b)
    _, again, encs = _augment(rows, part)
    assert not again.computed and encs["audio"].calls == 0


def test_load_split_reads_a_variant_and_falls_back(dataset: Path, tmp_path: Path):
    out = tmp_path / "cache"
    rows = _split_rows(dataset)
    build_cache(rows, out, image=FakeImage(), audio=FakeAudio(), text=FakeText(),
                cfg=FeatureConfig(workers=0), progress=False)
    aug, _, _ = _augment(rows, out)
    plain = load_split(rows, FeatureCache(out))
    copy = load_split(rows, FeatureCache(out), variant=aug.variant(1))
    assert copy.index.tolist() == plain.index.tolist()
    assert copy.original == [1, 3]  # val and test rows: no copies, original features
    for i in (1, 3):
        assert np.array_equal(copy.audio[i], plain.audio[i])
    assert not np.allclose(copy.audio[2, 0], plain.audio[2, 0])  # a2 is a training row
    assert not np.allclose(copy.image[5], plain.image[5])  # so is the photo i0
    with pytest.raises(ValueError, match="variant"):
        load_split(rows, FeatureCache(out), variant="no-slash")


def test_cli_features_augment(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "cache"
    assert _run_cli_features(dataset, out, monkeypatch, "--workers", "0", "--augment", "3",
                             "--augment-images", "5") == 0
    printed = capsys.readouterr().out
    assert "3 copies per training clip, 5 per photo" in printed
    assert "'audio+aug': 12" in printed and "'image+aug': 10" in printed
    (recipe,) = FeatureCache(out).augment_recipes()
    assert FeatureCache(out).audio(dataset.parent / "media/a3.wav", f"{recipe}/3") is not None


def test_validation_copies_for_a_refit_but_never_test(dataset: Path, tmp_path: Path):
    out = tmp_path / "cache"
    rows = _split_rows(dataset)
    aug, run, _ = _augment(rows, out, splits=("train", "val", None))
    cache = FeatureCache(out)
    media = dataset.parent / "media"
    assert cache.audio(media / "a1.wav", aug.variant(2)) is not None  # val: for a refit
    assert cache.audio(media / "a3.wav", aug.variant(1)) is None  # test: never
    assert run.computed["audio+aug"] == 3 * 2
    with pytest.raises(ValueError, match="test"):
        _augment(rows, out, splits=("train", "test"))
