"""Language detection with a declared-language fallback."""

from __future__ import annotations

import pytest

from crawler.extraction.language import detect_language, normalize_lang

GERMAN = (
    "Die Lotsen im Hafen haben ihre Arbeit niedergelegt, weil sie seit Jahren auf bessere "
    "Bedingungen warten. Die Verwaltung spricht von ausreichenden Reserven, doch die Schiffe "
    "warten vor der Insel auf die Einfahrt in den Hafen."
)


def test_long_german_text_is_detected_with_confidence() -> None:
    language, confidence = detect_language(GERMAN, declared="en")
    assert language == "de"
    assert confidence is not None and confidence >= 0.8


def test_detection_repeats_exactly() -> None:
    assert {detect_language(GERMAN) for _ in range(5)} == {detect_language(GERMAN)}


def test_short_text_falls_back_to_the_declared_language_without_confidence() -> None:
    assert detect_language("Hafen geschlossen.", declared="de") == ("de", None)


def test_short_text_without_declared_language_uses_the_hint() -> None:
    assert detect_language("Ok.", declared=None, hint="fr") == ("fr", None)


def test_mixed_short_text_is_not_a_confident_answer() -> None:
    language, confidence = detect_language("Hello Welt bonjour mundo привет", declared="de")
    assert (language, confidence) == ("de", None)


def test_declared_language_codes_are_normalized_to_iso_639_1() -> None:
    assert normalize_lang("de-DE") == "de"
    assert normalize_lang("fr_FR") == "fr"
    assert normalize_lang("DEU") == "de"
    assert normalize_lang("x") is None
    assert normalize_lang(None) is None


def test_fast_detector_gives_langdetects_own_probabilities() -> None:
    from langdetect import detector_factory
    from langdetect.detector import Detector

    from crawler.extraction.language import _FastDetector

    detector_factory.init_factory()
    factory = detector_factory._factory
    texts = [
        GERMAN,
        "The ferry to the ISLAND was cancelled twice this week, said the operator in a statement."
        " Mail ops@example.org or see https://example.org/ferry for details.",
        "Паром на остров отменили дважды за неделю, сообщил перевозчик в ЗАЯВЛЕНИИ. " * 3,
        "Le bac pour l'île a été annulé deux fois cette semaine, a indiqué l'exploitant.",
        "Ferry mixed with Паром and Fähre — ÜBERFAHRT um 7:30; ½ Preis für Kinder.",
    ]
    for text in texts:
        for trials in (1, 3, 7):
            original, fast = Detector(factory), _FastDetector(factory)
            original.n_trial = fast.n_trial = trials
            original.append(text)
            fast.append(text)
            assert [(x.lang, x.prob) for x in fast.get_probabilities()] == [
                (x.lang, x.prob) for x in original.get_probabilities()
            ]


def test_fast_ngrams_are_langdetects_whether_a_word_is_cached_or_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langdetect import detector_factory
    from langdetect.detector import Detector

    from crawler.extraction import language

    detector_factory.init_factory()
    factory = detector_factory._factory
    text = (
        "Der FÄHRBETRIEB ruht; the ISLAND ferry  waits. Паром ЖДЁТ у острова, "
        "le bac attend. A B CD x"
    )
    original = Detector(factory)
    original.append(text)
    original.cleaning_text()
    expected = original._extract_ngrams()
    assert expected

    def fast_ngrams() -> list[str]:
        fast = language._FastDetector(factory)
        fast.append(text)
        fast.cleaning_text()
        return fast._extract_ngrams()

    monkeypatch.setattr(language, "_WORD_NGRAMS", {})
    assert fast_ngrams() == expected  # every word computed, then cached
    assert language._WORD_NGRAMS
    assert fast_ngrams() == expected  # every word from the cache
    monkeypatch.setattr(language, "_WORD_NGRAMS", {})
    monkeypatch.setattr(language, "_WORD_NGRAMS_MAX", 0)
    assert fast_ngrams() == expected  # cache full: nothing kept
    assert not language._WORD_NGRAMS
