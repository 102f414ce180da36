"""Near-duplicate links: ``articles.duplicate_of`` points at the earliest article with the
same content hash or a simhash at most `NEAR_DUPLICATE_DISTANCE` bits away. Takes a
session and never commits (`storage.db.transaction` does).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from storage.models import NEAR_DUPLICATE_DISTANCE, SIMHASH_BANDS


def _near(t: str) -> str:
    """The ids of the articles that are near-duplicates of row ``t`` (``t`` itself included):
    the same ``content_hash``, or a simhash at most `NEAR_DUPLICATE_DISTANCE` bits away."""
    bands = "\n    UNION ".join(
        f"SELECT b.id FROM articles AS b WHERE b.simhash_band{band} = {t}.simhash_band{band}"
        f" AND bit_count((b.simhash # {t}.simhash)::bit(64)) <= {NEAR_DUPLICATE_DISTANCE}"
        for band in range(SIMHASH_BANDS)
    )
    return f"""(
    {bands}
    UNION SELECT b.id FROM articles AS b WHERE b.content_hash = {t}.content_hash
)"""


# A simhash within 3 bits shares one of the 4 16-bit bands with it (pigeonhole), so each
# band's index yields every candidate; the indexes carry the simhash and the id
# (migration 0014), so the Hamming distance is checked in the index (an index-only scan)
# and only the few rows that pass are read from the table. Before, the candidates of all
# bands were read from the table: ~N / 65,536 rows per band and article (61 table pages
# per article at 1,000,000 articles), the main reason the write rate fell with the size
# of the database.
_RELINK = text(f"""
UPDATE articles AS a SET duplicate_of = m.match
FROM (
    SELECT t.id, (
        SELECT c.id FROM articles AS c
        WHERE c.id IN {_near("t")}
          AND c.id <> t.id AND (c.first_seen_at, c.id) < (t.first_seen_at, t.id)
        ORDER BY c.first_seen_at, c.id
        LIMIT 1
    ) AS match
    FROM articles AS t
    WHERE t.id = ANY(CAST(:ids AS bigint[]))
) AS m
WHERE a.id = m.id AND a.duplicate_of IS DISTINCT FROM m.match
""")

# MATERIALIZED: otherwise the planner may scan all of articles for the changed rows.
_AFFECTED_BY_CHANGE = text(f"""
WITH t AS MATERIALIZED (
    SELECT id, first_seen_at, content_hash, simhash,
           simhash_band0, simhash_band1, simhash_band2, simhash_band3
    FROM articles WHERE id = ANY(CAST(:ids AS bigint[]))
)
SELECT c.id FROM t CROSS JOIN LATERAL (
    SELECT c.id FROM articles AS c
    WHERE c.id IN {_near("t")}
      AND c.id <> t.id AND (c.first_seen_at, c.id) > (t.first_seen_at, t.id)
) AS c
UNION
SELECT b.id FROM articles AS b WHERE b.duplicate_of = ANY(CAST(:ids AS bigint[]))
""")


def link_duplicates(session: Session, ids: Sequence[int], *, changed: Sequence[int] = ()) -> int:
    """Point ``duplicate_of`` of ``ids`` and ``changed`` at their earliest near-duplicate.

    Earliest means smallest ``(first_seen_at, id)`` among the articles stored before;
    a near-duplicate has the same ``content_hash`` or a simhash at most
    `NEAR_DUPLICATE_DISTANCE` bits away. Links always point back in time, so they never
    form cycles. For ``changed`` articles (new content), the later articles that match
    their new content or pointed at them are linked again too. Returns how many
    ``duplicate_of`` values changed. Call it holding `lock_articles`.
    """
    targets = set(ids) | set(changed)
    if changed:
        targets.update(
            session.execute(_AFFECTED_BY_CHANGE, {"ids": sorted(set(changed))}).scalars()
        )
    if not targets:
        return 0
    cursor = session.execute(_RELINK, {"ids": sorted(targets)})
    return int(cursor.rowcount)  # type: ignore[attr-defined]
