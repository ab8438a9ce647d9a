"""Caption text and instruction-target reports built from dataset labels.

Captions feed contrastive alignment, so each label gets several phrasings: one fixed
template per class would let the text side collapse to a class id. The phrasing is picked
by an RNG seeded from (seed, row id), so a conversion is reproducible row by row and adding
or removing files does not reshuffle every other caption.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence

from purrsight_model.schema import MAX_TEXT_CHARS, Report

#: Phrases describing each dataset class (keyed by set, then class).
CLASS_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "catsound10": {
        "Angry": ("an angry cat", "an aggressive, angry cat", "a cat that sounds angry"),
        "Defence": ("a cat defending itself", "a defensive, frightened cat",
                    "a cat warding off a threat"),
        "Fighting": ("cats fighting", "a cat in a fight", "a cat fight"),
        "Happy": ("a happy cat", "a cheerful, contented cat", "a cat that sounds happy"),
        "HuntingMind": ("a cat in hunting mode", "a cat watching prey",
                        "a cat focused on prey"),
        "Mating": ("a cat calling for a mate", "a cat in mating season", "a cat's mating call"),
        "MotherCall": ("a mother cat calling her kittens", "a queen calling her kittens",
                       "a mother cat's call"),
        "Paining": ("a cat in pain", "a hurting cat", "a cat crying in pain"),
        "Resting": ("a resting cat", "a calm cat at rest", "a relaxed cat resting"),
        "Warning": ("a cat giving a warning", "a cat warning someone off",
                    "a cat making a warning sound"),
    },
    "catmeows": {
        "brushing": ("a cat meowing while being brushed", "a cat being brushed by its owner",
                     "meows from a cat during brushing"),
        "waiting_for_food": ("a cat meowing while waiting for food",
                             "a hungry cat asking for food", "a cat meowing for its meal"),
        "isolation": ("a cat meowing alone in an unfamiliar place",
                      "a cat left alone in a strange room", "an isolated cat meowing"),
    },
    "catfaces3": {
        "angry": ("an angry-looking cat", "a cat with an angry expression",
                  "a cat's face looking angry"),
        "happy": ("a happy-looking cat", "a cat with a happy expression",
                  "a contented cat's face"),
        "sad": ("a sad-looking cat", "a cat with a sad expression", "a cat that looks sad"),
    },
}

CALL_PHRASES: dict[str, tuple[str, ...]] = {
    "purr": ("purring", "a steady purr", "a purr"),
    "hiss": ("hissing", "a hiss", "a sharp hiss"),
    "growl": ("growling", "a low growl", "a growl"),
    "chirp": ("chirping", "a chirp"),
    "trill": ("trilling", "a trill"),
    "meow": ("meowing", "a meow"),
    "yowl": ("yowling", "a yowl"),
}

AUDIO_TEMPLATES = ("the sound of {desc}", "{desc}", "a recording of {desc}",
                   "audio of {desc}")
AUDIO_CALL_TEMPLATES = ("the sound of {desc}: {call}", "{desc}, {call}",
                        "a recording of {desc}; you can hear {call}", "audio of {desc} ({call})")
IMAGE_TEMPLATES = ("a photo of {desc}", "{desc}", "a close-up of {desc}", "a picture of {desc}")


def row_rng(seed: int, row_id: str) -> random.Random:
    """Per-row RNG: stable across runs and independent of the other rows."""
    digest = hashlib.sha256(f"{seed}:{row_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def caption(set_name: str, label: str, modality: str, fields: Mapping[str, str],
            rng: random.Random) -> str:
    """One caption for a dataset row; the call type is mentioned when the name gave it."""
    desc = rng.choice(CLASS_PHRASES[set_name][label])
    call = fields.get("vocalization")
    if modality == "image":
        text = rng.choice(IMAGE_TEMPLATES).format(desc=desc)
    elif call in CALL_PHRASES and set_name != "catmeows":  # catmeows phrases say "meow"
        text = rng.choice(AUDIO_CALL_TEMPLATES).format(desc=desc,
                                                       call=rng.choice(CALL_PHRASES[call]))
    else:
        text = rng.choice(AUDIO_TEMPLATES).format(desc=desc)
    return text[0].upper() + text[1:]


_VOCAL = {"purr": "The cat is purring.", "hiss": "The cat is hissing.",
          "growl": "The cat is growling.", "chirp": "The cat chirps.",
          "trill": "The cat trills.", "meow": "The cat is meowing.",
          "yowl": "The cat is yowling.", "silent": "The cat is quiet."}
_AFFECT = {"content": "content", "anxious": "anxious", "aggressive": "aggressive",
           "playful": "playful", "distressed": "distressed", "neutral": "calm"}
_ETHOGRAM = {"agonistic": "a conflict", "predatory": "hunting behaviour",
             "social_affiliative": "friendly social contact", "maintenance": "routine self-care"}
_ADVICE_AFFECT = {
    "aggressive": "Give the cat space and do not handle it until it calms down.",
    "anxious": "Give the cat space and a quiet hiding place; remove the stressor if you can.",
    "distressed": "Check the cat for pain or injury and call a vet if it continues.",
    "content": "No action needed; let the cat enjoy it.",
    "playful": "Offer a toy so the cat can play safely.",
    "neutral": "No action needed.",
}
_ADVICE_ETHOGRAM = {
    "agonistic": "Keep cats apart for a while and avoid reaching in between them.",
    "predatory": "A wand toy gives the hunting drive a safe outlet.",
    "social_affiliative": "Respond calmly; the cat may be looking for contact.",
    "maintenance": "No action needed.",
}
_DEFAULT_ADVICE = "Keep an eye on the cat; nothing here clearly needs action."


def summary_text(fields: Mapping[str, str], modalities: Sequence[str]) -> str:
    """Short sentences naming only the evidenced fields."""
    verb = "sounds" if modalities == ("audio",) else "looks"
    parts: list[str] = []
    if fields.get("vocalization") in _VOCAL:
        parts.append(_VOCAL[fields["vocalization"]])
    if fields.get("affective_state") in _AFFECT:
        parts.append(f"It {verb} {_AFFECT[fields['affective_state']]}.")
    if fields.get("arousal") in ("low", "medium", "high"):
        parts.append(f"Its arousal seems {fields['arousal']}.")
    if fields.get("ethogram_group") in _ETHOGRAM:
        parts.append(f"This {verb} like {_ETHOGRAM[fields['ethogram_group']]}.")
    if not parts:
        what = "heard" if modalities == ("audio",) else "seen"
        parts.append(f"A cat is {what}, but its state is unclear.")
    return " ".join(parts)[:MAX_TEXT_CHARS]


def advice_text(fields: Mapping[str, str]) -> str:
    """One piece of advice from the most specific evidenced field."""
    if fields.get("affective_state") in _ADVICE_AFFECT:
        return _ADVICE_AFFECT[fields["affective_state"]]
    return _ADVICE_ETHOGRAM.get(fields.get("ethogram_group", ""), _DEFAULT_ADVICE)


def build_report(fields: Mapping[str, str], modalities: Sequence[str]) -> Report:
    """Instruction target: evidenced fields, short text, modest confidence (weak labels)."""
    mods = tuple(m for m in ("image", "audio") if m in modalities)
    known = sum(1 for v in fields.values() if v != "unknown")
    confidence = round(min(0.6, 0.3 + 0.08 * known), 2)
    return Report(**dict(fields), summary=summary_text(fields, mods),
                  advice=advice_text(fields), confidence=confidence, modalities_used=mods)
