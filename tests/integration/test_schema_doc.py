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
