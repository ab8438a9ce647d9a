"""Phase 1 data from a real (tiny, fake-encoder) feature cache: splits, refit, copies."""

from __future__ import annotations

import numpy as np
import pytest

from purrsight_model.align.config import AlignConfig
from purrsight_model.align.dataset import load_align_data
from purrsight_model.data.augment import AugmentConfig
from purrsight_model.data.feature_cache import FeatureConfig, build_augmented, build_cache
from purrsight_model.data.jsonl import JsonlDataset, write_jsonl
from purrsight_model.progress import TrainingError
from tests.model.test_data_fixtures import tone, write_audio, write_image
from tests.model.test_feature_cache import FakeAudio, FakeImage, FakeText


@pytest.fixture
def cached(tmp_path):
    """6 train / 2 val / 2 test rows (clips and photos) with features, no copies yet."""
    media = tmp_path / "media"
    media.mkdir()
    rows = []
    for i in range(10):
        split = "train" if i < 6 else "val" if i < 8 else "test"
        state = ("content", "aggressive")[i % 2]
        if i % 3 == 2:
            write_image(media / f"p{i}.png", np.full((16, 16, 3), 25 * i, np.uint8))
            rows.append({"text": f"photo {state}", "image": f"media/p{i}.png", "split": split,
                         "labels": {"affective_state": state}})
        else:
            write_audio(media / f"c{i}.wav", tone(200 + 40 * i, 16000, 1.0 + 0.5 * i), 16000)
            rows.append({"text": f"clip {state}", "audio": f"media/c{i}.wav", "split": split,
                         "labels": {"affective_state": state}})
    path = tmp_path / "set.jsonl"
    write_jsonl(path, rows)
    cache = tmp_path / "cache"
    build_cache(list(JsonlDataset(path)), cache, image=FakeImage(), audio=FakeAudio(),
                text=FakeText(), cfg=FeatureConfig(workers=0), progress=False)
    return path, cache


def augment(path, cache, splits=("train", None)) -> AugmentConfig:
    aug = AugmentConfig(copies=2, image_copies=3)
    build_augmented(list(JsonlDataset(path)), cache, aug, image=FakeImage(), audio=FakeAudio(),
                    cfg=FeatureConfig(workers=0), progress=False, splits=splits)
    return aug


def cfg(path, cache, **kw) -> AlignConfig:
    return AlignConfig(data=str(path), cache=str(cache), label_heads=("affective_state",),
                       **kw)


def test_train_and_val_rows_and_a_refit_on_both(cached) -> None:
    path, cache = cached
    data = load_align_data(cfg(path, cache))
    assert (len(data.train), len(data.val)) == (6, 2)
    refit = load_align_data(cfg(path, cache, fit_splits=("train", "val")))
    assert (len(refit.train), len(refit.val)) == (8, 0)  # test rows are never used


def test_copies_are_attached_per_modality(cached) -> None:
    path, cache = cached
    augment(path, cache)
    data = load_align_data(cfg(path, cache, augment_copies=2, augment_image_copies=3))
    train = data.train
    assert len(train.variants) == 3
    photos = train.image_mask.any(-1)  # rows 2 and 5 of the train split
    assert photos.sum() == 2
    assert all(np.array_equal(v.image_ok, photos) for v in train.variants)
    assert [v.audio_ok.sum() for v in train.variants] == [4, 4, 0]  # clips: 2 copies only
    assert train.variants[2].audio is None  # nothing to hold: no memory spent
    copy = train.variants[0]
    rows = np.flatnonzero(copy.audio_ok)
    assert not np.allclose(copy.audio[rows, 0], train.audio[rows, 0])
    assert not data.val.variants  # validation rows are never augmented


def test_a_refit_uses_validation_copies_once_built(cached) -> None:
    path, cache = cached
    augment(path, cache, splits=("train", "val", None))
    data = load_align_data(cfg(path, cache, augment_copies=2, fit_splits=("train", "val")))
    assert len(data.train) == 8 and data.train.variants[0].audio_ok.sum() == 6


def test_missing_copies_are_a_clear_error(cached) -> None:
    path, cache = cached
    with pytest.raises(TrainingError, match="--augment"):
        load_align_data(cfg(path, cache, augment_copies=2))
