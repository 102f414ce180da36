"""The full-text index of ``articles.search_vector``, in segments by article id (issue 24).

One GIN index over every article costs more to add to as the table grows: merging its
pending list rewrites the posting list of each word the new articles use, and those lists
grow with the table (bench/README.md, "Search index in segments"). So the index is a set
of partial GIN indexes, one per range of `SEGMENT_IDS` article ids:

- closed segments ``ix_articles_search_vector_<lo>_<hi>`` (``id >= lo AND id < hi``),
  which new articles no longer touch (their ids come from a sequence);
- one open segment ``ix_articles_search_vector_from_<lo>`` (``id >= lo``), which takes
  every new article and whose pending list the store pipeline merges.

`roll` closes the open segment once it spans a whole range (it builds the closed index
and a new open one, then drops the old one; some segment covers every row at every
moment). `match_condition` is the condition a full-text query adds so that the planner
reads each segment's index (an OR of the ranges; a query without it cannot use them).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

SEGMENT_IDS = 100_000
"""Article ids per closed segment. The open segment holds fewer than two ranges' worth of
articles, so a merge of its pending list costs about what it costs at that size."""

PENDING_LIST_KB = 16384
"""Each segment's ``gin_pending_list_limit``: room for the store pipeline's merges of
``NEWSINGEST_SEARCH_MERGE_ARTICLES`` articles' entries (migration 0018's reason)."""

PREFIX = "ix_articles_search_vector_"
_NAME = re.compile(r"^ix_articles_search_vector_(?:from_(\d+)|(\d+)_(\d+))$")

ROLL_LOCK = 0x6E657773_726F6C6C
"""The advisory lock key one `roll` at a time holds (any process, any database user)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One partial GIN index of ``articles.search_vector``."""

    name: str
    """The index's name (`PREFIX` + ``<lo>_<hi>`` or ``from_<lo>``)."""
    lo: int
    """The first article id it covers."""
    hi: int | None
    """The first article id it does not cover; None for the open segment."""

    def condition(self, alias: str = "a") -> str:
        """The index's predicate on ``alias`` (a query stating it may use the index).

        On ``id + 0``, not ``id``: a range of ``id`` is something the primary key serves,
        and the planner would read a small segment's range through it and test each row's
        search vector instead of reading the segment's GIN index."""
        key = f"({alias}.id + 0)" if alias else "(id + 0)"
        if self.hi is None:
            return f"{key} >= {self.lo}"
        return f"{key} >= {self.lo} AND {key} < {self.hi}"

    def predicate(self) -> str:
        """The ``WHERE`` of the index's definition."""
        return self.condition("")


def segment_name(lo: int, hi: int | None) -> str:
    """The index name of the segment from ``lo`` to ``hi`` (None: open)."""
    return f"{PREFIX}from_{lo}" if hi is None else f"{PREFIX}{lo}_{hi}"


def parse_name(name: str) -> Segment | None:
    """The segment an index name states, or None for any other name."""
    found = _NAME.match(name)
    if found is None:
        return None
    if found.group(1) is not None:
        return Segment(name, int(found.group(1)), None)
    return Segment(name, int(found.group(2)), int(found.group(3)))


def create_sql(segment: Segment, *, concurrently: bool = False) -> str:
    """``CREATE INDEX`` for ``segment`` (``IF NOT EXISTS``)."""
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}IF NOT EXISTS {segment.name} ON articles USING gin (search_vector)"
        f" WITH (gin_pending_list_limit = {PENDING_LIST_KB}) WHERE {segment.predicate()}"
    )


_SEGMENT_INDEXES = text(
    "SELECT c.relname, i.indisvalid AND i.indisready AS usable"
    " FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid"
    " WHERE i.indrelid = CAST('articles' AS regclass)"
    " AND c.relname LIKE 'ix\\_articles\\_search\\_vector\\_%'"
)


def segments(session: Session | Connection) -> list[Segment]:
    """The usable segments (valid, ready indexes), by first id.

    During a `roll` the old open segment and the new ones are all listed: their ranges
    overlap, which a query's OR of them allows."""
    found = []
    for name, usable in session.execute(_SEGMENT_INDEXES).all():
        segment = parse_name(str(name))
        if segment is not None and usable:
            found.append(segment)
    return sorted(found, key=lambda s: (s.lo, s.hi is None, s.hi or 0))


def match_condition(found: list[Segment], alias: str = "a") -> str:
    """The OR of the segments' ranges on ``alias``: added to a query's ``@@`` condition,
    it lets the planner read every segment's index (a bitmap OR). ``true`` when there is
    no segment (a database no migration has segmented: the query then reads rows)."""
    if not found:
        return "true"
    return "(" + " OR ".join(f"({s.condition(alias)})" for s in found) + ")"


def searchable(session: Session) -> str:
    """`match_condition` of the current segments, for a query in ``session``'s transaction.

    Takes ``ACCESS SHARE`` on ``articles`` first, as the query would: a `roll` dropping a
    segment then waits for this transaction instead of leaving its range to no index."""
    session.execute(text("LOCK TABLE articles IN ACCESS SHARE MODE"))
    return match_condition(segments(session))


def merge_pending(session: Session) -> int:
    """Merge every segment's pending list into its index; the number of pages emptied.

    Only the open segment receives new articles; a changed old article (``reextract``)
    adds to its closed segment's list, which costs nothing to check when it is empty."""
    merged = 0
    for segment in segments(session):
        merged += int(
            session.execute(
                text("SELECT gin_clean_pending_list(CAST(:index AS regclass))"),
                {"index": segment.name},
            ).scalar_one()
        )
    return merged


def roll(conn: Connection, segment_ids: int | None = None) -> list[str]:
    """Close the open segment when it spans a whole range; the indexes created.

    ``conn`` must be in autocommit (``CREATE INDEX CONCURRENTLY``: writes go on while the
    closed segment is built, which reads the table once). Steps, each leaving every row
    covered: drop what an interrupted roll left invalid; build the closed segments from the
    open one's first id up to the last whole range below the newest article; build the new
    open segment from there; drop the old open segment. One roll at a time (an advisory
    lock); another caller returns at once. Needs the role that owns ``articles``.
    ``segment_ids``: ids per closed segment (`SEGMENT_IDS`)."""
    if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ROLL_LOCK}).scalar_one():
        return []
    try:
        return _roll(conn, segment_ids or SEGMENT_IDS)
    finally:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ROLL_LOCK})


def _roll(conn: Connection, segment_ids: int) -> list[str]:
    for name, usable in conn.execute(_SEGMENT_INDEXES).all():
        if not usable and parse_name(str(name)) is not None:
            logger.info("dropping the search index segment %s an earlier roll left", name)
            conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
    found = segments(conn)
    opened = [s for s in found if s.hi is None]
    start = max((s.lo for s in opened), default=max((s.hi or 0 for s in found), default=0))
    newest = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM articles")).scalar_one())
    last = start + (newest - start) // segment_ids * segment_ids
    created = []
    if last > start or not opened:
        for lo in range(start, last, segment_ids):
            created.append(Segment(segment_name(lo, lo + segment_ids), lo, lo + segment_ids))
        created.append(Segment(segment_name(last, None), last, None))
        for segment in created:
            logger.info("building the search index segment %s", segment.name)
            conn.execute(text(create_sql(segment, concurrently=True)))
    for old in opened:
        if old.lo < last:
            conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {old.name}"))
    return [s.name for s in created]
