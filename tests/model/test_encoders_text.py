"""Text encoders on a tiny random BERT saved to a temp Hugging Face folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from purrsight_model.encoders import EncoderConfig, EncoderError, load_text_encoder

WORDS = [
    "a",
    "cat",
    "dog",
    "is",
    "purring",
    "hissing",
    "loudly",
    "the",
    "kitten",
    "sleeps",
    "stock",
    "market",
]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=5 + len(WORDS),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(folder))
    return folder


def test_hf_text_gives_normalised_vectors(tiny_bert: Path) -> None:
    enc = load_text_encoder(EncoderConfig("hf_text", str(tiny_bert)))
    assert enc.kind == "hf_text" and enc.dim == 32 and enc.version.startswith("hf_text-")
    vecs = enc.encode(["a cat is purring", "the dog is hissing loudly", ""])
    assert vecs.shape == (3, 32) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert enc.encode([]).shape == (0, 32)


def test_mean_pooling_ignores_padding(tiny_bert: Path) -> None:
    enc = load_text_encoder(EncoderConfig("hf_text", str(tiny_bert)))
    short, long = "cat", "the kitten sleeps and a dog is hissing loudly"
    batched = enc.encode([short, long])  # the short text is padded in this batch
    alone = np.concatenate([enc.encode([short]), enc.encode([long])])
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    assert not np.allclose(batched[0], batched[1])


def test_mean_pooling_matches_a_direct_computation(tiny_bert: Path) -> None:
    import torch
    from transformers import BertModel, BertTokenizerFast

    text = "a kitten is purring"
    tok = BertTokenizerFast.from_pretrained(str(tiny_bert))(text, return_tensors="pt")
    with torch.no_grad():
        hidden = (
            BertModel.from_pretrained(str(tiny_bert)).eval()(**tok).last_hidden_state[0]
        )  # [T, 32]
    want = hidden.mean(0).numpy()
    want /= np.linalg.norm(want)
    got = load_text_encoder(EncoderConfig("hf_text", str(tiny_bert))).encode([text])[0]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_bad_text_folders_raise(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="needs the path"):
        load_text_encoder(EncoderConfig("hf_text"))
    with pytest.raises(EncoderError, match="no config.json"):
        load_text_encoder(EncoderConfig("hf_text", str(tmp_path)))
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(EncoderError, match="no weights"):
        load_text_encoder(EncoderConfig("hf_text", str(tmp_path)))
    with pytest.raises(EncoderError, match="not found"):
        load_text_encoder(EncoderConfig("hf_text", str(tmp_path / "missing")))
    with pytest.raises(EncoderError, match="text encoder kind"):
        load_text_encoder(EncoderConfig("mobilenet_v2"))
