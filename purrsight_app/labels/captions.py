"""Training text from an owner's label: an alignment caption and an instruction report.

Phase 1 aligns media with captions, so a caption says in plain words what the owner marked
(state, sound, body language) and then adds the owner's own description, which is the most
specific text there is about their cat. The wording varies per clip (seeded by the clip id,
so an export is reproducible) to keep the text side from collapsing to one template per
class. Phase 2 learns to write reports, so its target is a schema-valid ``Report`` carrying
exactly the owner's labels; its summary is the owner's description when there is one.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence

from purrsight_model.schema import MAX_TEXT_CHARS, UNKNOWN, Report

_STATE = {
    "content": ("a content cat", "a relaxed, contented cat", "a happy, comfortable cat"),
    "anxious": ("an anxious cat", "a nervous, worried cat", "an uneasy cat"),
    "aggressive": ("an aggressive cat", "an angry, aggressive cat", "a cat ready to fight"),
    "playful": ("a playful cat", "a cat in the mood to play", "a frisky, playful cat"),
    "distressed": ("a distressed cat", "a cat in distress", "a suffering, distressed cat"),
    "neutral": ("a calm cat", "a cat in a neutral mood", "an unbothered cat"),
}
_SOUND = {
    "purr": ("purring", "purring steadily"), "hiss": ("hissing", "hissing sharply"),
    "growl": ("growling", "growling low"), "chirp": ("chirping", "making chirps"),
    "meow": ("meowing", "calling with meows"), "trill": ("trilling", "making trills"),
    "yowl": ("yowling", "yowling loudly"), "silent": ("quiet", "making no sound"),
}
_BODY = {
    "ears": {"forward": "ears forward", "sideways": "ears turned sideways",
             "flattened": "ears flattened", "alert": "ears pricked up"},
    "tail": {"neutral": "tail relaxed", "tucked": "tail tucked", "lashing": "tail lashing",
             "upright": "tail held upright", "puffed": "tail puffed up"},
    "posture": {"relaxed": "a relaxed body", "crouched": "a crouched body",
                "lateral_recumbent": "lying on its side", "arched": "an arched back",
                "tense": "a tense body"},
}
_AROUSAL = {"low": "calm", "medium": "somewhat alert", "high": "highly aroused"}
_ACTIVITY = {"social_affiliative": "seeking friendly contact", "agonistic": "in a conflict",
             "maintenance": "busy with grooming or resting", "predatory": "in hunting mode"}
_ADVICE = {
    "content": "Nothing to do; let the cat enjoy the moment.",
    "playful": "A short play session with a toy suits this mood.",
    "neutral": "Nothing to do.",
    "anxious": "Give the cat space and a quiet place to hide; remove the stressor if you can.",
    "aggressive": "Keep your distance and do not handle the cat until it calms down.",
    "distressed": "Check the cat for pain or injury and call a vet if this continues.",
}


def clip_rng(clip_id: str, seed: int = 0) -> random.Random:
    """The same phrasing for the same clip on every export."""
    digest = hashlib.sha256(f"{seed}:{clip_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _known(labels: Mapping[str, str], name: str) -> str | None:
    value = labels.get(name)
    return None if value in (None, "", UNKNOWN) else value


def _body_parts(labels: Mapping[str, str]) -> list[str]:
    return [table[v] for name, table in _BODY.items() if (v := _known(labels, name)) in table]


def caption(labels: Mapping[str, str], description: str = "",
            rng: random.Random | None = None) -> str:
    """One caption sentence (plus the owner's description), at most ``MAX_TEXT_CHARS``."""
    rng = rng or random.Random(0)
    state = _known(labels, "affective_state")
    text = rng.choice(_STATE[state]) if state in _STATE else "a cat"
    extras = []
    sound = _known(labels, "vocalization")
    if sound in _SOUND:
        extras.append(rng.choice(_SOUND[sound]))
    activity = _known(labels, "ethogram_group")
    if activity in _ACTIVITY:
        extras.append(_ACTIVITY[activity])
    body = _body_parts(labels)
    if body:
        extras.append("with " + " and ".join(body))
    if extras:
        text += ", " + ", ".join(extras)
    arousal = _known(labels, "arousal")
    if arousal in _AROUSAL:
        text += f" ({_AROUSAL[arousal]})"
    sentence = text[0].upper() + text[1:] + "."
    desc = " ".join(description.split())
    if desc:
        sentence = f"{sentence} {desc[0].upper()}{desc[1:]}"
        if sentence[-1] not in ".!?":
            sentence += "."
    return sentence[:MAX_TEXT_CHARS]


def summary(labels: Mapping[str, str], modalities: Sequence[str], description: str = "") -> str:
    """Report summary: the owner's words when given, else a sentence from the labels."""
    desc = " ".join(description.split())
    if desc:
        return desc[:MAX_TEXT_CHARS]
    verb = "sounds" if tuple(modalities) == ("audio",) else "looks"
    state = _known(labels, "affective_state")
    bits = [f"The cat {verb} {_STATE[state][0].split(' ', 1)[1].removesuffix(' cat')}."
            if state in _STATE else "The cat's state is unclear."]
    sound = _known(labels, "vocalization")
    if sound in _SOUND:
        bits.append(f"It is {_SOUND[sound][0]}.")
    body = _body_parts(labels)
    if body:
        bits.append("It has " + " and ".join(body) + ".")
    return " ".join(bits)[:MAX_TEXT_CHARS]


def report(labels: Mapping[str, str], modalities: Sequence[str], description: str = "",
           confidence: float = 0.8) -> Report:
    """Instruction target: the owner's labels as a schema-valid report."""
    mods = tuple(m for m in ("image", "audio") if m in modalities)
    state = _known(labels, "affective_state")
    advice = _ADVICE.get(state or "", "Keep an eye on the cat.")
    fields = {k: v for k, v in labels.items() if k != "description"}
    return Report(**fields, summary=summary(labels, mods, description), advice=advice,
                  confidence=confidence, modalities_used=mods)
