"""The report prompt: ChatML layout, soft-token slots, segment-wise tokenisation."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from purrsight_model.decoding import HFTokenizer, encode_report
from purrsight_model.decoding.tiny import build_tiny_tokenizer
from purrsight_model.instruct.prompt import (
    SYSTEM_PROMPT,
    SoftSlot,
    build_prompt,
    format_hints,
    prompt_ids,
    tokenize_prompt,
)
from purrsight_model.schema import Report

TOK = build_tiny_tokenizer()
EOT = TOK.token_to_id("<|endoftext|>")


def test_layout_is_smollm2_chatml():
    prompt = build_prompt(["image", "audio"], 3, hints={"ears": "forward"})
    text = prompt.render("#")
    assert text.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n")
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert "image:###\naudio:###\nhints: ears=forward\n" in text
    assert prompt.slots == (SoftSlot("image", 3), SoftSlot("audio", 3))


def test_missing_modality_keeps_or_drops_its_slot():
    kept = build_prompt(["audio"], 2)
    assert kept.slots == (SoftSlot("image", 2), SoftSlot("audio", 2))
    assert "image (missing):" in kept.render()
    dropped = build_prompt(["audio"], 2, absent_slots=False)
    assert dropped.slots == (SoftSlot("audio", 2),)
    assert "image: none\n" in dropped.render()


def test_soft_positions_hold_placeholders_in_slot_order():
    p = prompt_ids(["image", "audio"], 4, TOK)
    img, aud = p.soft_positions["image"], p.soft_positions["audio"]
    assert len(img) == len(aud) == 4
    assert np.all(np.diff(img) == 1) and img[-1] < aud[0]
    assert np.all(p.ids[p.all_soft_positions] == EOT)
    assert p.all_soft_positions.tolist() == [*img, *aud]
    others = np.delete(p.ids, p.all_soft_positions)
    assert EOT not in others.tolist()


def test_ids_are_text_pieces_tokenised_one_by_one():
    prompt = build_prompt(["image"], 2, absent_slots=False)
    p = tokenize_prompt(prompt, TOK, placeholder_id=7)
    expected: list[int] = []
    for piece in prompt.pieces:
        expected += TOK.encode(piece) if isinstance(piece, str) else [7] * piece.n_tokens
    assert p.ids.tolist() == expected
    assert p.ids[0] == TOK.token_to_id("<|im_start|>")  # special token is one id, not text
    assert TOK.decode(p.ids.tolist()).count("<|im_end|>") == 2


def test_training_sequence_is_prompt_then_report():
    report = Report(ears="alert", summary="The cat watches", modalities_used=("image",))
    p = prompt_ids(report.modalities_used, 2, TOK)
    seq = [*p.ids.tolist(), *encode_report(report, TOK)]
    text = TOK.decode(seq)
    assert text.endswith("<|im_start|>assistant\n" + report.to_json())


def test_hints_format_and_bad_arguments():
    assert format_hints({"ears": ("forward", 0.87), "risk": "2"}) == "ears=forward(0.9), risk=2"
    with pytest.raises(ValueError, match="unknown modalities"):
        build_prompt(["video"], 2)
    with pytest.raises(ValueError, match="k_tokens"):
        build_prompt(["image"], 0)


def test_tokenizer_without_chatml_tokens_is_refused():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["a cat"], trainers.BpeTrainer(vocab_size=300, show_progress=False))
    with pytest.raises(ValueError, match="ChatML"):
        prompt_ids(["image"], 2, HFTokenizer(tok))
