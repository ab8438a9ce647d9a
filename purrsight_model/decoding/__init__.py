"""Schema-constrained decoding of JSON reports over token ids (numpy only, no torch).

Shared by the torch training/evaluation code and the torch-free ONNX runtime:
- ``ReportGrammar`` / ``grammar_for``: the report JSON as pre-tokenised segments + vocab masks;
- ``tokenize_report`` / ``encode_report``: training targets (ids + loss mask);
- ``constrained_generate``: decode a report from any ``step_fn(new_ids) -> logits``;
- ``decode_ids_to_report``: ids back to a ``Report``.
"""

from purrsight_model.decoding.generate import (
    DecodeStats,
    Generation,
    StepFn,
    constrained_generate,
    pick,
)
from purrsight_model.decoding.grammar import (
    AUDIO_FIELDS,
    CHOICE,
    FORCED,
    IMAGE_FIELDS,
    STOP,
    TEXT,
    ReportGrammar,
    confidence_options,
    grammar_for,
    restrict_for_modalities,
)
from purrsight_model.decoding.targets import (
    ReportTokens,
    clean_text,
    decode_ids_to_report,
    encode_report,
    mask_unobserved,
    tokenize_report,
)
from purrsight_model.decoding.tokenizer import DecodingError, HFTokenizer, TokenizerLike

__all__ = [
    "AUDIO_FIELDS",
    "CHOICE",
    "FORCED",
    "IMAGE_FIELDS",
    "STOP",
    "TEXT",
    "DecodeStats",
    "DecodingError",
    "Generation",
    "HFTokenizer",
    "ReportGrammar",
    "ReportTokens",
    "StepFn",
    "TokenizerLike",
    "clean_text",
    "confidence_options",
    "constrained_generate",
    "decode_ids_to_report",
    "encode_report",
    "grammar_for",
    "mask_unobserved",
    "pick",
    "restrict_for_modalities",
    "tokenize_report",
]
