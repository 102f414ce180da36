"""The migration scripts as `storage.migrate` reads them without Alembic."""

from __future__ import annotations

import ast

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from storage import migrate


def _declared(name: str, path_text: str) -> object:
    for node in ast.parse(path_text).body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == name:
            assert node.value is not None
            return ast.literal_eval(node.value)
    raise AssertionError(f"no {name} declared")


def test_each_script_is_named_after_its_revision_and_revises_the_one_before() -> None:
    revisions = migrate.script_revisions()
    assert revisions[0] == "0001"
    previous = None
    for revision in revisions:
        (path,) = migrate.VERSIONS.glob(f"{revision}_*.py")
        source = path.read_text(encoding="utf-8")
        assert _declared("revision", source) == revision
        assert _declared("down_revision", source) == previous
        previous = revision


def test_head_revision_is_alembics_head() -> None:
    scripts = ScriptDirectory.from_config(AlembicConfig(str(migrate.ALEMBIC_INI)))
    assert migrate.head_revision() == scripts.get_current_head()
