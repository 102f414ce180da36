"""Exports of ``article_feed``: JSON lines, CSV, text layout, filters, streaming."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ARRAY, DateTime, text
from sqlalchemy.orm import Session, sessionmaker

from crawler.extraction.record import ArticleRecord, TranslationNote
from crawler.extraction.text import content_hash, simhash, word_count
from storage import articles, db, export, sources
from storage.articles import StoredArticle
from storage.models import Article
from storage.queries import ARTICLE_FEED_COLUMNS, ArticleFilter
from storage.sources import SourceRow
from tests.integration.conftest import Cli

BODY = (
    "Am Nordkai von Krasnomorsk stehen seit Montag alle Kräne still.\n\n"
    "Die Gewerkschaft fordert höhere Schichtzulagen.\n\n"
    "Die Betreibergesellschaft will am Freitag ein neues Angebot vorlegen."
)


def _record(
    url: str = "https://rt.example/telefonat",
    *,
    body: str = BODY,
    language: str = "de",
    published_at: datetime | None = datetime(2025, 2, 13, 18, 5, tzinfo=UTC),
) -> ArticleRecord:
    return ArticleRecord(
        url=url,
        text=body,
        content_hash=content_hash(body),
        simhash=simhash(body),
        word_count=word_count(body),
        extractor_version="0.1.0",
        title="Hafenarbeiter legen Terminal lahm",
        lead="Rund 900 Beschäftigte streiken für einen neuen Tarifvertrag.",
        authors=("Anna Petrowa", "Jens Köhler"),
        credits=("rtdeutsch",),
        byline="Von Anna Petrowa und Jens Köhler (rtdeutsch)",
        published_at=published_at,
        published_precision="minute",
        published_utc_offset=60,
        published_raw="13.02.2025 19:05",
        modified_at=datetime(2025, 2, 14, 8, 0, tzinfo=UTC),
        language=language,
        language_confidence=0.9999,
        declared_language=language,
        translation=TranslationNote(
            note="Übersetzt aus dem Russischen. Zuerst erschienen bei Wetscherni Majak.",
            source_language="ru",
            original_outlet="Wetscherni Majak",
            original_published_at=datetime(2025, 2, 13, tzinfo=UTC),
        ),
        site_name="RT DE",
        section="International",
        tags=("Russland", "USA"),
        image_url="https://rt.example/img.jpg",
        fetched_at=datetime(2025, 2, 14, 7, 30, 15, tzinfo=UTC),
    )


def _store(sessions: sessionmaker[Session], source: str, *records: ArticleRecord) -> dict[str, int]:
    with db.transaction(sessions) as session:
        source_id = sources.upsert_source(
            session, SourceRow(key=source, name=f"{source} news", url=f"https://{source}.example/")
        )
        return articles.upsert_articles(
            session, [StoredArticle(record=r, source_id=source_id) for r in records]
        ).ids


def _exported(sessions: sessionmaker[Session], filters: ArticleFilter) -> list[dict[str, Any]]:
    out = io.StringIO()
    with sessions() as session, session.begin():
        export.write_jsonl(export.iter_feed(session, filters), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _from_json(obj: dict[str, Any]) -> ArticleRecord:
    """The record an exported line holds, field by field as `storage.articles` derives
    them (the translation flat in ``translation_*``), typed by the model's columns."""

    def value(column: str) -> Any:
        raw = obj[column]
        sql_type = Article.__table__.c[column].type
        if isinstance(sql_type, ARRAY):
            return tuple(raw)
        if isinstance(sql_type, DateTime):
            return datetime.fromisoformat(raw) if raw else None
        return raw

    plain = {f.name: value(f.name) for f in fields(ArticleRecord) if f.name != "translation"}
    note = {f.name: value(f"translation_{f.name}") for f in fields(TranslationNote)}
    return ArticleRecord(**plain, translation=TranslationNote(**note) if note["note"] else None)


def test_jsonl_export_round_trips_every_record_field(sessions: sessionmaker[Session]) -> None:
    record = replace(_record(), stub="paywall")
    ids = _store(sessions, "rt", record)
    (line,) = _exported(sessions, ArticleFilter())
    assert list(line) == list(ARTICLE_FEED_COLUMNS)
    assert _from_json(line) == record
    assert line["id"] == ids[record.url]
    assert (line["source_key"], line["source_name"]) == ("rt", "rt news")
    assert line["published_at"] == "2025-02-13T18:05:00Z"
    assert line["authors"] == ["Anna Petrowa", "Jens Köhler"]
    assert (line["credits"], line["published_utc_offset"]) == (["rtdeutsch"], 60)
    assert line["stub"] == "paywall"
    assert (line["version"], line["duplicate_of"]) == (1, None)


def test_csv_export_has_a_header_and_json_arrays(sessions: sessionmaker[Session]) -> None:
    _store(sessions, "rt", _record(), replace(_record("https://rt.example/v"), stub="video"))
    out = io.StringIO()
    with sessions() as session, session.begin():
        export.write_csv(export.iter_feed(session), out)
    header, row, video = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == list(ARTICLE_FEED_COLUMNS)
    cell = dict(zip(header, row, strict=True))
    assert json.loads(cell["tags"]) == ["Russland", "USA"]
    assert cell["text"] == BODY
    assert cell["modified_at"] == "2025-02-14T08:00:00Z"
    assert cell["duplicate_of"] == ""
    assert (json.loads(cell["credits"]), cell["published_utc_offset"]) == (["rtdeutsch"], "60")
    assert (cell["stub"], dict(zip(header, video, strict=True))["stub"]) == ("", "video")


