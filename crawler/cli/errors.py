"""The CLI's error boundary: a user's mistake becomes one line, never a traceback.

`describe` turns the exceptions a wrong configuration raises (an unreachable or refused
database, a malformed database URL, a missing or unwritable file, an invalid sources
file or setting) into one line naming what to fix, without any password. `BoundaryGroup`
is the ``newsingest`` group: it prints ``error: <line>`` and exits 2
(`EXIT_USAGE`); with ``--debug`` (or ``NEWSINGEST_DEBUG=1``) the traceback comes first.
Anything `describe` does not know is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import logging
import re
import sys
import traceback
from typing import Any
from urllib.parse import parse_qs, urlsplit

import click

logger = logging.getLogger(__name__)

EXIT_USAGE = 2

USER_OS_ERRORS = (
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
    FileExistsError,
)
"""OS errors that name a path the user gave or must fix (not a bug of ours)."""


class UserError(Exception):
    """A mistake of the user's (configuration, arguments, environment); the message is
    the one line the CLI prints, naming what to fix."""


def database_location(database_url: str | None) -> str:
    """``host:port`` of ``database_url`` (never its password), or the embedded server."""
    if not database_url:
        return "the embedded PostgreSQL"
    try:
        parts = urlsplit(database_url)
        host = parts.hostname or parse_qs(parts.query).get("host", ["localhost"])[0]
        port = parts.port or 5432
    except ValueError:
        return "NEWSINGEST_DATABASE_URL"
    return f"PostgreSQL at {host}:{port}"


def _password(database_url: str | None) -> str | None:
    if not database_url:
        return None
    try:
        return urlsplit(database_url).password
    except ValueError:
        return None


def _server_reason(message: str) -> str:
    """The useful part of a psycopg/libpq message: its first line, after 'failed: '."""
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    first = first.rsplit("failed: ", 1)[-1]
    first = re.sub(r"^(FATAL|ERROR):\s+", "", first).strip()
    return first[:1].lower() + first[1:]


def _database_error(exc: BaseException, database_url: str | None) -> str | None:
    import psycopg
    from sqlalchemy import exc as sa_exc

    orig: BaseException = exc
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        orig = exc.orig
    where = database_location(database_url)
    if isinstance(orig, psycopg.errors.InsufficientPrivilege):
        return (
            f"{where} refused: {_server_reason(str(orig))} "
            "(the role of NEWSINGEST_DATABASE_URL lacks that privilege)"
        )
    if isinstance(orig, psycopg.OperationalError):
        reason = _server_reason(str(orig))
        if "connection" in str(orig).lower() or "connect" in str(orig).lower():
            return f"cannot connect to {where}: {reason}"
        return f"{where}: {reason}"
    if isinstance(exc, sa_exc.NoSuchModuleError | sa_exc.ArgumentError):
        return (
            "NEWSINGEST_DATABASE_URL is not a PostgreSQL URL "
            "(expected postgresql://user:password@host:port/database)"
        )
    return None


def describe(exc: BaseException, database_url: str | None = None) -> str | None:
    """One line for a user's mistake behind ``exc``; None when ``exc`` is a bug."""
    from crawler.sources import SourcesError
    from crawler.validation import SettingsError
    from storage.db import DatabaseURLError
    from storage.embedded import EmbeddedPostgresError
    from storage.migrate import SchemaNotCurrent

    message: str | None
    if isinstance(exc, DatabaseURLError):
        message = f"NEWSINGEST_DATABASE_URL: {exc}"
    elif isinstance(
        exc, UserError | SourcesError | SettingsError | EmbeddedPostgresError | SchemaNotCurrent
    ):
        message = str(exc)
    elif isinstance(exc, USER_OS_ERRORS) and exc.filename is not None:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        message = f"{exc.filename}: {reason[:1].lower() + reason[1:]}"
    else:
        message = _database_error(exc, database_url)
    if message is None:
        return None
    password = _password(database_url)
    if password:
        message = message.replace(password, "***")
    return " ".join(message.split())


class BoundaryGroup(click.Group):
    """A click group whose subcommands' user mistakes end as one line and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if isinstance(exc, click.exceptions.ClickException | click.exceptions.Exit):
                raise
            cfg = ctx.obj
            line = describe(exc, getattr(cfg, "database_url", None))
            if line is None:
                raise
            if ctx.params.get("debug"):
                traceback.print_exc()
            click.echo(f"error: {line}", err=True)
            sys.exit(EXIT_USAGE)
