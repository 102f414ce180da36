"""article stub: why an article's body is only part of it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

Pages that are articles but whose body is only a stub (a paywalled article showing its
lead, a video news item whose text is the video's description) are stored with their
metadata and marked: ``articles.stub`` is ``paywall`` or ``video`` (NULL for a full
article), ``ck_articles_stub`` keeps it to those values. It is archived in
``article_versions`` (the same column and check; the archive function is replaced) and
appended to ``article_feed`` (its documented promise: columns are only ever added at the
end; downgrade recreates the previous view). No index: downstream filters ``stub IS
NULL`` alongside other conditions, and nearly every row is NULL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STUB_KINDS = ("paywall", "video")  # frozen here: a migration never imports app code

ARCHIVE_FUNCTION = """
CREATE OR REPLACE FUNCTION newsingest_archive_article_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.content_hash IS DISTINCT FROM OLD.content_hash THEN
        INSERT INTO article_versions (
            article_id, version, title, lead, text, authors, byline, published_at,
            modified_at, content_hash, simhash, extractor_version, fetched_at,
            credits, published_utc_offset, stub
        ) VALUES (
            OLD.id, OLD.version, OLD.title, OLD.lead, OLD.text, OLD.authors, OLD.byline,
            OLD.published_at, OLD.modified_at, OLD.content_hash, OLD.simhash,
            OLD.extractor_version, OLD.fetched_at, OLD.credits, OLD.published_utc_offset,
            OLD.stub
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
    a.duplicate_of,
    a.credits,
    a.published_utc_offset
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
    a.published_utc_offset,
    a.stub
FROM articles AS a
LEFT JOIN sources AS s ON s.id = a.source_id
"""

FEED_COMMENT = (
    "COMMENT ON VIEW article_feed IS "
    "'Stable read interface for downstream tools: one row per article (docs/schema.md)'"
)


def _stub_check() -> str:
    return "stub IN (" + ", ".join(f"'{kind}'" for kind in STUB_KINDS) + ")"


def upgrade() -> None:
    for table in ("articles", "article_versions"):
        op.add_column(table, sa.Column("stub", sa.Text(), nullable=True))
        op.create_check_constraint(op.f(f"ck_{table}_stub"), table, _stub_check())
    op.execute(ARCHIVE_FUNCTION)
    op.execute(ARTICLE_FEED)


def downgrade() -> None:
    op.execute("DROP VIEW article_feed")
    op.execute(OLD_ARTICLE_FEED)
    op.execute(FEED_COMMENT)
    op.execute(OLD_ARCHIVE_FUNCTION)
    for table in ("article_versions", "articles"):
        op.drop_constraint(op.f(f"ck_{table}_stub"), table, type_="check")
        op.drop_column(table, "stub")
