"""search_vector kept by a trigger instead of a generated column

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

A stored generated column is recomputed by every UPDATE of the row, so touching
``last_seen_at`` of an unchanged article cost a full-text parse of its whole text. The
column becomes a plain one (``DROP EXPRESSION`` keeps its values and its place) kept by a
BEFORE trigger on INSERT and on UPDATE OF title, lead, text, language. Likewise the
version-archiving trigger now fires only on UPDATE OF content_hash.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_VECTOR = "setweight(to_tsvector(CASE NEW.language WHEN 'da' THEN 'danish'::regconfig WHEN 'de' THEN 'german'::regconfig WHEN 'en' THEN 'english'::regconfig WHEN 'es' THEN 'spanish'::regconfig WHEN 'fi' THEN 'finnish'::regconfig WHEN 'fr' THEN 'french'::regconfig WHEN 'hu' THEN 'hungarian'::regconfig WHEN 'it' THEN 'italian'::regconfig WHEN 'nl' THEN 'dutch'::regconfig WHEN 'no' THEN 'norwegian'::regconfig WHEN 'pt' THEN 'portuguese'::regconfig WHEN 'ro' THEN 'romanian'::regconfig WHEN 'ru' THEN 'russian'::regconfig WHEN 'sv' THEN 'swedish'::regconfig WHEN 'tr' THEN 'turkish'::regconfig ELSE 'simple'::regconfig END, coalesce(NEW.title, '')), 'A') || setweight(to_tsvector(CASE NEW.language WHEN 'da' THEN 'danish'::regconfig WHEN 'de' THEN 'german'::regconfig WHEN 'en' THEN 'english'::regconfig WHEN 'es' THEN 'spanish'::regconfig WHEN 'fi' THEN 'finnish'::regconfig WHEN 'fr' THEN 'french'::regconfig WHEN 'hu' THEN 'hungarian'::regconfig WHEN 'it' THEN 'italian'::regconfig WHEN 'nl' THEN 'dutch'::regconfig WHEN 'no' THEN 'norwegian'::regconfig WHEN 'pt' THEN 'portuguese'::regconfig WHEN 'ro' THEN 'romanian'::regconfig WHEN 'ru' THEN 'russian'::regconfig WHEN 'sv' THEN 'swedish'::regconfig WHEN 'tr' THEN 'turkish'::regconfig ELSE 'simple'::regconfig END, coalesce(NEW.lead, '')), 'B') || setweight(to_tsvector(CASE NEW.language WHEN 'da' THEN 'danish'::regconfig WHEN 'de' THEN 'german'::regconfig WHEN 'en' THEN 'english'::regconfig WHEN 'es' THEN 'spanish'::regconfig WHEN 'fi' THEN 'finnish'::regconfig WHEN 'fr' THEN 'french'::regconfig WHEN 'hu' THEN 'hungarian'::regconfig WHEN 'it' THEN 'italian'::regconfig WHEN 'nl' THEN 'dutch'::regconfig WHEN 'no' THEN 'norwegian'::regconfig WHEN 'pt' THEN 'portuguese'::regconfig WHEN 'ro' THEN 'romanian'::regconfig WHEN 'ru' THEN 'russian'::regconfig WHEN 'sv' THEN 'swedish'::regconfig WHEN 'tr' THEN 'turkish'::regconfig ELSE 'simple'::regconfig END, coalesce(NEW.text, '')), 'C')"

GENERATED = SEARCH_VECTOR.replace("NEW.", "")


def upgrade() -> None:
    op.execute("ALTER TABLE articles ALTER COLUMN search_vector DROP EXPRESSION")
    op.execute(
        "CREATE FUNCTION newsingest_articles_search_vector() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN NEW.search_vector := "
        + SEARCH_VECTOR
        + "; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER trg_articles_search_vector "
        "BEFORE INSERT OR UPDATE OF title, lead, text, language ON articles "
        "FOR EACH ROW EXECUTE FUNCTION newsingest_articles_search_vector()"
    )
    _archive_trigger("BEFORE UPDATE OF content_hash")


def _archive_trigger(when: str) -> None:
    op.execute("DROP TRIGGER trg_articles_archive_version ON articles")
    op.execute(
        f"CREATE TRIGGER trg_articles_archive_version {when} ON articles "
        "FOR EACH ROW EXECUTE FUNCTION newsingest_archive_article_version()"
    )


def downgrade() -> None:
    _archive_trigger("BEFORE UPDATE")
    op.execute("DROP TRIGGER IF EXISTS trg_articles_search_vector ON articles")
    op.execute("DROP FUNCTION IF EXISTS newsingest_articles_search_vector()")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
    op.execute("ALTER TABLE articles DROP COLUMN search_vector")
    op.execute(
        "ALTER TABLE articles ADD COLUMN search_vector tsvector "
        "GENERATED ALWAYS AS (" + GENERATED + ") STORED NOT NULL"
    )
    op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
