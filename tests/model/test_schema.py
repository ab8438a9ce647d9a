from __future__ import annotations

import json

import pytest

from purrsight_model import schema
from purrsight_model.schema import Report, ReportError, parse_report


def test_every_field_defaults_to_unknown_and_round_trips() -> None:
    report = Report()
    data = json.loads(report.to_json())
    assert list(data) == list(schema.REPORT_FIELDS)
    assert all(data[f] == schema.UNKNOWN for f in schema.CATEGORICAL_FIELDS)
    assert parse_report(report.to_json()) == report


def test_compact_json_has_no_spaces_between_tokens() -> None:
    text = Report(vocalization="purr", summary="The cat purrs.").to_json()
    assert '":"' in text and ", " not in text.replace("The cat purrs.", "")


@pytest.mark.parametrize(
    "bad",
    [
        {"ears": "floppy"},
        {"risk": 7},
        {"confidence": 1.5},
        {"modalities_used": ["smell"]},
        {"mood": "content"},
        {"summary": "x" * (schema.MAX_TEXT_CHARS + 1)},
    ],
)
def test_invalid_reports_raise_report_error(bad: dict) -> None:
    with pytest.raises(ReportError):
        parse_report(bad)


def test_not_json_raises_report_error() -> None:
    with pytest.raises(ReportError, match="not JSON"):
        parse_report('{"ears": ')


def test_integer_risk_is_accepted_and_exposed() -> None:
    report = parse_report({"risk": 4, "affective_state": "anxious"})
    assert report.risk == "4" and report.risk_level == 4
    assert Report().risk_level is None


def test_modalities_are_normalised_in_canonical_order() -> None:
    assert Report(modalities_used=("audio", "image")).modalities_used == ("image", "audio")
    with pytest.raises(ReportError):
        parse_report({"modalities_used": ["audio", "audio"]})


def test_validate_labels_fills_unknown_and_rejects_bad_values() -> None:
    labels = schema.validate_labels({"vocalization": "hiss", "description": "at the door"})
    assert labels["vocalization"] == "hiss" and labels["ears"] == schema.UNKNOWN
    assert labels["description"] == "at the door"
    with pytest.raises(ValueError):
        schema.validate_labels({"tail": "wagging"})
    with pytest.raises(ValueError):
        schema.validate_labels({"whiskers": "forward"})


def test_json_schema_matches_vocabularies() -> None:
    js = schema.report_json_schema()
    assert js["properties"]["affective_state"]["enum"][-1] == schema.UNKNOWN
    assert set(js["required"]) == set(schema.REPORT_FIELDS)
