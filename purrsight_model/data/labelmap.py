"""How the shared datasets' labels map onto the report schema (conservative by design).

A dataset label describes the *situation* a recording or photo was taken in, not the cat's
markers. We only fill a schema field where the label itself is evidence for it and leave
everything else ``unknown``: a wrong "known" label teaches the model to invent markers, an
``unknown`` only costs a little supervision. The original class always survives in the row's
``tasks`` so dataset-specific heads and evaluation lose nothing.

Mapping table (fields not listed are ``unknown``):

| set / class              | vocalization      | affective_state | ethogram_group     | arousal |
|--------------------------|-------------------|-----------------|--------------------|---------|
| catmeows (all contexts)  | meow              | –               | –                  | –       |
| catsound10 Angry         | from file name    | aggressive      | agonistic          | high    |
| catsound10 Defence       | from file name    | anxious         | agonistic          | high    |
| catsound10 Fighting      | from file name    | aggressive      | agonistic          | high    |
| catsound10 Happy         | from file name    | content         | –                  | –       |
| catsound10 HuntingMind   | from file name    | –               | predatory          | –       |
| catsound10 Mating        | from file name    | –               | –                  | –       |
| catsound10 MotherCall    | from file name    | –               | social_affiliative | –       |
| catsound10 Paining       | from file name    | distressed      | –                  | –       |
| catsound10 Resting       | from file name    | content         | –                  | low     |
| catsound10 Warning       | from file name    | –               | agonistic          | –       |
| catfaces3 angry          | –                 | aggressive      | –                  | –       |
| catfaces3 happy          | –                 | content         | –                  | –       |
| catfaces3 sad            | –                 | –               | –                  | –       |

Why some cells stay empty: CatMeows contexts (brushing, waiting for food, isolation) are
situations whose emotional reading differs between cats (the source paper does not label
valence); a Warning growl can be fear or offence; "sad" has no schema counterpart; a
mating or pain call says nothing reliable about arousal level on its own. ears/tail/posture
and risk are never evidenced by these sets. Call types come from catsound10 file names
(``call_type_from_name``); "chatter" (HuntingMind) has no schema word and stays unknown.
"""

from __future__ import annotations

import re

from purrsight_model.schema import UNKNOWN, validate_labels

#: catsound10 class -> schema fields evidenced by the class alone.
CATSOUND10_FIELDS: dict[str, dict[str, str]] = {
    "Angry": {"affective_state": "aggressive", "ethogram_group": "agonistic", "arousal": "high"},
    "Defence": {"affective_state": "anxious", "ethogram_group": "agonistic", "arousal": "high"},
    "Fighting": {"affective_state": "aggressive", "ethogram_group": "agonistic", "arousal": "high"},
    "Happy": {"affective_state": "content"},
    "HuntingMind": {"ethogram_group": "predatory"},
    "Mating": {},
    "MotherCall": {"ethogram_group": "social_affiliative"},
    "Paining": {"affective_state": "distressed"},
    "Resting": {"affective_state": "content", "arousal": "low"},
    "Warning": {"ethogram_group": "agonistic"},
}

#: CatMeows emission context -> schema fields (every clip is a meow by construction).
CATMEOWS_FIELDS: dict[str, dict[str, str]] = {
    "brushing": {"vocalization": "meow"},
    "waiting_for_food": {"vocalization": "meow"},
    "isolation": {"vocalization": "meow"},
}

#: catfaces3 expression -> schema fields (weak web labels; only the two clear ones).
CATFACES3_FIELDS: dict[str, dict[str, str]] = {
    "angry": {"affective_state": "aggressive"},
    "happy": {"affective_state": "content"},
    "sad": {},
}

#: Name of each set's original-class entry in a row's ``tasks``.
TASK_KEYS = {"catmeows": "catmeows_context", "catsound10": "catsound10", "catfaces3": "catfaces3"}

# Call-type spellings seen in catsound10 file names (typos included: Hass, Grawl, Catgrow).
_CALL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("purr", re.compile(r"purr")),
    ("hiss", re.compile(r"hiss|hass|(?<![a-z])his(?![a-z])")),
    ("growl", re.compile(r"gr[oa]wl|grl|(?<=cat)grow|growing")),
    ("chirp", re.compile(r"chirp")),
    ("trill", re.compile(r"tril")),
    ("meow", re.compile(r"meow|miaow")),
)


def call_type_from_name(filename: str) -> str:
    """Vocalization named in a file name, or ``unknown`` if none or several disagree."""
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    found = {call for call, pattern in _CALL_PATTERNS if pattern.search(stem)}
    return found.pop() if len(found) == 1 else UNKNOWN


_SET_FIELDS = {"catsound10": CATSOUND10_FIELDS, "catmeows": CATMEOWS_FIELDS,
               "catfaces3": CATFACES3_FIELDS}


def _table(set_name: str) -> dict[str, dict[str, str]]:
    table = _SET_FIELDS.get(set_name)
    if table is None:
        raise KeyError(f"no label mapping for dataset {set_name!r}")
    return table


def canonical_label(set_name: str, label: str) -> str:
    """The set's own spelling of ``label`` (case and surrounding spaces ignored); KeyError if
    the set has no such class."""
    wanted = label.strip().casefold()
    match = next((k for k in _table(set_name) if k.casefold() == wanted), None)
    if match is None:
        raise KeyError(label)
    return match


def schema_labels(set_name: str, label: str, filename: str) -> dict[str, str]:
    """Schema fields evidenced by a dataset label (validated; unknown fields omitted)."""
    fields = dict(_table(set_name)[label])
    call = call_type_from_name(filename) if set_name == "catsound10" else UNKNOWN
    if call != UNKNOWN:  # CatSound-10 file names often name the call
        fields["vocalization"] = call
    full = validate_labels(fields)  # raises if a table entry drifted from the schema
    return {k: v for k, v in full.items() if v != UNKNOWN}
