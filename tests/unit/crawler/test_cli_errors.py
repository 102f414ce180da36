"""The CLI's error boundary: which exceptions become one line, and what that line says."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import exc as sa_exc

from crawler.cli.errors import UserError, database_location, describe
from crawler.sources import SourcesError
from storage import db


def test_database_location_never_shows_the_password() -> None:
    where = database_location("postgresql://ingest:s3cret@db.example:6543/news")
    assert where == "PostgreSQL at db.example:6543"
    assert database_location(None) == "the embedded PostgreSQL"
    assert database_location("postgresql://u@/news?host=/run/pg") == "PostgreSQL at /run/pg:5432"


def test_a_refused_connection_is_one_line_with_host_port_and_reason() -> None:
    url = "postgresql://u:s3cret@127.0.0.1:5999/x"
    orig = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5999 failed: '
        "Connection refused\n\tIs the server running on that host and accepting TCP/IP?"
    )
    exc = sa_exc.OperationalError("SELECT 1", {}, orig)
    assert describe(exc, url) == (
        "cannot connect to PostgreSQL at 127.0.0.1:5999: connection refused"
    )


def test_a_failed_login_names_the_reason_without_the_password() -> None:
    url = "postgresql://u:s3cret@127.0.0.1:5432/x"
    orig = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        'FATAL:  password authentication failed for user "u" s3cret'
    )
    line = describe(sa_exc.OperationalError("", {}, orig), url)
    assert line is not None
    assert line.startswith("cannot connect to PostgreSQL at 127.0.0.1:5432: password auth")
    assert "s3cret" not in line


def test_a_missing_privilege_says_which_role_lacks_it() -> None:
    orig = psycopg.errors.InsufficientPrivilege("permission denied for table articles")
    line = describe(sa_exc.ProgrammingError("", {}, orig), "postgresql://ro@h/x")
    assert line is not None and "permission denied for table articles" in line
    assert "NEWSINGEST_DATABASE_URL" in line


def test_user_mistakes_of_the_project_keep_their_message() -> None:
    assert describe(UserError("-o x: folder y does not exist")) == "-o x: folder y does not exist"
    assert describe(SourcesError("sources.yaml: line 3: bad")) == "sources.yaml: line 3: bad"


def test_a_non_postgresql_url_is_named_as_the_setting_to_fix() -> None:
    with pytest.raises(db.DatabaseURLError) as caught:
        db.check_url("mysql://u:pw@h/x")
    line = describe(caught.value)
    assert line is not None and line.startswith("NEWSINGEST_DATABASE_URL: ")
    assert "mysql://" in line and "pw" not in line


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "out.jsonl"
    with pytest.raises(FileNotFoundError) as caught:
        missing.open("w")
    assert describe(caught.value) == f"{missing}: no such file or directory"


def test_a_bug_is_not_described() -> None:
    assert describe(KeyError("x")) is None
    assert describe(ValueError("something internal")) is None
    assert describe(OSError("no filename")) is None
