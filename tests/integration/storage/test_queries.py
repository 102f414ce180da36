"""Full-text search, the article_feed view and the read-only role, on the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from crawler.extraction.record import ArticleRecord
from crawler.extraction.text import content_hash, simhash, word_count
from storage import articles, db, queries, sources
from storage.articles import StoredArticle
from storage.queries import ARTICLE_FEED_COLUMNS, ArticleFilter
from storage.sources import SourceRow
from tests.integration.conftest import Cli


def _record(url: str, title: str, body: str, language: str | None = "de") -> ArticleRecord:
    return ArticleRecord(
        url=url,
        text=body,
        content_hash=content_hash(body),
        simhash=simhash(body),
        word_count=word_count(body),
        extractor_version="test",
        title=title,
        language=language,
        published_at=datetime(2025, 2, 14, tzinfo=UTC),
        published_precision="day",
    )


def _store(sessions: sessionmaker[Session], source: str, *records: ArticleRecord) -> dict[str, int]:
    with db.transaction(sessions) as session:
        source_id = sources.upsert_source(
            session, SourceRow(key=source, name=source, url=f"https://{source}.example/")
        )
        return articles.upsert_articles(
            session, [StoredArticle(record=r, source_id=source_id) for r in records]
        ).ids


def _search(
    sessions: sessionmaker[Session], query: str, **filters: object
) -> list[queries.SearchHit]:
    with sessions() as session:
        return queries.search(session, query, ArticleFilter(**filters)).hits  # type: ignore[arg-type]


HAFEN = _record(
    "https://de.example/hafen",
    "Hafenarbeiter streiken",
    "Die Hafenarbeiter streikten am Montag. Schiffe warten vor dem Hafen.",
)
BAHN = _record(
    "https://de.example/bahn",
    "Neuer Fahrplan der Regionalbahn",
    "Wegen des Streiks der Hafenarbeiter fahren weniger Güterzüge. Der Fahrplan ändert sich.",
)
PORT = _record(
    "https://en.example/port",
    "Dock workers strike",
    "Dock workers went on strike at the port on Monday; ships are waiting.",
    language="en",
)


def test_title_match_ranks_above_body_match_and_words_are_stemmed(
    sessions: sessionmaker[Session],
) -> None:
    ids = _store(sessions, "de", HAFEN, BAHN)
    hits = _search(sessions, "Hafenarbeiter streiken")
    assert [h.id for h in hits] == [ids[HAFEN.url], ids[BAHN.url]]  # "Streiks" stems to streik
    assert hits[0].source_key == "de"
    assert hits[0].published_at == datetime(2025, 2, 14, tzinfo=UTC)
    assert "**Hafenarbeiter**" in hits[0].headline


def test_without_language_each_article_is_matched_in_its_own_language(
    sessions: sessionmaker[Session],
) -> None:
    ids = _store(
        sessions, "mixed", HAFEN, PORT, replace(HAFEN, url="https://x.example/", language=None)
    )
    # "strikes" stems to "strike" in English only; "Hafenarbeiters" to "hafenarbeit" in
    # German only: the same text without a language (simple configuration) does not match
    assert [h.url for h in _search(sessions, "strikes")] == [PORT.url]
    assert [h.url for h in _search(sessions, "Hafenarbeiters")] == [HAFEN.url]
    assert [h.url for h in _search(sessions, "Hafenarbeiter")] == [HAFEN.url, "https://x.example/"]
    assert [h.id for h in _search(sessions, "Hafenarbeiter", language="de")] == [ids[HAFEN.url]]
    assert _search(sessions, "strikes", language="de") == []


def test_search_filters_by_source_and_date(sessions: sessionmaker[Session]) -> None:
    _store(sessions, "de", HAFEN)
    _store(sessions, "other", replace(BAHN, published_at=datetime(2024, 1, 1, tzinfo=UTC)))
    assert [h.url for h in _search(sessions, "Hafenarbeiter", source_key="other")] == [BAHN.url]
    since = datetime(2025, 1, 1, tzinfo=UTC)
    assert [h.url for h in _search(sessions, "Hafenarbeiter", since=since)] == [HAFEN.url]
    assert [h.url for h in _search(sessions, "Hafenarbeiter", until=since)] == [BAHN.url]


def test_cli_search_shows_id_date_source_url_and_snippet(
    cli: Cli, sessions: sessionmaker[Session]
) -> None:
    ids = _store(sessions, "de", HAFEN, PORT)
    done = cli.run("search", "Schiff", "--language", "de", "--limit", "5", "--all-dates")
    assert done.returncode == 0, done.stderr
    first, title, snippet, *_ = done.stdout.splitlines()
    assert first.startswith(f"{ids[HAFEN.url]}  2025-02-14  de  de  rank=")
    assert first.endswith(HAFEN.url)
    assert title.strip() == HAFEN.title
    assert "**Schiffe**" in snippet


def test_cli_search_takes_several_words_phrases_and_exclusions(
    cli: Cli, sessions: sessionmaker[Session]
) -> None:
    ids = _store(sessions, "de", HAFEN, BAHN)

    def found(*args: str) -> list[int]:
        done = cli.run("search", "--language", "de", "--all-dates", *args)
        assert done.returncode == 0, done.stderr
        return [int(line.split()[0]) for line in done.stdout.splitlines() if line[:1].isdigit()]

    assert found("Hafenarbeiter", "Fahrplan") == [ids[BAHN.url]]
    assert found("Hafenarbeiter", "-Fahrplan") == [ids[HAFEN.url]]
    assert found("--", "Hafenarbeiter", "-Fahrplan") == [ids[HAFEN.url]]
    assert found('"Schiffe warten"') == [ids[HAFEN.url]]


def test_article_feed_view_has_the_documented_columns_in_order(engine: Engine) -> None:
    columns = [c["name"] for c in inspect(engine).get_columns("article_feed")]
    assert columns == list(ARTICLE_FEED_COLUMNS)


@pytest.fixture
def role(database_url: str) -> Iterator[str]:
    name = f"newsingest_ro_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{name}"')
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_readonly_role_can_select_the_view_and_cannot_insert(
    cli: Cli, sessions: sessionmaker[Session], database_url: str, role: str
) -> None:
    _store(sessions, "de", HAFEN)
    done = cli.run("db", "grant-readonly", role, "--password", "s3cret'pw")
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout
    done = cli.run("db", "grant-readonly", role, "--password", "other:pw%")
    assert done.returncode == 0, done.stderr
    assert "updated" in done.stdout
    with psycopg.connect(db.libpq_url(database_url)) as owner:  # a table made later
        owner.execute("CREATE TABLE later_table (x int)")
    try:
        with psycopg.connect(
            db.libpq_url(database_url), user=role, password="other:pw%", autocommit=True
        ) as conn:
            titles = conn.execute("SELECT title FROM article_feed").fetchall()
            assert titles == [(HAFEN.title,)]
            assert conn.execute("SELECT count(*) FROM later_table").fetchone() == (0,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("INSERT INTO sources (key, name, url) VALUES ('x', 'x', 'x')")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM articles")
    finally:
        with psycopg.connect(db.libpq_url(database_url), autocommit=True) as owner:
            owner.execute("DROP TABLE later_table")


def test_grant_readonly_revokes_write_privileges_an_existing_role_had(
    cli: Cli, database_url: str, role: str
) -> None:
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as owner:
        owner.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'pw'")
        owner.execute(f'GRANT INSERT, SELECT ON sources TO "{role}"')
    done = cli.run("db", "grant-readonly", role)
    assert done.returncode == 0, done.stderr
    assert "updated" in done.stdout
    with (
        psycopg.connect(
            db.libpq_url(database_url), user=role, password="pw", autocommit=True
        ) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("INSERT INTO sources (key, name, url) VALUES ('x', 'x', 'x')")


def test_grant_readonly_refuses_the_connections_own_role(cli: Cli, database_url: str) -> None:
    with psycopg.connect(db.libpq_url(database_url)) as conn:
        (me,) = conn.execute("SELECT current_user").fetchone() or ("",)
    done = cli.run("db", "grant-readonly", me)
    assert done.returncode == 2
    assert "administrator" in done.stderr


def test_credit_filter_matches_an_element_of_credits_ignoring_case_in_search_and_feed(
    sessions: sessionmaker[Session],
) -> None:
    wire = replace(HAFEN, credits=("DPA", "Redaktion Politik"))
    afx = replace(BAHN, credits=("dpa-AFX",))
    _store(sessions, "de", wire, afx, PORT)
    assert [h.url for h in _search(sessions, "Hafenarbeiter", credit="dpa")] == [wire.url]
    assert _search(sessions, "Hafenarbeiter", credit="Redaktion") == []
    with sessions() as session:

        def feed(credit: str) -> list[str]:
            stmt = queries.feed_select(ArticleFilter(credit=credit))
            return [row.url for row in session.execute(stmt)]

        assert feed("dpa") == [wire.url]
        assert feed("redaktion politik") == [wire.url]
        assert feed("DPA-afx") == [afx.url]
        assert feed("AFP") == []


def test_cli_export_and_search_take_a_credit_filter(
    cli: Cli, sessions: sessionmaker[Session]
) -> None:
    ids = _store(sessions, "de", replace(HAFEN, credits=("AFP",)), BAHN)
    done = cli.run("export", "--format", "jsonl", "--credit", "afp")
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[0] for line in done.stdout.splitlines()] == [
        f'{{"id": {ids[HAFEN.url]}'
    ]
    done = cli.run("search", "Hafenarbeiter", "--credit", "Afp", "--all-dates")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{ids[HAFEN.url]}  ")
    assert BAHN.url not in done.stdout


def test_full_only_leaves_stubs_out_of_search_and_feed(sessions: sessionmaker[Session]) -> None:
    paywalled = replace(HAFEN, stub="paywall")
    video = replace(PORT, stub="video")
    _store(sessions, "de", paywalled, BAHN, video)
    both = [h.url for h in _search(sessions, "Hafenarbeiter")]
    assert sorted(both) == sorted([paywalled.url, BAHN.url])
    assert [h.url for h in _search(sessions, "Hafenarbeiter", full_only=True)] == [BAHN.url]
    assert _search(sessions, "strike", full_only=True) == []
    with sessions() as session:

        def feed(full_only: bool) -> list[str]:
            stmt = queries.feed_select(ArticleFilter(full_only=full_only))
            return [row.url for row in session.execute(stmt)]

        assert feed(full_only=True) == [BAHN.url]
        assert sorted(feed(full_only=False)) == sorted([paywalled.url, BAHN.url, video.url])


def test_cli_export_and_search_take_no_stubs(cli: Cli, sessions: sessionmaker[Session]) -> None:
    ids = _store(sessions, "de", replace(HAFEN, stub="paywall"), BAHN)
    done = cli.run("export", "--format", "jsonl", "--no-stubs")
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[0] for line in done.stdout.splitlines()] == [f'{{"id": {ids[BAHN.url]}']
    done = cli.run("search", "Hafenarbeiter", "--no-stubs", "--all-dates")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{ids[BAHN.url]}  ")
    assert HAFEN.url not in done.stdout
    done = cli.run("search", "Hafenarbeiter", "--all-dates")
    assert HAFEN.url in done.stdout


def _dated(url: str, title: str, body: str, published: datetime | None) -> ArticleRecord:
    return replace(_record(url, title, body, language="en"), published_at=published)


def _day(day: int) -> datetime:
    return datetime(2025, 1, day, tzinfo=UTC)


def test_search_ranks_only_the_newest_candidates_and_says_the_result_was_cut(
    sessions: sessionmaker[Session],
) -> None:
    _store(
        sessions,
        "en",
        # the oldest matches best (the word in its title) but is not among the 2 newest
        _dated("https://e.example/old", "Harbour strike", "A harbour.", _day(1)),
        _dated("https://e.example/mid", "Ships", "The harbour waits.", _day(2)),
        _dated("https://e.example/new", "Boats", "At the harbour.", _day(3)),
        _dated("https://e.example/none", "Boats", "No date, a harbour.", None),
    )
    with sessions() as session:
        cut = queries.search(session, "harbour", candidates=2)
        whole = queries.search(session, "harbour", candidates=4)
        dated = queries.search(
            session, "harbour", ArticleFilter(since=datetime(2025, 1, 2, tzinfo=UTC)), candidates=2
        )
    assert cut.cut and cut.candidates == 2
    assert {h.url for h in cut.hits} == {"https://e.example/new", "https://e.example/mid"}
    assert not whole.cut and whole.candidates == 4
    assert whole.hits[0].url == "https://e.example/old"
    assert not dated.cut and dated.candidates == 2


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each count `search` runs is narrowed to a recent window (real counts)."""
    narrowed: list[bool] = []
    real = queries._count_matches

    def count(session: Session, where: list[str], params: dict[str, Any], cap: int) -> int:
        narrowed.append(queries._NARROWED in where)
        return real(session, where, params, cap)

    monkeypatch.setattr(queries, "_count_matches", count)
    return narrowed


