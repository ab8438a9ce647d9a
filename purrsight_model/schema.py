"""Label vocabularies and the JSON report schema: the one source of truth.

Training (captions, heads, instruction targets), the runtime (constrained decoding),
storage (indexed columns) and the UI (label buttons, overlay text) all read these names.

Every categorical field may be ``unknown``: a report never invents a marker it cannot see
or hear. Bump ``SCHEMA_VERSION`` whenever a vocabulary or field changes; bundles record the
version they were trained for and the runtime refuses a mismatch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION = "1.0"
UNKNOWN = "unknown"

# --- physical markers ---------------------------------------------------------------
EARS = ("forward", "sideways", "flattened", "alert")
TAIL = ("neutral", "tucked", "lashing", "upright", "puffed")
POSTURE = ("relaxed", "crouched", "lateral_recumbent", "arched", "tense")
VOCALIZATION = ("purr", "hiss", "growl", "chirp", "meow", "trill", "yowl", "silent")

# --- classification -------------------------------------------------------------------
ETHOGRAM_GROUP = ("social_affiliative", "agonistic", "maintenance", "predatory")
AFFECTIVE_STATE = ("content", "anxious", "aggressive", "playful", "distressed", "neutral")
AROUSAL = ("low", "medium", "high")
RISK = ("1", "2", "3", "4", "5")  # serialised as strings so every field decodes alike

MODALITIES = ("image", "audio")

#: Categorical report fields, in serialisation order, with their allowed values
#: (``unknown`` is always allowed in addition).
CATEGORICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "ears": EARS,
    "tail": TAIL,
    "posture": POSTURE,
    "vocalization": VOCALIZATION,
    "ethogram_group": ETHOGRAM_GROUP,
    "affective_state": AFFECTIVE_STATE,
    "arousal": AROUSAL,
    "risk": RISK,
}
#: Free-text fields (short English sentences).
TEXT_FIELDS = ("summary", "advice")
#: Fields an owner can label on a clip (the categorical fields plus a free description).
LABEL_FIELDS = tuple(CATEGORICAL_FIELDS)

#: Field order of a serialised report (the LLM target and the stored JSON).
REPORT_FIELDS = (*CATEGORICAL_FIELDS, *TEXT_FIELDS, "confidence", "modalities_used")

MAX_TEXT_CHARS = 240


def allowed_values(field: str) -> tuple[str, ...]:
    """Allowed values of a categorical field, ``unknown`` last."""
    return (*CATEGORICAL_FIELDS[field], UNKNOWN)


def _check_enum(field: str, value: Any) -> str:
    value = UNKNOWN if value is None else str(value)
    if value not in allowed_values(field):
        raise ValueError(
            f"{field}={value!r} is not one of {', '.join(allowed_values(field))}"
        )
    return value


class Report(BaseModel):
    """A schema-valid report about a window of activity (an event or a period)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ears: str = UNKNOWN
    tail: str = UNKNOWN
    posture: str = UNKNOWN
    vocalization: str = UNKNOWN
    ethogram_group: str = UNKNOWN
    affective_state: str = UNKNOWN
    arousal: str = UNKNOWN
    risk: str = UNKNOWN
    summary: str = Field(default="", max_length=MAX_TEXT_CHARS)
    advice: str = Field(default="", max_length=MAX_TEXT_CHARS)
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    modalities_used: tuple[Literal["image", "audio"], ...] = ()

    @field_validator(*CATEGORICAL_FIELDS, mode="before")
    @classmethod
    def _enum(cls, value: Any, info: Any) -> str:
        return _check_enum(info.field_name, value)

    @field_validator("modalities_used")
    @classmethod
    def _unique_modalities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("modalities_used has duplicates")
        return tuple(m for m in MODALITIES if m in value)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict in ``REPORT_FIELDS`` order (what gets stored and exported)."""
        data = self.model_dump()
        data["modalities_used"] = list(self.modalities_used)
        return {k: data[k] for k in REPORT_FIELDS}

    def to_json(self, *, compact: bool = True) -> str:
        """Serialise; ``compact`` drops spaces (the LLM target form)."""
        if compact:
            return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @property
    def risk_level(self) -> int | None:
        """Risk as an int 1–5, or None when unknown."""
        return None if self.risk == UNKNOWN else int(self.risk)


class ReportError(ValueError):
    """A report that does not parse or does not validate against the schema."""


def parse_report(data: str | bytes | Mapping[str, Any]) -> Report:
    """Parse and validate a report from JSON text or a mapping; raise ``ReportError``."""
    try:
        obj = json.loads(data) if isinstance(data, str | bytes) else dict(data)
    except json.JSONDecodeError as exc:
        raise ReportError(f"report is not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise ReportError("report must be a JSON object")
    if "risk" in obj and isinstance(obj["risk"], int) and not isinstance(obj["risk"], bool):
        obj["risk"] = str(obj["risk"])
    try:
        return Report.model_validate(obj)
    except ValidationError as exc:
        raise ReportError(str(exc)) from exc


def validate_labels(labels: Mapping[str, Any]) -> dict[str, str]:
    """Validate an owner's label dict (any subset of ``LABEL_FIELDS``), fill the rest unknown."""
    unknown_keys = set(labels) - set(LABEL_FIELDS) - {"description"}
    if unknown_keys:
        raise ValueError(f"unknown label fields: {sorted(unknown_keys)}")
    out = {f: _check_enum(f, labels.get(f)) for f in LABEL_FIELDS}
    if labels.get("description"):
        out["description"] = str(labels["description"])[:MAX_TEXT_CHARS]
    return out


def report_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a report, for documentation and external tools."""
    props: dict[str, Any] = {
        f: {"enum": list(allowed_values(f))} for f in CATEGORICAL_FIELDS
    }
    props.update({f: {"type": "string", "maxLength": MAX_TEXT_CHARS} for f in TEXT_FIELDS})
    props["confidence"] = {"type": "number", "minimum": 0, "maximum": 1}
    props["modalities_used"] = {
        "type": "array", "items": {"enum": list(MODALITIES)}, "uniqueItems": True
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"PurrSight report v{SCHEMA_VERSION}",
        "type": "object",
        "properties": props,
        "required": list(REPORT_FIELDS),
        "additionalProperties": False,
    }
