"""near duplicates and article_feed view

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

articles.duplicate_of (the earliest article telling the same story: same content_hash,
or a simhash at most 3 of 64 bits away), found through four generated 16-bit bands of
the simhash (simhash_band0..3), each with a b-tree index: two simhashes within 3 bits
share at least one band exactly. Existing rows are linked here once; new ones by
storage.repository.upsert_articles.

The view article_feed: the stable, documented read interface for downstream tools
(docs/schema.md): every record column of articles plus the source's key and name.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# One ALTER TABLE: the stored generated columns cost one table rewrite, not four.
ADD_COLUMNS = """
ALTER TABLE articles
    ADD COLUMN duplicate_of BIGINT,
    ADD COLUMN simhash_band0 INTEGER GENERATED ALWAYS AS (((simhash >> 0) & 65535)::integer) STORED NOT NULL,
    ADD COLUMN simhash_band1 INTEGER GENERATED ALWAYS AS (((simhash >> 16) & 65535)::integer) STORED NOT NULL,
    ADD COLUMN simhash_band2 INTEGER GENERATED ALWAYS AS (((simhash >> 32) & 65535)::integer) STORED NOT NULL,
    ADD COLUMN simhash_band3 INTEGER GENERATED ALWAYS AS (((simhash >> 48) & 65535)::integer) STORED NOT NULL
"""

# Same rule as storage.repository (frozen here: a migration never imports app code).
BACKFILL = """
UPDATE articles AS a SET duplicate_of = m.match
FROM (
    SELECT t.id, (
        SELECT b.id FROM articles AS b
        WHERE (b.simhash_band0 = t.simhash_band0 OR b.simhash_band1 = t.simhash_band1
               OR b.simhash_band2 = t.simhash_band2 OR b.simhash_band3 = t.simhash_band3
               OR b.content_hash = t.content_hash)
          AND (b.first_seen_at, b.id) < (t.first_seen_at, t.id)
          AND (b.content_hash = t.content_hash
               OR bit_count((b.simhash # t.simhash)::bit(64)) <= 3)
        ORDER BY b.first_seen_at, b.id
        LIMIT 1
    ) AS match
    FROM articles AS t
) AS m
WHERE a.id = m.id AND m.match IS NOT NULL
"""

ARTICLE_FEED = """
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


def upgrade() -> None:
    op.execute(ADD_COLUMNS)
    op.create_index(op.f('ix_articles_duplicate_of'), 'articles', ['duplicate_of'], unique=False)
    op.create_index(op.f('ix_articles_simhash_band0'), 'articles', ['simhash_band0'], unique=False)
    op.create_index(op.f('ix_articles_simhash_band1'), 'articles', ['simhash_band1'], unique=False)
    op.create_index(op.f('ix_articles_simhash_band2'), 'articles', ['simhash_band2'], unique=False)
    op.create_index(op.f('ix_articles_simhash_band3'), 'articles', ['simhash_band3'], unique=False)
    op.create_foreign_key(op.f('fk_articles_duplicate_of_articles'), 'articles', 'articles', ['duplicate_of'], ['id'], ondelete='SET NULL')
    op.execute(BACKFILL)
    op.execute(ARTICLE_FEED)
    op.execute(
        "COMMENT ON VIEW article_feed IS "
        "'Stable read interface for downstream tools: one row per article (docs/schema.md)'"
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS article_feed")
    op.drop_constraint(op.f('fk_articles_duplicate_of_articles'), 'articles', type_='foreignkey')
    op.drop_index(op.f('ix_articles_simhash_band3'), table_name='articles')
    op.drop_index(op.f('ix_articles_simhash_band2'), table_name='articles')
    op.drop_index(op.f('ix_articles_simhash_band1'), table_name='articles')
    op.drop_index(op.f('ix_articles_simhash_band0'), table_name='articles')
    op.drop_index(op.f('ix_articles_duplicate_of'), table_name='articles')
    op.drop_column('articles', 'simhash_band3')
    op.drop_column('articles', 'simhash_band2')
    op.drop_column('articles', 'simhash_band1')
    op.drop_column('articles', 'simhash_band0')
    op.drop_column('articles', 'duplicate_of')
