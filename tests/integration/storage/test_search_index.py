"""The search index's segments against the real PostgreSQL: rolls, merges, searches."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from crawler.extraction.record import ArticleRecord
from storage import articles, db, migrate, queries, search_index, sources, writes
from storage.articles import StoredArticle
from storage.sources import SourceRow
from tests.integration.conftest import _scratch_database

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliett",
    "kilo",
    "lima",
    "mike",
]


@pytest.fixture
def engine(pg_server: str) -> Iterator[Engine]:
    """A migrated database of its own: rolls change its indexes."""
    for url in _scratch_database(pg_server):
        migrate.upgrade(url)
        eng = db.make_engine(url, pool_size=2)
        try:
            yield eng
        finally:
            eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return db.make_session_factory(engine)


def _store(sessions: sessionmaker[Session], first: int, count: int) -> None:
    """Articles ``first`` .. ``first + count - 1``: each says "hafen" and its own word."""
    records = []
    for n in range(first, first + count):
        body = f"Der Hafen meldet {WORDS[n % len(WORDS)]} Nummer{n} heute."
        records.append(
            ArticleRecord(
                url=f"https://news.example/{n}",
                text=body,
                content_hash=hashlib.sha256(body.encode()).hexdigest(),
                simhash=n * 7919,
                word_count=len(body.split()),
                extractor_version="test",
                title=f"Meldung {n}",
                published_at=datetime(2025, 2, 1, tzinfo=UTC),
                published_precision="day",
                language="de",
                fetched_at=datetime(2025, 2, 1, tzinfo=UTC),
            )
        )
    with db.transaction(sessions) as session:
        source_id = sources.upsert_source(
            session, SourceRow(key="src", name="Source", url="https://news.example/")
        )
        articles.upsert_articles(
            session, [StoredArticle(record=r, source_id=source_id) for r in records]
        )


def _roll(engine: Engine, segment_ids: int) -> list[str]:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return search_index.roll(conn, segment_ids)


def _names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [s.name for s in search_index.segments(conn)]


def test_a_new_database_has_one_open_segment_from_id_0(engine: Engine) -> None:
    assert _names(engine) == ["ix_articles_search_vector_from_0"]


def test_roll_keeps_the_open_segment_while_it_spans_less_than_a_range(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _store(sessions, 1, 4)  # ids 1-4
    assert _roll(engine, 5) == []
    assert _names(engine) == ["ix_articles_search_vector_from_0"]


def test_roll_closes_each_whole_range_and_opens_a_segment_after_them(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _store(sessions, 1, 12)  # ids 1-12: ranges 0-4 and 5-9 are whole
    assert _roll(engine, 5) == [
        "ix_articles_search_vector_0_5",
        "ix_articles_search_vector_5_10",
        "ix_articles_search_vector_from_10",
    ]
    assert _names(engine) == [
        "ix_articles_search_vector_0_5",
        "ix_articles_search_vector_5_10",
        "ix_articles_search_vector_from_10",
    ]
    _store(sessions, 13, 3)  # id 15 starts the next range
    assert _roll(engine, 5) == [
        "ix_articles_search_vector_10_15",
        "ix_articles_search_vector_from_15",
    ]
    assert "ix_articles_search_vector_from_10" not in _names(engine)
    migrate.check(engine.url.render_as_string(hide_password=False))


def test_search_finds_the_articles_of_every_segment(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _store(sessions, 1, 12)
    _roll(engine, 5)
    with db.transaction(sessions) as session:
        found = queries.search(session, "hafen", limit=50)
        one = queries.search(session, "nummer7", limit=50)
    assert sorted(hit.id for hit in found.hits) == list(range(1, 13))
    assert [hit.id for hit in one.hits] == [7]


def test_a_search_reads_each_segment_through_its_own_index(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _store(sessions, 1, 12)
    _roll(engine, 5)
    with db.transaction(sessions) as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_indexscan = off"))
        condition = search_index.searchable(session)
        plan = "\n".join(
            session.execute(
                text(
                    "EXPLAIN SELECT a.id FROM articles AS a"
                    " WHERE a.search_vector @@ to_tsquery('german', 'hafen')"
                    f" AND {condition}"
                )
            ).scalars()
        )
    for name in _names(engine):
        assert f"Bitmap Index Scan on {name}" in plan
    assert "pk_articles" not in plan


def test_new_articles_after_a_roll_wait_only_in_the_open_segments_pending_list(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _store(sessions, 1, 12)
    _roll(engine, 5)
    _store(sessions, 13, 2)
    emptied = {}
    with db.transaction(sessions) as session:
        for segment in search_index.segments(session):
            emptied[segment.name] = session.execute(
                text("SELECT gin_clean_pending_list(CAST(:i AS regclass))"), {"i": segment.name}
            ).scalar_one()
    assert emptied["ix_articles_search_vector_0_5"] == 0
    assert emptied["ix_articles_search_vector_5_10"] == 0
    assert emptied["ix_articles_search_vector_from_10"] > 0


def test_the_store_pipelines_merge_rolls_the_open_segment(
    engine: Engine, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "SEGMENT_IDS", 5)
    _store(sessions, 1, 7)
    assert writes.merge_search_index(sessions) > 0
    assert _names(engine) == [
        "ix_articles_search_vector_0_5",
        "ix_articles_search_vector_from_5",
    ]


def _index_scans(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes"
                " WHERE indexrelname LIKE 'ix\\_articles\\_search\\_vector\\_%'"
            )
        ).all()
    return {str(name): int(scans) for name, scans in rows}


def test_the_search_ids_function_reads_each_segment_through_its_own_index(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    # the cookbook's way to search without newsingest's code (migration 0019)
    _store(sessions, 1, 12)
    _roll(engine, 5)
    before = _index_scans(engine)
    with db.transaction(sessions) as session:
        ids = (
            session.execute(
                text(
                    "SELECT * FROM newsingest_search_ids("
                    "to_tsquery('german', 'nummer7 | nummer11'))"
                )
            )
            .scalars()
            .all()
        )
        everything = session.execute(
            text("SELECT count(*) FROM newsingest_search_ids(to_tsquery('german', 'hafen'))")
        ).scalar_one()
        session.execute(text("SELECT pg_stat_force_next_flush()"))
    after = _index_scans(engine)
    assert sorted(ids) == [7, 11]
    assert everything == 12
    assert set(after) == set(_names(engine))
    assert all(after[name] >= before[name] + 2 for name in after)


def test_the_search_ids_function_filters_by_language_and_date_and_keeps_the_newest(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _store(sessions, 1, 12)
    _roll(engine, 5)
    with db.transaction(sessions) as session:
        session.execute(
            text(
                "UPDATE articles"
                " SET published_at = timestamptz '2025-01-01' + id * interval '1 day',"
                " language = CASE WHEN id % 2 = 0 THEN 'de' ELSE 'en' END"
            )
        )
    with db.transaction(sessions) as session:
        rows = (
            session.execute(
                text(
                    # 'haf': the German stem of Hafen, 'hafen' the English one
                    "SELECT * FROM newsingest_search_ids(to_tsquery('simple', 'hafen | haf'),"
                    " 'de', timestamptz '2025-01-05', 3)"
                )
            )
            .scalars()
            .all()
        )
        since = session.execute(
            text(
                "SELECT count(*) FROM newsingest_search_ids(to_tsquery('simple', 'hafen | haf'),"
                " since => timestamptz '2025-01-10')"
            )
        ).scalar_one()
    assert rows == [12, 10, 8]  # German, from id 4 on, the newest three, newest first
    assert since == 4  # ids 9 to 12


def test_merging_under_a_role_that_does_not_own_the_index_logs_and_returns_none(
    engine: Engine, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    _store(sessions, 1, 2)
    role = f"newsingest_writer_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.execute(text(f"CREATE ROLE {role}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
        conn.execute(
            text(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {schema} TO {role}")
        )
    writer = create_engine(engine.url, connect_args={"options": f"-c role={role}"})
    try:
        assert writes.merge_search_index_if_owner(db.make_session_factory(writer)) is None
    finally:
        writer.dispose()
        with engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
    assert "not their owner" in caplog.text
    assert writes.merge_search_index_if_owner(sessions) is not None  # the owner merges
