"""article credits and published_utc_offset

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

Two record fields reach storage: ``articles.credits`` (organisations credited: agencies,
desks, the outlet itself; persons stay in ``authors``) and
``articles.published_utc_offset`` (minutes east of UTC the page stated with the
publication time, NULL when it stated none; ``ck_articles_published_utc_offset`` keeps it
within +-18 h, the range of ISO 8601 and PostgreSQL offsets). Both are archived with
``authors`` and ``published_at`` in ``article_versions`` (the archive function is
replaced) and appended to ``article_feed`` (its documented promise: columns are only
ever added at the end; downgrade recreates the previous view). No index, as for
``authors``: downstream filters on credits are case-insensitive element matches, which a
GIN index on the array would not serve.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_UTC_OFFSET_MINUTES = 1080  # frozen here: a migration never imports app code

ARCHIVE_FUNCTION = """
CREATE OR REPLACE FUNCTION newsingest_archive_article_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.content_hash IS DISTINCT FROM OLD.content_hash THEN
        INSERT INTO article_versions (
            article_id, version, title, lead, text, authors, byline, published_at,
            modified_at, content_hash, simhash, extractor_version, fetched_at,
            credits, published_utc_offset
        ) VALUES (
            OLD.id, OLD.version, OLD.title, OLD.lead, OLD.text, OLD.authors, OLD.byline,
            OLD.published_at, OLD.modified_at, OLD.content_hash, OLD.simhash,
            OLD.extractor_version, OLD.fetched_at, OLD.credits, OLD.published_utc_offset
        );
        NEW.version := OLD.version + 1;
    ELSE
        NEW.version := OLD.version;
    END IF;
    RETURN NEW;
END
$$
"""

OLD_ARCHIVE_FUNCTION = """
CREATE OR REPLACE FUNCTION newsingest_archive_article_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.content_hash IS DISTINCT FROM OLD.content_hash THEN
        INSERT INTO article_versions (
            article_id, version, title, lead, text, authors, byline, published_at,
            modified_at, content_hash, simhash, extractor_version, fetched_at
        ) VALUES (
            OLD.id, OLD.version, OLD.title, OLD.lead, OLD.text, OLD.authors, OLD.byline,
            OLD.published_at, OLD.modified_at, OLD.content_hash, OLD.simhash,
            OLD.extractor_version, OLD.fetched_at
        );
        NEW.version := OLD.version + 1;
    ELSE
        NEW.version := OLD.version;
    END IF;
    RETURN NEW;
END
$$
"""

OLD_ARTICLE_FEED = """
CREATE VIEW article_feed AS
SELECT
    a.id,
    a.url,
    a.source_id,
    s.key AS source_key,
    s.name AS source_name,
    a.title,
    a.lead,
    a.text,
    a.authors,
    a.byline,
    a.published_at,
    a.published_precision,
    a.published_raw,
    a.modified_at,
    a.language,
    a.language_confidence,
    a.declared_language,
    a.translation_source_language,
    a.translation_original_outlet,
    a.translation_original_published_at,
    a.translation_note,
    a.site_name,
    a.section,
    a.tags,
    a.image_url,
    a.word_count,
    a.content_hash,
    a.simhash,
    a.extractor_version,
    a.fetched_at,
    a.version,
    a.first_seen_at,
    a.last_seen_at,
    a.duplicate_of
FROM articles AS a
LEFT JOIN sources AS s ON s.id = a.source_id
"""

ARTICLE_FEED = """
CREATE OR REPLACE VIEW article_feed AS
SELECT
    a.id,
    a.url,
    a.source_id,
    s.key AS source_key,
    s.name AS source_name,
    a.title,
    a.lead,
    a.text,
    a.authors,
    a.byline,
    a.published_at,
    a.published_precision,
    a.published_raw,
    a.modified_at,
    a.language,
    a.language_confidence,
    a.declared_language,
    a.translation_source_language,
    a.translation_original_outlet,
    a.translation_original_published_at,
    a.translation_note,
    a.site_name,
    a.section,
    a.tags,
    a.image_url,
    a.word_count,
    a.content_hash,
    a.simhash,
    a.extractor_version,
    a.fetched_at,
    a.version,
    a.first_seen_at,
    a.last_seen_at,
    a.duplicate_of,
    a.credits,
    a.published_utc_offset
FROM articles AS a
LEFT JOIN sources AS s ON s.id = a.source_id
"""

FEED_COMMENT = (
    "COMMENT ON VIEW article_feed IS "
    "'Stable read interface for downstream tools: one row per article (docs/schema.md)'"
)


def _offset_check() -> str:
    return (
        f"published_utc_offset BETWEEN -{MAX_UTC_OFFSET_MINUTES} AND {MAX_UTC_OFFSET_MINUTES}"
    )


def upgrade() -> None:
    for table in ("articles", "article_versions"):
        op.add_column(
            table,
            sa.Column(
                "credits",
                postgresql.ARRAY(sa.Text()),
                server_default=sa.text("'{}'"),
                nullable=False,
            ),
        )
        op.add_column(table, sa.Column("published_utc_offset", sa.Integer(), nullable=True))
        op.create_check_constraint(
            op.f(f"ck_{table}_published_utc_offset"), table, _offset_check()
        )
    op.execute(ARCHIVE_FUNCTION)
    op.execute(ARTICLE_FEED)


def downgrade() -> None:
    op.execute("DROP VIEW article_feed")
    op.execute(OLD_ARTICLE_FEED)
    op.execute(FEED_COMMENT)
    op.execute(OLD_ARCHIVE_FUNCTION)
    for table in ("article_versions", "articles"):
        op.drop_constraint(op.f(f"ck_{table}_published_utc_offset"), table, type_="check")
        op.drop_column(table, "published_utc_offset")
        op.drop_column(table, "credits")
