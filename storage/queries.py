"""Read queries for downstream use: the ``article_feed`` view, full-text search, selections.

Everything downstream reads goes through `ARTICLE_FEED` (the view created by migration
0003 and documented in ``docs/schema.md``), filtered by an `ArticleFilter`. Also here:
the read-only role for consumers. The crawler's own reads are its repositories' (the
stored pages re-extraction reads: `storage.pages.stored_fetches`). Functions take a
session and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql as pgsql
from sqlalchemy import (
    ColumnElement,
    Select,
    TableClause,
    and_,
    column,
    exists,
    func,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from storage import search_index
from storage.articles import ARTICLE_RECORD_COLUMNS, LATER_RECORD_COLUMNS
from storage.models import TEXT_SEARCH_CONFIGS, Source

logger = logging.getLogger(__name__)

ARTICLE_FEED_COLUMNS = (
    "id",
    "url",
    "source_id",
    "source_key",
    "source_name",
    *(c for c in ARTICLE_RECORD_COLUMNS if c not in LATER_RECORD_COLUMNS),
    "version",
    "first_seen_at",
    "last_seen_at",
    "duplicate_of",
    *LATER_RECORD_COLUMNS,
)
"""Columns of the ``article_feed`` view, in order (the contract with downstream tools)."""

ARTICLE_FEED: TableClause = table("article_feed", *(column(name) for name in ARTICLE_FEED_COLUMNS))
"""The view as a selectable (not part of the models' metadata: Alembic ignores views)."""

HEADLINE_OPTIONS = (
    'MaxFragments=2, MinWords=8, MaxWords=24, FragmentDelimiter=" … ", StartSel=**, StopSel=**'
)
"""``ts_headline`` options of search snippets: matches in ``**bold**``."""


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """Which articles a search or export covers; None means no restriction.

    ``since`` is inclusive and ``until`` exclusive, both compared with ``published_at``
    (articles without a publication date are left out when either is given). ``credit``
    keeps articles one of whose ``credits`` equals it, ignoring case (``dpa`` matches
    ``DPA``; ``dpa`` does not match ``dpa-AFX``). ``full_only`` leaves out stubs (articles
    whose ``stub`` is set: a paywalled lead, the text beside a video).
    """

    source_key: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    credit: str | None = None
    full_only: bool = False


def text_search_config(language: str | None) -> str:
    """The text search configuration of articles in ``language`` (``simple`` if none)."""
    return TEXT_SEARCH_CONFIGS.get(language or "", "simple")


def _row_config_sql(alias: str) -> str:
    whens = " ".join(
        f"WHEN '{code}' THEN '{cfg}'::regconfig" for code, cfg in TEXT_SEARCH_CONFIGS.items()
    )
    return f"(CASE {alias}.language {whens} ELSE 'simple'::regconfig END)"


def feed_conditions(filters: ArticleFilter) -> list[ColumnElement[bool]]:
    """The conditions on ``article_feed`` (`ARTICLE_FEED`) that ``filters`` set."""
    c = ARTICLE_FEED.c
    conditions: list[ColumnElement[bool]] = []
    if filters.source_key is not None:
        conditions.append(c.source_key == filters.source_key)
    if filters.language is not None:
        conditions.append(c.language == filters.language)
    if filters.since is not None:
        conditions.append(c.published_at >= filters.since)
    if filters.until is not None:
        conditions.append(c.published_at < filters.until)
    if filters.credit is not None:
        credits = func.unnest(c.credits).table_valued("name")
        conditions.append(
            exists(
                select(1)
                .select_from(credits)
                .where(func.lower(credits.c.name) == func.lower(filters.credit))
            )
        )
    if filters.full_only:
        conditions.append(c.stub.is_(None))
    return conditions


def feed_select(filters: ArticleFilter) -> Select[Any]:
    """``article_feed`` rows matching ``filters``, oldest id first."""
    stmt = select(*ARTICLE_FEED.c).order_by(ARTICLE_FEED.c.id)
    conditions = feed_conditions(filters)
    return stmt.where(and_(*conditions)) if conditions else stmt


# --- full-text search ---------------------------------------------------------------------


SEARCH_CANDIDATES = 1000
"""How many matching articles `search` ranks at most: when more match, the newest this
many (by ``published_at``) are ranked and the result says it was cut. Ranking reads each
candidate's ``search_vector`` (out of line, ~10 KB): a common word in a million articles
matches 100,000 of them, which took seconds to rank."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: where the article is, how well it matched, a snippet."""

    id: int
    url: str
    title: str | None
    published_at: datetime | None
    source_key: str | None
    language: str | None
    rank: float
    headline: str


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The best hits among the ranked candidates, and whether candidates were left out."""

    hits: list[SearchHit]
    cut: bool
    """More articles matched than ``candidates``: only the newest ones were ranked."""
    candidates: int
    """How many matching articles were ranked (at most the ``candidates`` asked for)."""


def search(
    session: Session,
    query: str,
    filters: ArticleFilter | None = None,
    *,
    limit: int = 20,
    candidates: int = SEARCH_CANDIDATES,
) -> SearchResult:
    """Articles matching ``query`` (web-search syntax: words, "phrases", or, -not), best first.

    With ``filters.language`` the query is parsed with that language's configuration and
    only articles in it match. Without, every article is matched with its own language's
    configuration (a German query word is stemmed the German way for German articles);
    the union of all configurations' queries prefilters through the GIN index.

    Bounded work: the matching articles are found through the GIN index (and the
    ``published_at`` index for ``since``/``until``), the newest ``candidates`` of them
    are kept (by date: no vector is read for that), and only those are checked exactly
    and ranked by ``ts_rank_cd`` (normalized by log length), then newest first. The query
    is parsed once per text search configuration. ``SearchResult.cut`` says when more
    articles matched than were ranked; a narrower date range or query then ranks others.

    The matches are counted once in the whole table first (up to ``candidates`` + 1,
    through the GIN index alone). When no more than ``candidates`` match at all, all of
    them are candidates, and the date bounds are checked on the GIN's rows (`_FEW`).
    Otherwise the newest window that holds enough is looked for (`_newest_window`).
    """
    filters = filters or ArticleFilter()
    params: dict[str, Any] = {"q": query, "limit": limit, "candidates": candidates}
    where: list[str] = []
    if filters.language is not None:
        configs = [text_search_config(filters.language)]
        where.append("a.search_vector @@ websearch_to_tsquery(CAST(:cfg AS regconfig), :q)")
        where.append("a.language = :language")
        params["cfg"] = configs[0]
        params["language"] = filters.language
    else:
        configs = sorted({*TEXT_SEARCH_CONFIGS.values(), "simple"})
        union = " || ".join(
            f"websearch_to_tsquery(CAST(:cfg{i} AS regconfig), :q)" for i in range(len(configs))
        )
        where.append(f"a.search_vector @@ ({union})")  # index-usable superset
        params.update({f"cfg{i}": cfg for i, cfg in enumerate(configs)})
    params["configs"] = configs
    if filters.source_key is not None:
        where.append("a.source_id = (SELECT id FROM sources WHERE key = :source_key)")
        params["source_key"] = filters.source_key
    if filters.credit is not None:
        where.append(
            "EXISTS (SELECT 1 FROM unnest(a.credits) AS c(name)"
            " WHERE lower(c.name) = lower(:credit))"
        )
        params["credit"] = filters.credit
    if filters.full_only:
        where.append("a.stub IS NULL")
    params["options"] = HEADLINE_OPTIONS
    if filters.since is not None:
        params["since"] = filters.since
    if filters.until is not None:
        params["until"] = filters.until
    session.execute(text("SELECT set_config('work_mem', :mem, true)"), {"mem": SEARCH_WORK_MEM})
    where.append(search_index.searchable(session))  # each segment's GIN index
    if _count_matches(session, where, params, candidates) <= candidates:
        where = [*where, *_date_conditions(filters, _FEW)]
        cut = False
    else:
        where = [*where, *_date_conditions(filters, _INDEXED)]
        where, params, cut = _newest_window(session, where, params, candidates, filters)
    with _planner_off(session, "enable_seqscan"):
        rows = session.execute(_search_statement(where), params).all()
    found = int(rows[0].found) if rows else 0
    hits = [
        SearchHit(
            id=row.id,
            url=row.url,
            title=row.title,
            published_at=row.published_at,
            source_key=row.source_key,
            language=row.language,
            rank=float(row.rank),
            headline=" ".join(row.headline.split()),
        )
        for row in rows
        if row.id is not None
    ]
    return SearchResult(hits=hits, cut=cut, candidates=min(found, candidates))


def _search_statement(where: list[str]) -> Any:
    """The search statement: candidates by date, ranked, headlines of the best."""
    # candidate: the newest matches by date only. "+ interval '0'" keeps the planner off
    # walking the published_at index and reading every row's vector until enough match:
    # the GIN bitmap finds the matches, a top-N sort keeps the newest.
    return text(f"""
        WITH candidate AS MATERIALIZED (
            SELECT a.id, a.published_at FROM articles AS a
            WHERE {" AND ".join(where)}
            ORDER BY a.published_at + interval '0' DESC NULLS LAST, a.id DESC
            LIMIT :candidates + 1
        ),
        parsed AS MATERIALIZED (
            SELECT cfg, websearch_to_tsquery(cfg, :q) AS tsq
            FROM unnest(CAST(:configs AS regconfig[])) AS cfg
        ),
        hit AS (
            SELECT a.id, a.url, a.title, a.lead, a.text, a.published_at, a.language,
                   a.source_id, p.cfg, p.tsq, ts_rank_cd(a.search_vector, p.tsq, 1) AS rank
            FROM (SELECT id, published_at FROM candidate
                  ORDER BY published_at DESC NULLS LAST, id DESC LIMIT :candidates) AS c
            JOIN articles AS a ON a.id = c.id
            JOIN parsed AS p ON p.cfg = {_row_config_sql("a")}
            WHERE a.search_vector @@ p.tsq
            ORDER BY rank DESC, a.published_at DESC NULLS LAST, a.id DESC
            LIMIT :limit
        )
        SELECT found.n AS found, hit.id, hit.url, hit.title, hit.published_at,
               s.key AS source_key, hit.language, hit.rank,
               ts_headline(hit.cfg, coalesce(hit.lead || E'\\n', '') || hit.text, hit.tsq,
                           :options) AS headline
        FROM (SELECT count(*) AS n FROM candidate) AS found
        LEFT JOIN hit ON true
        LEFT JOIN sources AS s ON s.id = hit.source_id
        ORDER BY hit.rank DESC, hit.published_at DESC NULLS LAST, hit.id DESC
    """)


SEARCH_WORK_MEM = "64MB"
"""``work_mem`` for a search's transaction. A common word's GIN bitmap (130,000 rows at a
million articles) then stays exact. Under the 4 MB default it turned lossy, and every row
of its pages was tested again, reading its search vector."""

_INDEXED = "a.published_at"
_FEW = "(a.published_at + interval '0')"
"""How `search` states its date bounds.

- When many articles match: on ``published_at``, which its index serves.
- When few match: as an expression no index serves. The planner would otherwise read the
  date range's rows one by one and test each one's search vector, which is stored out of
  line, instead of using the GIN index. It does that when the index's pending list is
  long, because it counts those pages in the GIN scan's cost. At a million articles, with
  1,000–3,000 articles' entries pending, that took 50–800 ms, against 11–28 ms through
  the GIN (bench/README.md)."""


def _date_conditions(filters: ArticleFilter, column: str) -> list[str]:
    """The ``since``/``until`` bounds of ``filters`` on ``column`` (`_INDEXED` or `_FEW`)."""
    out = []
    if filters.since is not None:
        out.append(f"{column} >= :since")
    if filters.until is not None:
        out.append(f"{column} < :until")
    return out


SEARCH_NARROWING_DAYS = (2, 7, 30, 90, 365)
"""The windows (days back from ``until`` or now) in which `search` counts the matches,
narrowest first (`_newest_window`): the first holding more matches than the candidates is
searched, so a common word reads the rows of a few days instead of every match's row to
sort them by date; when none does, the whole range is."""

_NARROWED = "a.published_at >= :bound"


def _newest_window(
    session: Session,
    where: list[str],
    params: dict[str, Any],
    candidates: int,
    filters: ArticleFilter,
) -> tuple[list[str], dict[str, Any], bool]:
    """The conditions to rank from, and whether more than ``candidates`` articles match.

    The matches are counted in the narrowest recent window first (`SEARCH_NARROWING_DAYS`
    back from ``until`` or now): a common word fills it, and its newest matches are all
    there, so neither the whole range nor a wider window is counted (each count reads the
    word's whole GIN posting list). A wider window is counted only when the narrowest
    one's count, at the same rate, would fill it; when none holds enough, the whole
    range is counted (a rare word: two counts of a few rows)."""
    top = filters.until or datetime.now(UTC)
    windows = [
        days
        for days in SEARCH_NARROWING_DAYS
        if filters.since is None or top - timedelta(days=days) > filters.since
    ]
    first: int | None = None
    for days in windows:
        if first is not None and first * days / windows[0] <= candidates:
            continue  # at the narrowest window's rate, this one would not hold enough
        narrowed = [*where, _NARROWED]
        bounded = {**params, "bound": top - timedelta(days=days)}
        found = _count_matches(session, narrowed, bounded, candidates)
        if found > candidates:
            return narrowed, bounded, True
        first = found if first is None else first
    return where, params, _count_matches(session, where, params, candidates) > candidates


def _count_matches(session: Session, where: list[str], params: dict[str, Any], cap: int) -> int:
    """How many articles match ``where``, counting no further than ``cap + 1``, through
    the GIN bitmap only (see `_planner_off`)."""
    stmt = text(
        "SELECT count(*) FROM (SELECT 1 FROM articles AS a WHERE "
        + " AND ".join(where)
        + " LIMIT :cap + 1) AS m"
    )
    with _planner_off(session, "enable_seqscan", "enable_indexscan"):
        return int(session.execute(stmt, {**params, "cap": cap}).scalar_one())


@contextmanager
def _planner_off(session: Session, *switches: str) -> Iterator[None]:
    """Switch planner methods off for the statements inside, in this transaction only
    (``set_config(..., true)``), and restore their previous values after.

    The planner estimates any text query to match several per cent of the rows (more
    with the union of configurations), so under a LIMIT it would read the table in
    order, parsing every row's vector until enough match: 3.7 s for a word 30 rows of
    160,000 contain, where the GIN bitmap takes 35 ms.
    """
    names = {f"s{i}": name for i, name in enumerate(switches)}
    before = session.execute(
        text("SELECT " + ", ".join(f"current_setting(:{key})" for key in names)), names
    ).one()
    _set_planner(session, dict.fromkeys(switches, "off"))
    try:
        yield
    finally:
        _set_planner(session, dict(zip(switches, before, strict=True)))


def _set_planner(session: Session, values: dict[str, str]) -> None:
    """``set_config(name, value, true)`` for each setting: names and values bound."""
    params: dict[str, str] = {}
    calls = []
    for i, (name, value) in enumerate(values.items()):
        params[f"n{i}"], params[f"v{i}"] = name, value
        calls.append(f"set_config(:n{i}, :v{i}, true)")
    session.execute(text("SELECT " + ", ".join(calls)), params)


# --- consumers -----------------------------------------------------------------------------


def grant_readonly(session: Session, role: str, password: str | None = None) -> bool:
    """Create or update ``role`` as a login that can read everything and write nothing.

    Grants CONNECT on the current database, USAGE on the current schema, SELECT on all
    its tables and views, and SELECT on tables and views created later by the role
    running this (run it as the role that runs migrations); write privileges an
    existing role had on those tables are revoked. A password is sent SCRAM-hashed,
    never in clear. Returns True when the role was created. Raises ValueError for the
    connection's own role or an administrator (superuser, CREATEROLE, CREATEDB).
    """
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    current = session.execute(text("SELECT current_user")).scalar_one()
    found = session.execute(
        text("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = :r"),
        {"r": role},
    ).one_or_none()
    exists = found is not None
    if role == current or (found is not None and found[0]):
        raise ValueError(f"{role} is this connection's role or an administrator; choose another")
    ident = pgsql.Identifier(role)
    statements: list[pgsql.Composed] = []
    verb = pgsql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
    options: pgsql.Composable = pgsql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT")
    if password is not None:
        hashed = raw.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
        options = pgsql.SQL("{} PASSWORD {}").format(options, pgsql.Literal(hashed.decode()))
    statements.append(pgsql.SQL("{} {} {}").format(verb, ident, options))
    database, schema = session.execute(text("SELECT current_database(), current_schema()")).one()
    db_ident, schema_ident = pgsql.Identifier(database), pgsql.Identifier(schema)
    statements += [
        pgsql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db_ident, ident),
        pgsql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_ident, ident),
        pgsql.SQL(
            "REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
            "ON ALL TABLES IN SCHEMA {} FROM {}"
        ).format(schema_ident, ident),
        pgsql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema_ident, ident),
        pgsql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
            schema_ident, ident
        ),
    ]
    with raw.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    logger.info("read-only role %s %s", role, "updated" if exists else "created")
    return not exists


def source_keys(session: Session) -> list[str]:
    """Keys of every source the database knows, sorted."""
    return list(session.scalars(select(Source.key).order_by(Source.key)))
