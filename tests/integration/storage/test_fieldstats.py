"""Field health counts kept at write time: per source and day, per run (migration 0012)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from storage import articles, db, failures, fieldstats, ledger, sources
from storage.articles import StoredArticle
from storage.failures import FailureRow
from storage.sources import SourceRow
from tests.integration.storage.test_articles import _record


def _source(session: Session, key: str = "src", language: str | None = "de") -> int:
    return sources.upsert_source(
        session, SourceRow(key=key, name=key, url="https://news.example/", language=language)
    )


def test_stored_records_and_rejections_add_up_per_day_and_per_run(
    sessions: sessionmaker[Session],
) -> None:
    full = _record("https://news.example/1", "Eins " * 120)
    bare = replace(
        _record("https://news.example/2", "Zwei " * 30),
        title=None,
        lead=None,
        authors=(),
        credits=(),
        published_at=None,
        published_precision=None,
        translation=None,
        language="en",
    )
    wire = replace(_record("https://news.example/3", "Drei " * 600), authors=(), credits=("dpa",))
    with db.transaction(sessions) as session:
        sid = _source(session)
        run = ledger.start_run(session, source_id=sid, trigger="cli", host="h", pid=1)
        articles.upsert_articles(
            session, [StoredArticle(r, sid, run_id=run) for r in (full, bare, wire)]
        )
        failures.insert_failures(
            session,
            [
                FailureRow("https://news.example/x", "extract", "too_short", source_id=sid,
                           run_id=run),
                FailureRow("https://news.example/y", "extract", "too_short", source_id=sid,
                           run_id=run),
                FailureRow("https://news.example/z", "fetch", "http_404", source_id=sid,
                           run_id=run),
            ],
        )  # fmt: skip
    # a second batch of the same run: the unchanged record counts again (it was extracted)
    with db.transaction(sessions) as session:
        articles.upsert_articles(session, [StoredArticle(full, sid, run_id=run)])
    with sessions() as session:
        stats = fieldstats.source_field_stats(session, ["src", "none"], datetime.now(UTC))
    src = stats["src"]
    assert src.language == "de" and stats["none"].days == {} and stats["none"].runs == []
    (day,) = src.days.values()
    (one,) = src.runs
    assert one.run_id == run and one.counts == day
    assert (day.records, day.with_title, day.with_lead, day.with_authors) == (4, 3, 3, 3)
    assert (day.published_month, day.published_minute, day.count("published")) == (3, 0, 3)
    assert (day.language_agrees, day.with_translation) == (3, 3)
    assert day.rejected == 2 and dict(day.rejections) == {"too_short": 2}
    assert day.rejection_rate() == 2 / 6
    assert day.share("authors") == 0.75
    assert sum(day.words_hist) == 4
    assert day.words_hist[fieldstats.word_bucket(120)] == 2
    assert 100 <= (day.median_words() or 0) < 150


def test_counts_without_a_run_go_to_the_day_only_and_a_source_without_language_agrees_never(
    sessions: sessionmaker[Session],
) -> None:
    with db.transaction(sessions) as session:
        sid = _source(session, language=None)
        articles.upsert_articles(session, [StoredArticle(_record(), sid)])
    with sessions() as session:
        src = fieldstats.source_field_stats(session, ["src"], datetime.now(UTC))["src"]
        rows = session.execute(text("SELECT count(*) FROM run_field_stats")).scalar_one()
    assert rows == 0 and src.runs == []
    (day,) = src.days.values()
    assert (day.records, day.language_agrees) == (1, 0)


def test_field_counts_add_subtract_and_give_medians() -> None:
    a = fieldstats.FieldCounts(records=2, with_title=2, words_hist=(0, 2), rejections={"x": 1},
                               rejected=1)  # fmt: skip
    b = fieldstats.FieldCounts(records=1, words_hist=(0, 0, 0, 1), rejections={"x": 1, "y": 2},
                               rejected=3)  # fmt: skip
    total = a + b
    assert total.words_hist == (0, 2, 0, 1) and dict(total.rejections) == {"x": 2, "y": 2}
    assert total.minus(b) == replace(a, words_hist=(0, 2, 0, 0))
    assert total.share("title") == 2 / 3 and fieldstats.FieldCounts().share("title") is None
    assert fieldstats.FieldCounts(words_hist=(0, 0, 0, 0, 10)).median_words() == 125.0


def test_summed_window_equals_the_sum_of_its_days(sessions: sessionmaker[Session]) -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    days = [  # (day, records, with_authors, rejected, words_hist, rejections)
        ("2026-03-31", 5, 4, 1, [1, 2, 2], '{"too_short": 1}'),
        ("2026-03-20", 3, 0, 2, [0, 3], '{"too_short": 1, "not_article": 1}'),
        ("2026-03-02", 2, 2, 0, [0, 0, 0, 2], "{}"),
        ("2026-02-01", 9, 9, 9, [9], '{"empty": 9}'),  # before the 30-day window
    ]
    with db.transaction(sessions) as session:
        sid = _source(session)
        quiet = _source(session, key="quiet")
        for day, records, authors, rejected, hist, reasons in days:
            session.execute(
                text(
                    "INSERT INTO source_daily_stats (source_id, day, records, with_authors,"
                    " rejected, words_hist, rejections) VALUES (:sid, CAST(:day AS date),"
                    " :records, :authors, :rejected, CAST(:hist AS bigint[]),"
                    " CAST(:reasons AS jsonb))"
                ),
                {"sid": sid, "day": day, "records": records, "authors": authors,
                 "rejected": rejected, "hist": hist, "reasons": reasons},
            )  # fmt: skip
        session.execute(
            text("INSERT INTO source_daily_stats (source_id, day) VALUES (:q, '2026-03-30')"),
            {"q": quiet},
        )
    with sessions() as session:
        per_day = fieldstats.source_field_stats(session, ["src", "quiet"], now)
        summed = fieldstats.source_field_stats(session, ["src", "quiet"], now, summed=True)
    first = now.date().replace(day=2)
    assert len(per_day["src"].days) == 3
    assert list(summed["src"].days) == [first]
    window = summed["src"].total(first)
    assert window == per_day["src"].total(first)
    assert (window.records, window.with_authors, window.rejected) == (10, 6, 3)
    assert window.words_hist == (1, 5, 2, 2)
    assert dict(window.rejections) == {"too_short": 2, "not_article": 1}
    assert summed["quiet"].days == per_day["quiet"].days == {}
