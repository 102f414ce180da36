"""Records leave extraction encodable: lone surrogates and NUL become U+FFFD everywhere."""

from __future__ import annotations

import json

from crawler.extraction.article import extract_article
from crawler.extraction.record import ArticleRecord, Rejection, TranslationNote
from crawler.extraction.sanitize import REPLACEMENT, clean_text, sanitize
from crawler.extraction.text import content_hash

PARAS = "".join(
    f"<p>Paragraph {i}: the dock workers of pier {i} ended their strike on Monday after "
    f"the port authority agreed to contract number {i * 17} with higher wages.</p>"
    for i in range(8)
)


def _encodable(record: ArticleRecord) -> None:
    for value in (
        record.title, record.lead, record.byline, record.section, *record.authors, *record.tags,
    ):  # fmt: skip
        if value is not None:
            value.encode("utf-8")


def test_a_lone_surrogate_in_json_ld_leaves_extraction_replaced() -> None:
    ld = json.dumps(
        {
            "@type": "NewsArticle",
            "headline": "Harbour \ud800 strike",
            "keywords": "port,\udfffcranes",
            "articleSection": "Lo\x00cal",
        }
    )  # json.dumps writes them as \ud800 escapes: the page's JSON-LD holds them so
    html = (
        f"<html lang='en'><head><script type='application/ld+json'>{ld}</script></head>"
        f"<body><article>{PARAS}</article></body></html>"
    )
    record = extract_article(html.encode(), "http://127.0.0.1/a.html")
    assert isinstance(record, ArticleRecord)
    assert record.title == f"Harbour {REPLACEMENT} strike"
    assert f"{REPLACEMENT}cranes" in record.tags
    _encodable(record)


def test_sanitize_reaches_tuples_and_the_nested_translation_note() -> None:
    record = ArticleRecord(
        url="http://127.0.0.1/a",
        text="clean",
        content_hash=content_hash("clean"),
        simhash=1,
        word_count=1,
        extractor_version="t",
        authors=("Anna \ud800",),
        translation=TranslationNote(note="Aus dem \udc00Russischen.", original_outlet="x\x00"),
    )
    clean = sanitize(record)
    assert clean.authors == (f"Anna {REPLACEMENT}",)
    assert clean.translation is not None
    assert clean.translation.note == f"Aus dem {REPLACEMENT}Russischen."
    assert clean.translation.original_outlet == f"x{REPLACEMENT}"
    assert clean.content_hash == record.content_hash  # text unchanged


def test_a_changed_text_gets_its_fingerprints_computed_again() -> None:
    record = ArticleRecord(
        url="u", text="a\x00b c", content_hash="0" * 64, simhash=0, word_count=0,
        extractor_version="t",
    )  # fmt: skip
    clean = sanitize(record)
    assert clean.text == f"a{REPLACEMENT}b c"
    assert clean.content_hash == content_hash(clean.text)
    assert clean.word_count == 3


def test_a_clean_record_is_returned_as_is() -> None:
    record = Rejection(url="http://127.0.0.1/x", reason="empty", detail="nothing")
    assert sanitize(record) is record
    assert clean_text("Straße 🙂") == "Straße 🙂"
