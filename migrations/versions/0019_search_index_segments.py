"""articles: the search index in segments by article id (issue 24)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Merging the GIN pending list of one index over every article grew with the table (0.3 s
per 1,000 articles on an empty database, ~1.6 s at a million): each merge rewrites the
posting list of every word the new articles use. The index becomes partial indexes, one
per 100,000 article ids (``ix_articles_search_vector_<lo>_<hi>``) and an open one for the
newest ids (``ix_articles_search_vector_from_<lo>``), which takes the new articles and
stays small (`storage.search_index`; the store pipeline rolls it on). Queries add the OR
of the ranges to use them (`storage.search_index.match_condition`), or call
``newsingest_search_ids(tsquery)``, which does (docs/schema.md, query cookbook).

The predicates are on ``id + 0``: on ``id`` the planner may read a small segment's
range through the primary key and test every row's vector instead.

On an existing database this builds the segments from the table (minutes at a million
articles) and drops ``ix_articles_search_vector``.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IDS = 100_000
_WITH = "USING gin (search_vector) WITH (gin_pending_list_limit = 16384)"

# The ids of the articles matching a text query, through every segment's index: the OR
# of the usable segments' predicates, read from the catalog at each call; optionally in
# one language, published since a time, and only the newest ``newest`` of them.
_SEARCH_IDS = r"""
CREATE FUNCTION newsingest_search_ids(
    q tsquery, lang text DEFAULT NULL, since timestamptz DEFAULT NULL,
    newest integer DEFAULT NULL
) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE
SET enable_seqscan = off
AS $$
DECLARE
    ranges text;
    stmt text;
BEGIN
    SELECT string_agg('(' || pg_get_expr(i.indpred, i.indrelid) || ')', ' OR ')
    INTO ranges
    FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'articles'::regclass AND i.indisvalid AND i.indisready
      AND c.relname LIKE 'ix\_articles\_search\_vector\_%';
    stmt := 'SELECT id FROM articles WHERE search_vector @@ $1 AND ('
        || coalesce(ranges, 'true') || ')';
    IF lang IS NOT NULL THEN
        stmt := stmt || ' AND language = $2';
    END IF;
    IF since IS NOT NULL THEN
        stmt := stmt || ' AND published_at >= $3';
    END IF;
    IF newest IS NOT NULL THEN
        stmt := stmt || ' ORDER BY published_at + interval ''0'' DESC NULLS LAST, id DESC'
            || ' LIMIT $4';
    END IF;
    RETURN QUERY EXECUTE stmt USING q, lang, since, newest;
END
$$
"""


def upgrade() -> None:
    newest = int(
        op.get_bind().execute(text("SELECT coalesce(max(id), 0) FROM articles")).scalar_one()
    )
    last = newest // _IDS * _IDS
    for lo in range(0, last, _IDS):
        hi = lo + _IDS
        op.execute(
            f"CREATE INDEX ix_articles_search_vector_{lo}_{hi} ON articles {_WITH}"
            f" WHERE (id + 0) >= {lo} AND (id + 0) < {hi}"
        )
    op.execute(
        f"CREATE INDEX ix_articles_search_vector_from_{last} ON articles {_WITH}"
        f" WHERE (id + 0) >= {last}"
    )
    op.execute("DROP INDEX ix_articles_search_vector")
    op.execute(_SEARCH_IDS)


def downgrade() -> None:
    op.execute("DROP FUNCTION newsingest_search_ids(tsquery, text, timestamptz, integer)")
    op.execute(f"CREATE INDEX ix_articles_search_vector ON articles {_WITH}")
    names = op.get_bind().execute(
        text(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = 'articles' AND indexname LIKE 'ix\\_articles\\_search\\_vector\\_%'"
        )
    )
    for (name,) in names.all():
        op.execute(f"DROP INDEX {name}")