def test_text_layout_is_date_and_lead_byline_paragraphs_and_note(
    sessions: sessionmaker[Session],
) -> None:
    _store(sessions, "rt", _record())
    with sessions() as session, session.begin():
        (row,) = export.iter_feed(session)
    assert export.render_text(row) == (
        " date 2025-02-13 19:05 +01:00"
        " Rund 900 Beschäftigte streiken für einen neuen Tarifvertrag.\n"
        "\n"
        "Von Anna Petrowa und Jens Köhler (rtdeutsch)\n"
        "\n"
        "Am Nordkai von Krasnomorsk stehen seit Montag alle Kräne still.\n"
        "\n"
        "Die Gewerkschaft fordert höhere Schichtzulagen.\n"
        "\n"
        "Die Betreibergesellschaft will am Freitag ein neues Angebot vorlegen.\n"
        "\n"
        "Übersetzt aus dem Russischen. Zuerst erschienen bei Wetscherni Majak.\n"
        "\n"
    )


def test_text_layout_of_a_stub_ends_with_its_kind(sessions: sessionmaker[Session]) -> None:
    teaser = "Das Video zeigt die stillstehenden Kräne am Nordkai."
    _store(sessions, "rt", replace(_record(body=teaser), stub="video"))
    with sessions() as session, session.begin():
        (row,) = export.iter_feed(session)
    assert export.render_text(row).endswith(
        "Von Anna Petrowa und Jens Köhler (rtdeutsch)\n\n"
        f"{teaser}\n\n"
        "Übersetzt aus dem Russischen. Zuerst erschienen bei Wetscherni Majak.\n\n"
        "stub: video\n\n"
    )


def test_filters_select_by_source_language_and_publication_days(
    sessions: sessionmaker[Session],
) -> None:
    _store(
        sessions,
        "rt",
        _record("https://rt.example/feb", published_at=datetime(2025, 2, 28, 23, 59, tzinfo=UTC)),
        _record("https://rt.example/mar", published_at=datetime(2025, 3, 1, tzinfo=UTC)),
        _record("https://rt.example/undated", published_at=None),
    )
    _store(sessions, "bbc", _record("https://bbc.example/en", body="English text.", language="en"))

    def urls(**kw: Any) -> list[str]:
        return [row["url"] for row in _exported(sessions, ArticleFilter(**kw))]

    assert urls(source_key="bbc") == ["https://bbc.example/en"]
    assert urls(language="en") == ["https://bbc.example/en"]
    assert urls(source_key="rt", since=datetime(2025, 3, 1, tzinfo=UTC)) == [
        "https://rt.example/mar"
    ]
    assert urls(source_key="rt", until=datetime(2025, 3, 1, tzinfo=UTC)) == [
        "https://rt.example/feb"
    ]
    assert len(urls()) == 4
    _store(
        sessions, "bbc", replace(_record("https://bbc.example/pw", language="en"), stub="paywall")
    )
    assert urls(language="en", full_only=True) == ["https://bbc.example/en"]
    assert urls(language="en") == ["https://bbc.example/en", "https://bbc.example/pw"]


def test_rows_stream_from_a_server_side_cursor(sessions: sessionmaker[Session]) -> None:
    _store(
        sessions, "rt", *(_record(f"https://rt.example/{i}", body=f"Text {i}.") for i in range(5))
    )
    with sessions() as session, session.begin():
        rows = export.iter_feed(session, batch_size=2)
        next(rows)
        cursors = session.execute(text("SELECT name FROM pg_cursors")).scalars().all()
        assert len(cursors) == 1  # psycopg's named cursor: rows are fetched 2 at a time
        assert len(list(rows)) == 4


def test_cli_exports_to_stdout_file_and_one_text_file_per_article(
    cli: Cli, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ids = _store(sessions, "rt", _record(), _record("https://rt.example/b", body="Zweiter Text."))
    done = cli.run("export", "--format", "jsonl", "--source", "rt", LC_ALL="C", LANG="C")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == sorted(ids.values())
    assert "Jens Köhler" in done.stdout and "\\u" not in done.stdout  # UTF-8, in any locale

    target = tmp_path / "out.csv"
    done = cli.run("export", "--format", "csv", "--until", "2025-02-13", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert len(list(csv.reader(target.open(encoding="utf-8", newline="")))) == 3

    folder = tmp_path / "texts"
    done = cli.run("export", "--format", "text", "--since", "2025-02-14", "-o", str(folder))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == []
    done = cli.run("export", "--format", "text", "-o", str(folder))
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{i}.txt" for i in ids.values())
    first = (folder / f"{ids['https://rt.example/telefonat']}.txt").read_text(encoding="utf-8")
    assert first.startswith(" date 2025-02-13 19:05 +01:00 Rund 900 Beschäftigte")
