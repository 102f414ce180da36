"""Language identification: langdetect on the body with a declared-language fallback.

Detection is seeded (``DetectorFactory.seed = 0``) so results repeat, and runs on a
bounded prefix of the text. A short text or an unsure detection never yields a
confident answer: the declared language (or the hint) is used and the confidence is None.
"""

from __future__ import annotations

import logging
import re

from langdetect import DetectorFactory, detector_factory
from langdetect.lang_detect_exception import LangDetectException

logger = logging.getLogger(__name__)

DetectorFactory.seed = 0

MIN_CHARS = 80
"""Texts shorter than this are not detected; the declared language is used."""

MIN_PROBABILITY = 0.80
"""Detections below this probability fall back to the declared language."""

PREFIX_CHARS = 1000
"""Detection runs on this many leading characters of the body (bounded cost)."""

_LANG_CODE = re.compile(r"^([A-Za-z]{2,3})(?:[-_].*)?$")


def normalize_lang(value: str | None) -> str | None:
    """Normalize ``de-DE``, ``de_DE``, ``DE`` to ISO 639-1 ``de``; None if not a code."""
    if not value:
        return None
    value = value.strip().split(",")[0].strip()
    match = _LANG_CODE.match(value)
    if not match:
        return None
    code = match.group(1).lower()
    if len(code) == 3:
        code = _THREE_TO_TWO.get(code, "")
    return code or None


_THREE_TO_TWO = {
    "deu": "de",
    "ger": "de",
    "eng": "en",
    "fra": "fr",
    "fre": "fr",
    "spa": "es",
    "rus": "ru",
    "ita": "it",
    "por": "pt",
    "nld": "nl",
    "dut": "nl",
    "pol": "pl",
    "ukr": "uk",
}


def detect_language(
    text: str, declared: str | None = None, hint: str | None = None
) -> tuple[str | None, float | None]:
    """Return ``(language, confidence)`` for ``text``.

    ``confidence`` is the detector's probability, or None when the result is the
    fallback (declared language, else the hint) because the text is shorter than
    :data:`MIN_CHARS` or the best probability is below :data:`MIN_PROBABILITY`.
    """
    fallback = declared or hint
    sample = text[:PREFIX_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return fallback, None
    try:
        detector_factory.init_factory()
        detector = detector_factory._factory.create()
        detector.append(sample)
        found = detector.get_probabilities()
    except LangDetectException:
        return fallback, None
    if not found:
        return fallback, None
    best = found[0]
    lang = normalize_lang(str(best.lang))
    prob = float(best.prob)
    if lang is None or prob < MIN_PROBABILITY:
        return fallback, None
    return lang, round(prob, 4)
