"""A tiny byte-level BPE tokenizer trained on report-like text, for weight-free tests.

Same family as SmolLM2's tokenizer (byte-level BPE, ChatML special tokens at ids 0-2), so
tests of decoding, prompts and instruct training exercise the real code paths in
milliseconds without the 98 MB GGUF.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from purrsight_model.decoding.tokenizer import HFTokenizer
from purrsight_model.schema import CATEGORICAL_FIELDS, MODALITIES, Report, allowed_values

#: ChatML specials, in SmolLM2's id order.
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

_SENTENCES = (
    "The cat is relaxed and purring on the sofa.",
    "Ears flattened and tail lashing: the cat is upset.",
    "Give the cat space and a quiet place to hide.",
    "A short chirp at the window, probably watching birds.",
    "Play with a wand toy for ten minutes.",
    "No action needed, the cat is resting.",
    "You are a cat behaviour assistant. Reply with one JSON report.",
    "image: audio: none. Describe the cat.",
)


def _report_corpus(n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(n):
        values = {f: rng.choice(allowed_values(f)) for f in CATEGORICAL_FIELDS}
        mods = tuple(m for m in MODALITIES if rng.random() < 0.6)
        report = Report(
            **values,
            summary=rng.choice(_SENTENCES),
            advice=rng.choice(_SENTENCES),
            confidence=round(rng.random(), 1),
            modalities_used=mods,
        )
        yield report.to_json()


def build_tiny_tokenizer(
    vocab_size: int = 600, *, extra_texts: Iterable[str] = (), seed: int = 0
) -> HFTokenizer:
    """Train a byte-level BPE of ``vocab_size`` ids on synthetic reports (+ ``extra_texts``)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = [*_report_corpus(300, seed), *_SENTENCES, *extra_texts]
    tok.train_from_iterator(corpus, trainer)
    return HFTokenizer(tok, source=f"tiny-bpe-{vocab_size}")
