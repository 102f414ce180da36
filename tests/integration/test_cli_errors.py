"""A user's mistake ends every command with one line naming what to fix, exit 2, no
traceback; ``--debug``/``NEWSINGEST_DEBUG=1`` adds the traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from crawler.demo.server import SiteServer
from storage import db, migrate, queries
from tests.integration.conftest import PROJECT, Cli, _scratch_database, write_sources


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def newsingest(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSINGEST_")}
    base.update(NEWSINGEST_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=PROJECT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *parts: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: ")
    for part in parts:
        assert part in line, line
    return line


@pytest.mark.parametrize("command", [["status"], ["runs"], ["db", "upgrade"], ["search", "x"]])
def test_a_closed_database_port_is_one_line_naming_host_and_port(
    tmp_path: Path, command: list[str]
) -> None:
    port = free_port()
    url = f"postgresql://u:s3cretpw@127.0.0.1:{port}/x"
    result = newsingest(*command, tmp_path=tmp_path, NEWSINGEST_DATABASE_URL=url)
    line = assert_one_line_error(result, f"127.0.0.1:{port}", "connection refused")
    assert "s3cretpw" not in line


def test_debug_shows_the_traceback_of_a_configuration_error(tmp_path: Path) -> None:
    url = f"postgresql://u:pw@127.0.0.1:{free_port()}/x"
    for args, env in (
        (["--debug", "status"], {}),
        (["status"], {"NEWSINGEST_DEBUG": "1"}),
    ):
        result = newsingest(*args, tmp_path=tmp_path, NEWSINGEST_DATABASE_URL=url, **env)
        assert result.returncode == 2
        assert "Traceback" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("error: cannot connect")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u:pw@127.0.0.1/x", "is not a PostgreSQL URL"),
        ("127.0.0.1:5432/x", "is not a PostgreSQL URL"),
        ("postgresql://u:pw@127.0.0.1:abc/x", "port is not a number"),
    ],
)
def test_a_malformed_database_url_is_one_line(tmp_path: Path, url: str, expected: str) -> None:
    result = newsingest("status", tmp_path=tmp_path, NEWSINGEST_DATABASE_URL=url)
    assert_one_line_error(result, "NEWSINGEST_DATABASE_URL", expected)


def test_a_missing_database_and_a_missing_role_are_one_line(cli: Cli) -> None:
    head, sep, query = cli.database_url.partition("?")
    missing_db = head.rsplit("/", 1)[0] + "/no_such_database_19" + sep + query
    result = Cli(missing_db, cli.data_dir).run("runs")
    assert_one_line_error(result, "cannot connect", 'database "no_such_database_19" does not exist')
    scheme, rest = cli.database_url.split("://", 1)
    missing_role = f"{scheme}://no_such_role_19@{rest.rsplit('@', 1)[-1]}"
    result = Cli(missing_role, cli.data_dir).run("runs")
    assert_one_line_error(result, "cannot connect", 'role "no_such_role_19" does not exist')


def test_export_into_a_missing_folder_is_one_line(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "out.jsonl"
    result = cli.run("export", "-o", str(target))
    assert_one_line_error(result, str(target.parent), "does not exist")
    assert not target.parent.exists()


def test_export_text_under_a_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = cli.run("export", "--format", "text", "-o", str(tmp_path / "afile" / "dir"))
    assert_one_line_error(result, "is not a folder")


@pytest.mark.parametrize("command", [["export"], ["search", "x"]])
def test_an_unknown_source_on_read_commands_is_one_line(cli: Cli, command: list[str]) -> None:
    result = cli.run(*command, "--source", "nope")
    assert_one_line_error(result, "--source 'nope'", "no such source")


READ_COMMANDS = (["status"], ["runs"], ["export"], ["search", "x"])


def test_read_commands_check_the_schema_and_never_migrate(pg_server: str, tmp_path: Path) -> None:
    need = migrate.head_revision()
    script = ScriptDirectory.from_config(AlembicConfig(str(migrate.ALEMBIC_INI))).get_revision(need)
    assert script is not None and isinstance(script.down_revision, str)
    previous = script.down_revision
    role = f"ro_{uuid.uuid4().hex[:8]}"
    for url in _scratch_database(pg_server):
        for command in READ_COMMANDS:
            result = Cli(url, tmp_path / "data").run(*command)
            assert_one_line_error(
                result, f"no newsingest schema, this newsingest needs {need}: run newsingest db"
            )
        migrate.upgrade(url, previous)
        engine = db.make_engine(url, pool_size=1)
        try:
            with db.transaction(db.make_session_factory(engine)) as session:
                queries.grant_readonly(session, role)
        finally:
            engine.dispose()
        scheme, rest = url.split("://", 1)
        readonly_url = f"{scheme}://{role}@{rest.rsplit('@', 1)[-1]}"
        for command_url in (url, readonly_url):
            for command in READ_COMMANDS:
                result = Cli(command_url, tmp_path / "data").run(*command)
                assert_one_line_error(
                    result,
                    f"database schema is at {previous}, this newsingest needs {need}: "
                    "run newsingest db upgrade",
                )
        assert migrate.current_revision(url) == previous
    with psycopg.connect(db.libpq_url(pg_server), autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["-s", "NEWSINGEST_EXTRACT_WORKERS=abc", "-s", "CONCURRENT_REQUESTS=-1"],
            ["NEWSINGEST_EXTRACT_WORKERS='abc'", "CONCURRENT_REQUESTS='-1'"],
        ),
        (["-s", "NEWSINGEST_EXTRACT_TIMEOUT=0"], ["NEWSINGEST_EXTRACT_TIMEOUT='0'", "above 0"]),
        (["-s", "NEWSINGEST_EXTRACT_TIMEOUTS=3"], ["did you mean NEWSINGEST_EXTRACT_TIMEOUT"]),
    ],
)
def test_a_wrong_crawl_setting_is_one_line_before_anything_is_fetched(
    cli: Cli, site: SiteServer, tmp_path: Path, overrides: list[str], expected: list[str]
) -> None:
    sources = write_sources(tmp_path / "s.yaml", site.base_url)
    result = cli.run("crawl", "site", "--sources", str(sources), *overrides)
    assert_one_line_error(result, *expected)
    assert site.requests == []


def test_a_database_url_given_with_s_is_the_one_used(cli: Cli, tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "s.yaml", "http://127.0.0.1:9")
    port = free_port()
    url = f"postgresql://u:pw@127.0.0.1:{port}/x"
    result = cli.run(
        "crawl", "site", "--sources", str(sources), "-s", f"NEWSINGEST_DATABASE_URL={url}"
    )
    assert_one_line_error(result, f"cannot connect to PostgreSQL at 127.0.0.1:{port}")