def test_search_of_a_word_filling_the_newest_window_counts_nothing_wider(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    recent = [
        _dated(f"https://e.example/today{i}", "Boats", "At the harbour.", now - timedelta(hours=i))
        for i in range(1, 4)
    ]
    old = _dated(
        "https://e.example/older", "Harbour strike", "A harbour.", now - timedelta(days=20)
    )
    _store(sessions, "en", *recent, old)
    narrowed = _counting(monkeypatch)
    with sessions() as session:
        found = queries.search(session, "harbour", candidates=2)
    # the whole table up to the candidates, then the two-day window only: no wider one
    assert narrowed == [False, True]
    assert found.cut and found.candidates == 2
    assert {h.url for h in found.hits} == {r.url for r in recent[:2]}


def test_search_of_a_word_absent_from_the_newest_window_counts_the_whole_range_once(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(
        sessions,
        "en",
        _dated("https://e.example/a", "Harbour", "A harbour.", _day(1)),
        _dated("https://e.example/b", "Ships", "The harbour waits.", _day(2)),
    )
    narrowed = _counting(monkeypatch)
    with sessions() as session:
        found = queries.search(session, "harbour", candidates=5)
    assert narrowed == [False]  # two match at all: no window is counted
    assert not found.cut and found.candidates == 2


def test_cli_search_covers_the_last_90_days_unless_widened_and_says_so(
    cli: Cli, sessions: sessionmaker[Session]
) -> None:
    from datetime import timedelta

    now = datetime.now(UTC)
    ids = _store(
        sessions,
        "en",
        _dated("https://e.example/recent", "Harbour", "A harbour.", now - timedelta(days=10)),
        _dated("https://e.example/older", "Harbour", "A harbour.", now - timedelta(days=200)),
    )

    def found(*args: str) -> tuple[list[int], str]:
        done = cli.run("search", "harbour", *args)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        return [int(line.split()[0]) for line in lines if line[:1].isdigit()], done.stderr

    recent, note = found()
    assert recent == [ids["https://e.example/recent"]]
    assert "the last 90 days" in note and "--all-dates" in note and "cut" not in note
    assert len(found("--days", "365")[0]) == 2
    assert len(found("--all-dates")[0]) == 2
    assert found("--since", (now - timedelta(days=300)).strftime("%Y-%m-%d"))[0] != recent
    hits, note = found("--all-dates", "--candidates", "1")
    assert hits == [ids["https://e.example/recent"]]
    assert "results cut: more than 1 articles of any date match" in note


def test_search_cut_short_looks_for_the_newest_in_a_recent_window_first(
    sessions: sessionmaker[Session],
) -> None:
    from datetime import timedelta

    now = datetime.now(UTC)
    ages = (1, 3, 10, 100, 400)
    _store(
        sessions,
        "en",
        *(
            _dated(f"https://e.example/{age}", "Harbour", f"A harbour, {age} days.", None)
            for age in ages
        ),
    )
    with db.transaction(sessions) as session:  # dates set after: one batch, distinct texts
        for age in ages:
            session.execute(
                text("update articles set published_at = :d where url = :u"),
                {"d": now - timedelta(days=age), "u": f"https://e.example/{age}"},
            )
    with sessions() as session:
        two = queries.search(session, "harbour", candidates=2)
        four = queries.search(session, "harbour", candidates=4)
        old = queries.search(
            session, "harbour", ArticleFilter(until=now - timedelta(days=5)), candidates=1
        )
    assert two.cut and {h.url for h in two.hits} == {"https://e.example/1", "https://e.example/3"}
    assert four.cut and {h.url for h in four.hits} == {f"https://e.example/{a}" for a in ages[:4]}
    assert old.cut and [h.url for h in old.hits] == ["https://e.example/10"]


def _statements(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    """The SQL of every statement run on the sessions' engine while the context is open."""
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_search_of_a_word_few_articles_match_bounds_dates_where_no_index_reads_them(
    sessions: sessionmaker[Session],
) -> None:
    """A rare word's matches come from the GIN index alone: a bound the ``published_at``
    index could serve let the planner read the window's rows one by one instead (300-800
    ms at a million articles with a long pending list, bench/README.md)."""
    now = datetime.now(UTC)
    _store(
        sessions,
        "en",
        *[
            _dated(f"https://e.example/{i}", "Boats", "At the harbour.", now - timedelta(hours=i))
            for i in range(1, 5)
        ],
    )
    window = ArticleFilter(since=now - timedelta(days=90))
    with contextmanager(_statements)(sessions) as statements, sessions() as session:
        few = queries.search(session, "harbour", window, candidates=5)
    rare = [s for s in statements if "search_vector @@" in s]
    assert not few.cut and few.candidates == 4
    assert rare and all("a.published_at >= " not in s for s in rare)
    assert any("(a.published_at + interval '0') >= " in s for s in rare)
    with contextmanager(_statements)(sessions) as statements, sessions() as session:
        many = queries.search(session, "harbour", window, candidates=2)
    assert many.cut and many.candidates == 2
    assert any("a.published_at >= " in s for s in statements)
