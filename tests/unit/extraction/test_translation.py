"""Translation notes per language: source language, outlet and original date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.extraction.translation import find_translation


@pytest.mark.parametrize(
    ("note", "language", "outlet", "day"),
    [
        (
            "Übersetzt aus dem Russischen. Der Artikel ist am 14. Februar 2025 zuerst auf der "
            "Homepage der Zeitung Abendkurier erschienen.",
            "ru",
            "Abendkurier",
            datetime(2025, 2, 14, tzinfo=UTC),
        ),
        (
            "Translated from Russian. This article was originally published by Kommersant on "
            "March 3, 2025.",
            "ru",
            "Kommersant",
            datetime(2025, 3, 3, tzinfo=UTC),
        ),
        (
            "Traduit du russe. Cet article a été publié initialement dans Izvestia "
            "le 10 mars 2025.",
            "ru",
            "Izvestia",
            datetime(2025, 3, 10, tzinfo=UTC),
        ),
        (
            "Traducido del ruso. Este artículo fue publicado originalmente en Kommersant el 1 de "
            "marzo de 2025.",
            "ru",
            "Kommersant",
            datetime(2025, 3, 1, tzinfo=UTC),
        ),
        (
            "Перевод с английского. Статья впервые опубликована в газете Northern Times 3 марта "
            "2025 года.",
            "en",
            "Northern Times",
            datetime(2025, 3, 3, tzinfo=UTC),
        ),
    ],
)
def test_translation_notes_in_five_languages_are_parsed(
    note: str, language: str, outlet: str, day: datetime
) -> None:
    found = find_translation(["Ein erster Absatz des Artikels.", note])
    assert found is not None
    parsed, indexes = found
    assert parsed.note == note
    assert parsed.source_language == language
    assert parsed.original_outlet == outlet
    assert parsed.original_published_at == day
    assert indexes == [1]


def test_declined_language_names_map_to_iso_codes() -> None:
    found = find_translation(["Übersetzt aus dem Englischen."])
    assert found is not None
    assert found[0].source_language == "en"


def test_note_without_outlet_or_date_keeps_only_the_language() -> None:
    found = find_translation(["Translated from German."])
    assert found is not None
    note = found[0]
    assert (note.source_language, note.original_outlet, note.original_published_at) == (
        "de",
        None,
        None,
    )


def test_a_body_sentence_mentioning_a_translated_book_is_not_a_note() -> None:
    paragraph = (
        "Das Buch wurde übersetzt aus dem Russischen von einer jungen Autorin und steht seit "
        "Wochen auf der Bestsellerliste, obwohl es mehr als 900 Seiten hat und wenig Handlung."
    )
    assert find_translation([paragraph * 4]) is None


def test_pages_without_notes_have_no_translation() -> None:
    assert find_translation(["Ein Absatz.", "Noch ein Absatz."]) is None
