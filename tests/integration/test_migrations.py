"""Migrations: an empty database upgrades to head and matches the models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy import exc as sa_exc

from storage import db, migrate, search_index
from tests.integration.conftest import _scratch_database


@pytest.fixture
def empty_database(pg_server: str) -> Iterator[str]:
    yield from _scratch_database(pg_server)


def test_empty_database_upgrades_to_head_and_passes_alembic_check(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.check(empty_database)  # raises when models and schema disagree
    engine = db.make_engine(empty_database, pool_size=1)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {
        "sources",
        "articles",
        "article_versions",
        "pages",
        "crawl_runs",
        "fetch_failures",
    } <= tables


def test_downgrade_to_base_and_upgrade_again_round_trips(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "base")
    engine = db.make_engine(empty_database, pool_size=1)
    try:
        assert "articles" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    migrate.upgrade(empty_database)
    migrate.check(empty_database)


INTERNAL_ARTICLE_COLUMNS = {
    "fetched_at",
    "search_vector",
    "duplicate_of",
    "simhash_band0",
    "simhash_band1",
    "simhash_band2",
    "simhash_band3",
}
"""Columns of ``articles`` that are the crawler's bookkeeping, not the record's contract."""


def test_articles_has_exactly_the_contract_columns(database_url: str) -> None:
    contract = [
        "id",
        "source_id",
        "url",
        "title",
        "lead",
        "text",
        "authors",
        "byline",
        "published_at",
        "published_precision",
        "published_raw",
        "modified_at",
        "language",
        "language_confidence",
        "declared_language",
        "translation_source_language",
        "translation_original_outlet",
        "translation_original_published_at",
        "translation_note",
        "site_name",
        "section",
        "tags",
        "image_url",
        "word_count",
        "content_hash",
        "simhash",
        "extractor_version",
        "version",
        "first_seen_at",
        "last_seen_at",
        "credits",
        "published_utc_offset",
        "stub",
    ]
    engine = db.make_engine(database_url, pool_size=1)
    try:
        columns = {c["name"]: c for c in inspect(engine).get_columns("articles")}
    finally:
        engine.dispose()
    # exactly: a column added by a migration is either the record's (listed above) or
    # the crawler's own (INTERNAL_ARTICLE_COLUMNS), never an unnamed extra
    assert sorted(columns) == sorted({*contract, *INTERNAL_ARTICLE_COLUMNS})
    assert str(columns["simhash"]["type"]) == "BIGINT"
    assert type(columns["authors"]["type"]).__name__ == "ARRAY"
    assert type(columns["tags"]["type"]).__name__ == "ARRAY"
    assert type(columns["credits"]["type"]).__name__ == "ARRAY"
    assert str(columns["published_utc_offset"]["type"]) == "INTEGER"
    assert str(columns["stub"]["type"]) == "TEXT"
    for name in ("published_at", "modified_at", "first_seen_at", "last_seen_at"):
        assert getattr(columns[name]["type"], "timezone", False), f"{name} is not timestamptz"


def test_articles_leave_room_for_hot_updates_and_big_columns_skip_futile_compression(
    database_url: str,
) -> None:
    engine = create_engine(db.sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            options = conn.execute(
                text("select reloptions from pg_class where relname = 'articles'")
            ).scalar_one()
            storage: dict[str, str] = dict(
                conn.execute(
                    text(
                        "select attrelid::regclass::text || '.' || attname, attstorage"
                        " from pg_attribute where (attrelid, attname) in ("
                        " ('pages'::regclass, 'html_zlib'), ('articles'::regclass, 'text'),"
                        " ('articles'::regclass, 'search_vector'),"
                        " ('article_versions'::regclass, 'text'))"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert "fillfactor=50" in options
    assert storage == {
        "pages.html_zlib": "e",
        "articles.text": "e",
        "articles.search_vector": "e",
        "article_versions.text": "e",
    }


def _feed_columns(url: str) -> list[str]:
    engine = db.make_engine(url, pool_size=1)
    try:
        return [c["name"] for c in inspect(engine).get_columns("article_feed")]
    finally:
        engine.dispose()


def _insert_article(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into articles (url, text, word_count, content_hash, simhash,"
                " extractor_version) values ('https://a.example/1', 'alt', 1, 'h1', 0, 'x')"
            )
        )


def test_0007_appends_credits_and_offset_and_its_downgrade_restores_the_previous_view(
    empty_database: str,
) -> None:
    migrate.upgrade(empty_database, "0006")
    before = _feed_columns(empty_database)
    engine = create_engine(db.sqlalchemy_url(empty_database))
    try:
        _insert_article(engine)  # stored before 0007, changed after it
        migrate.upgrade(empty_database, "0007")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "update articles set text = 'neu', content_hash = 'h2',"
                    " credits = '{dpa}', published_utc_offset = 60"
                )
            )
            archived = conn.execute(
                text("select credits, published_utc_offset from article_versions")
            ).one()
            feed = conn.execute(
                text("select credits, published_utc_offset from article_feed")
            ).one()
    finally:
        engine.dispose()
    assert _feed_columns(empty_database) == [*before, "credits", "published_utc_offset"]
    assert tuple(archived) == ([], None)
    assert tuple(feed) == (["dpa"], 60)
    migrate.downgrade(empty_database, "0006")
    assert _feed_columns(empty_database) == before
    migrate.upgrade(empty_database)
    migrate.check(empty_database)


def test_0009_appends_stub_archives_it_checks_it_and_its_downgrade_restores_the_view(
    empty_database: str,
) -> None:
    migrate.upgrade(empty_database, "0008")
    before = _feed_columns(empty_database)
    engine = create_engine(db.sqlalchemy_url(empty_database))
    try:
        _insert_article(engine)  # stored before 0009, changed after it
        migrate.upgrade(empty_database, "0009")
        with engine.begin() as conn:
            conn.execute(
                text("update articles set text = 'kurz', content_hash = 'h2', stub = 'paywall'")
            )
            conn.execute(
                text("update articles set text = 'ganz', content_hash = 'h3', stub = null")
            )
            archived = conn.execute(
                text("select version, stub from article_versions order by version")
            ).all()
            feed = conn.execute(text("select version, stub from article_feed")).one()
        with pytest.raises(sa_exc.IntegrityError, match="ck_articles_stub"), engine.begin() as conn:
            conn.execute(text("update articles set stub = 'audio'"))
        with (
            pytest.raises(sa_exc.IntegrityError, match="ck_article_versions_stub"),
            engine.begin() as conn,
        ):
            conn.execute(
                text(
                    "insert into article_versions (article_id, version, text, authors,"
                    " content_hash, simhash, extractor_version, stub)"
                    " select id, 9, 't', '{}', 'h9', 0, 'x', 'Paywall' from articles"
                )
            )
    finally:
        engine.dispose()
    assert _feed_columns(empty_database) == [*before, "stub"]
    assert [tuple(row) for row in archived] == [(1, None), (2, "paywall")]
    assert tuple(feed) == (3, None)
    migrate.downgrade(empty_database, "0008")
    assert _feed_columns(empty_database) == before
    migrate.upgrade(empty_database)
    migrate.check(empty_database)


def _index_definitions(url: str) -> dict[str, str]:
    engine = create_engine(db.sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "select indexname, indexdef from pg_indexes"
                    " where schemaname = current_schema() and tablename <> 'alembic_version'"
                )
            ).all()
    finally:
        engine.dispose()
    return {name: definition for name, definition in rows}


def test_every_index_of_the_migrations_is_the_models_index_with_its_order_and_predicate(
    pg_server: str,
) -> None:
    # alembic check compares index columns, not sort order or a partial index's WHERE.
    from storage.models import Base

    for migrated in _scratch_database(pg_server):
        migrate.upgrade(migrated)
        by_migrations = _index_definitions(migrated)
    for modelled in _scratch_database(pg_server):
        engine = create_engine(db.sqlalchemy_url(modelled))
        try:
            Base.metadata.create_all(engine)
        finally:
            engine.dispose()
        by_models = _index_definitions(modelled)
    assert by_migrations == by_models
    assert by_migrations["ix_articles_source_id_published_at"].endswith(
        "(source_id, published_at DESC NULLS LAST)"
    )
    assert by_migrations["ix_crawl_runs_source_id_finished_at_succeeded"].endswith(
        "WHERE (status = 'succeeded'::text)"
    )


def test_0014_band_indexes_carry_simhash_and_id_and_its_downgrade_restores_them(
    empty_database: str,
) -> None:
    # The near-duplicate lookup checks the Hamming distance in the band index
    # (index-only scan) instead of reading every candidate row from the table.
    def bands() -> dict[str, str]:
        return {
            name: definition
            for name, definition in _index_definitions(empty_database).items()
            if name.startswith("ix_articles_simhash_band")
        }

    migrate.upgrade(empty_database, "0013")
    before = bands()
    assert len(before) == 4
    assert not any("INCLUDE" in d for d in before.values())
    migrate.upgrade(empty_database)
    after = bands()
    assert set(after) == set(before)
    for band in range(4):
        assert after[f"ix_articles_simhash_band{band}"].endswith(
            f"(simhash_band{band}) INCLUDE (simhash, id)"
        )
    migrate.downgrade(empty_database, "0013")
    assert bands() == before


def test_0019_splits_the_search_index_into_segments_by_id_and_its_downgrade_restores_it(
    empty_database: str,
) -> None:
    migrate.upgrade(empty_database, "0018")
    engine = create_engine(db.sqlalchemy_url(empty_database))
    match = text("select id from articles where search_vector @@ to_tsquery('simple', 'alt')")
    try:
        with engine.begin() as conn:
            for id_ in (1, 99_999, 100_000, 250_001):
                conn.execute(
                    text(
                        "insert into articles (id, url, text, word_count, content_hash,"
                        " simhash, extractor_version)"
                        " values (:id, 'https://a.example/' || :id, 'alt', 1, 'h', 0, 'x')"
                    ),
                    {"id": id_},
                )
        migrate.upgrade(empty_database, "0019")
        with engine.connect() as conn:
            names = [s.name for s in search_index.segments(conn)]
            found = (
                conn.execute(
                    text(
                        "select id from articles a"
                        " where a.search_vector @@ to_tsquery('simple', 'alt')"
                        f" and {search_index.match_condition(search_index.segments(conn))}"
                        " order by id"
                    )
                )
                .scalars()
                .all()
            )
        assert names == [
            "ix_articles_search_vector_0_100000",
            "ix_articles_search_vector_100000_200000",
            "ix_articles_search_vector_from_200000",
        ]
        assert found == [1, 99_999, 100_000, 250_001]
        with engine.connect() as conn:
            by_function = (
                conn.execute(
                    text(
                        "select * from newsingest_search_ids(to_tsquery('simple', 'alt'))"
                        " order by 1"
                    )
                )
                .scalars()
                .all()
            )
        assert by_function == found
        assert "ix_articles_search_vector" not in _index_definitions(empty_database)
        migrate.downgrade(empty_database, "0018")
        with engine.connect() as conn:
            assert search_index.segments(conn) == []
            assert len(conn.execute(match).all()) == 4
        assert "ix_articles_search_vector" in _index_definitions(empty_database)
    finally:
        engine.dispose()
    migrate.upgrade(empty_database)
    migrate.check(empty_database)
