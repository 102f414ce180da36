"""The ``articles`` columns are derived from the model and the record, not kept by hand."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from crawler.extraction.record import ArticleRecord, TranslationNote
from storage import articles
from storage.models import Article


def _record() -> ArticleRecord:
    return ArticleRecord(
        url="https://news.example/a",
        text="Body text.",
        content_hash="c" * 64,
        simhash=-5,
        word_count=2,
        extractor_version="9.9.9",
        title="Title",
        lead="Lead",
        authors=("Ann Author", "Bo Writer"),
        credits=("Agency",),
        byline="By Ann Author",
        published_at=datetime(2025, 3, 4, 5, 6, tzinfo=UTC),
        published_precision="minute",
        published_utc_offset=60,
        published_raw="4 March 2025, 06:06",
        modified_at=datetime(2025, 3, 5, tzinfo=UTC),
        language="en",
        language_confidence=0.9,
        declared_language="en-GB",
        translation=TranslationNote(
            note="Translated from German",
            source_language="de",
            original_outlet="Zeitung",
            original_published_at=datetime(2025, 3, 3, tzinfo=UTC),
        ),
        site_name="News",
        section="World",
        tags=("a", "b"),
        image_url="https://news.example/a.jpg",
        fetched_at=datetime(2025, 3, 6, tzinfo=UTC),
        stub="paywall",
    )


def test_every_record_field_has_an_articles_column() -> None:
    missing = [c for c in articles.RECORD_FIELD_COLUMNS if c not in Article.__table__.columns]
    assert missing == [], f"ArticleRecord fields without an articles column: {missing}"


def test_every_record_field_is_written() -> None:
    assert set(articles.ARTICLE_RECORD_COLUMNS) | {"url"} == set(articles.RECORD_FIELD_COLUMNS)


def test_record_columns_are_the_records_values_with_the_translation_flat() -> None:
    record = _record()
    values = articles.record_columns(record)
    assert list(values) == ["url", *articles.ARTICLE_RECORD_COLUMNS]
    assert values["authors"] == ["Ann Author", "Bo Writer"] and values["tags"] == ["a", "b"]
    assert values["credits"] == ["Agency"]
    assert values["translation_note"] == "Translated from German"
    assert values["translation_source_language"] == "de"
    assert values["translation_original_outlet"] == "Zeitung"
    assert values["translation_original_published_at"] == datetime(2025, 3, 3, tzinfo=UTC)
    for f in fields(ArticleRecord):
        if f.name not in ("translation", "authors", "credits", "tags"):
            assert values[f.name] == getattr(record, f.name), f.name
    untranslated = articles.record_columns(ArticleRecord("u", "t", "h", 1, 1, "v"))
    assert all(untranslated[c] is None for c in untranslated if c.startswith("translation_"))


def test_columns_follow_the_tables_order_with_the_later_ones_last() -> None:
    table_order = [c.name for c in Article.__table__.columns]
    positions = [table_order.index(c) for c in articles.ARTICLE_RECORD_COLUMNS]
    assert positions == sorted(positions)
    later = articles.LATER_RECORD_COLUMNS
    assert articles.ARTICLE_RECORD_COLUMNS[-len(later) :] == later


def test_array_parameters_take_the_models_types() -> None:
    types = articles._ARRAY_TYPES
    assert types["source_id"] == "integer" and types["simhash"] == "bigint"
    assert types["published_at"] == "timestamp with time zone"
    assert types["language"] == "text"  # varchar(8): no silent truncation by a cast
    assert types["language_confidence"] == "double precision"
    assert set(articles._TEXT_ARRAYS) == {"authors", "credits", "tags"}
    assert all(types[c] == "text" for c in articles._TEXT_ARRAYS)
