"""docs/schema.md documents every table and view of the migrated database, column by column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Dialect, Engine, inspect
from sqlalchemy.types import TypeEngine

from storage.models import Base
from storage.queries import ARTICLE_FEED_COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
HEADING = re.compile(r"^## (Table|View) `(\w+)`\s*$")
ROW = re.compile(r"^\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|\s*(yes|no)\s*\|\s*(.*?)\s*\|\s*$")


def _documented() -> dict[str, tuple[str, list[tuple[str, str, bool, str]]]]:
    """Relation name -> (kind, [(column, type, nullable, meaning), ...]) from the document."""
    relations: dict[str, tuple[str, list[tuple[str, str, bool, str]]]] = {}
    current: list[tuple[str, str, bool, str]] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = HEADING.match(line)
        if heading:
            kind, name = heading.groups()
            assert name not in relations, f"{name} documented twice"
            current = []
            relations[name] = (kind.lower(), current)
        elif line.startswith("## "):
            current = None
        elif current is not None and (row := ROW.match(line)):
            column, type_, null, meaning = row.groups()
            current.append((column, type_, null == "yes", meaning))
    return relations


def _type_name(type_: TypeEngine[Any], dialect: Dialect) -> str:
    name = type_.compile(dialect=dialect).lower()
    return name.replace("timestamp with time zone", "timestamptz")


@pytest.fixture(scope="module")
def documented() -> dict[str, tuple[str, list[tuple[str, str, bool, str]]]]:
    return _documented()


def test_every_table_and_view_is_documented_and_nothing_else(
    engine: Engine, documented: dict[str, tuple[str, list[tuple[str, str, bool, str]]]]
) -> None:
    inspector = inspect(engine)
    tables, views = set(inspector.get_table_names()), set(inspector.get_view_names())
    assert {n for n, (k, _) in documented.items() if k == "table"} == tables
    assert {n for n, (k, _) in documented.items() if k == "view"} == views


def test_documented_columns_match_the_database_in_order_type_and_nullability(
    engine: Engine, documented: dict[str, tuple[str, list[tuple[str, str, bool, str]]]]
) -> None:
    inspector = inspect(engine)
    for name, (kind, rows) in documented.items():
        actual = [
            (c["name"], _type_name(c["type"], engine.dialect), bool(c["nullable"]))
            for c in inspector.get_columns(name)
        ]
        if kind == "view":  # views carry no NOT NULL: compare names and types only
            assert [r[:2] for r in rows] == [a[:2] for a in actual], name
        else:
            assert [r[:3] for r in rows] == actual, name
        assert all(meaning for *_, meaning in rows), f"{name}: a column has no meaning"


def test_documented_tables_match_the_models(
    documented: dict[str, tuple[str, list[tuple[str, str, bool, str]]]],
) -> None:
    for table in Base.metadata.sorted_tables:
        kind, rows = documented[table.name]
        assert kind == "table"
        assert [r[0] for r in rows] == [c.name for c in table.columns], table.name


def test_documented_view_is_what_exports_write(
    documented: dict[str, tuple[str, list[tuple[str, str, bool, str]]]],
) -> None:
    kind, rows = documented["article_feed"]
    assert (kind, [r[0] for r in rows]) == ("view", list(ARTICLE_FEED_COLUMNS))


COOKBOOK = re.compile(r"```sql\n-- index: ([^\n]+)\n(.*?)```", re.S)

_FILL = """
insert into sources (key, name, url)
select 'src-' || lpad(g::text, 4, '0'), 'Source ' || g, 'https://s' || g || '.example/'
from generate_series(0, 49) g;
insert into articles (source_id, url, title, text, language, published_at, first_seen_at,
                      word_count, content_hash, simhash, extractor_version, duplicate_of)
select (select min(id) from sources) + g % 50, 'https://news.example/de/' || g || '.html',
       'Title ' || g,
       case when g % 100 = 0 then 'harbour strike ' else '' end || 'word' || g % 997,
       (array['en','de','fr','es','ru','it','pt','nl','sv','pl','tr','uk','da','fi','no',
              'hu','ro','cs','ja','ar'])[1 + g % 20],
       now() - (g % 730) * interval '1 day' - (g % 1440) * interval '1 minute',
       now() - (g % 730) * interval '1 day', 2, md5(g::text), g, 'test',
       null
from generate_series(1, 40000) g;
update articles set duplicate_of = id - 1 where id % 30 = 0;
update articles set text = text || ' again', content_hash = md5(text || 'again')
where id % 100 = 0;
insert into crawl_runs (source_id, trigger, host, pid, status, started_at, finished_at)
select (select min(id) from sources) + g % 50, 'cli', 'h', 1,
       case when g % 10 = 0 then 'failed' else 'succeeded' end,
       now() - g * interval '1 hour', now() - g * interval '1 hour' + interval '1 minute'
from generate_series(1, 20000) g;
insert into fetch_failures (run_id, source_id, url, stage, reason, occurred_at)
select (select min(id) from crawl_runs) + g % 20000, (select min(id) from sources) + g % 50,
       'https://news.example/f/' || g, 'fetch', 'http_404', now() - g * interval '1 hour'
from generate_series(1, 20000) g;
analyze;
"""


def test_every_cookbook_query_runs_and_uses_the_indexes_it_names(engine: Engine) -> None:
    from sqlalchemy import text

    from tests.integration.conftest import TABLES

    blocks = COOKBOOK.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 15
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        conn.connection.driver_connection.execute(_FILL)  # type: ignore[union-attr]
    try:
        with engine.connect() as conn:
            for names, sql in blocks:
                plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + sql).scalars())
                for needed in names.split(","):
                    either = [n.strip() for n in needed.split("|")]
                    assert any(f" {n} " in plan for n in either), f"{needed}: not in\n{plan}"
                conn.exec_driver_sql(sql).all()
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
