"""Engines and sessions from a URL; no I/O at import time.

URLs may be given in libpq form (``postgresql://...``, as psql takes them) or in
SQLAlchemy form; `sqlalchemy_url` turns either into the psycopg 3 dialect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from sqlalchemy import ARRAY, ColumnElement, Engine, String, create_engine, text
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.orm import Session, sessionmaker

from storage import embedded

logger = logging.getLogger(__name__)


def sqlalchemy_url(url: str) -> str:
    """The same database as ``url`` in SQLAlchemy's psycopg 3 dialect."""
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """The same database as ``url`` in the form psql and libpq accept."""
    if url.startswith("postgresql+"):
        return "postgresql://" + url.split("://", 1)[1]
    return url


def without_password(url: str) -> tuple[str, str | None]:
    """``url`` without its password, and the password (decoded), for ``PGPASSWORD``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    netloc = f"{user}@{host}" if user else host
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)


POSTGRESQL_SCHEMES = frozenset(
    {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}
)
"""URL schemes taken as PostgreSQL (libpq's and SQLAlchemy's spellings)."""


class DatabaseURLError(ValueError):
    """The database URL is not a usable PostgreSQL URL; the message names no secret."""


def check_url(url: str) -> None:
    """Raise DatabaseURLError, naming no secret, when ``url`` is not a PostgreSQL URL
    or its credentials are ambiguous.

    A password with a raw ``@`` makes the host start inside the password (libpq and
    SQLAlchemy then print that tail in their errors).
    """
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in POSTGRESQL_SCHEMES:
        shown = f"'{scheme}://' " if sep else ""
        raise DatabaseURLError(
            f"the database URL {shown}is not a PostgreSQL URL: "
            "expected postgresql://user:password@host:port/database"
        )
    netloc = urlsplit(url).netloc
    if netloc.count("@") > 1:
        raise DatabaseURLError(
            "the database URL has more than one '@' before its host: percent-encode an '@' "
            "in the user name or password as %40"
        )
    try:
        urlsplit(url).port  # noqa: B018 (raises ValueError when it is not a number 0-65535)
    except ValueError:
        raise DatabaseURLError("the database URL's port is not a number from 0 to 65535") from None


def resolve_url(database_url: str | None, data_dir: Path) -> str:
    """The configured URL, or the embedded server's (started on demand) when None."""
    if database_url:
        check_url(database_url)
        return database_url
    return embedded.start(data_dir)


def make_engine(url: str, *, pool_size: int = 5, application_name: str = "newsingest") -> Engine:
    """An engine with pre-ping (a restarted server is noticed) and UTC sessions."""
    check_url(url)
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        connect_args={
            "application_name": application_name,
            "options": "-c timezone=UTC",
            "connect_timeout": 10,
        },
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (records are read after writes)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def sessions_for(url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on an engine of one connection, disposed on leaving: a command's database
    work (the CLI's one set-up and tear-down; a crawl's components keep their own)."""
    engine = make_engine(url, pool_size=1)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def session_scope(url: str, *, in_transaction: bool = False) -> Iterator[Session]:
    """One session on an engine of its own (`sessions_for`), disposed on leaving; with
    ``in_transaction``, inside one `transaction` (committed on success, rolled back on
    error)."""
    with sessions_for(url) as factory:
        if in_transaction:
            with transaction(factory) as session:
                yield session
        else:
            with factory() as session:
                yield session


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error. The one place that commits."""
    with factory() as session, session.begin():
        yield session


def run_binary(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run ``sql`` (psycopg placeholders, ``%(name)b``: binary) in the session's transaction.

    Through SQLAlchemy's driver-level execute, so errors arrive wrapped as usual (a lost
    connection is a `DBAPIError` that invalidates it; `writes.is_transient_db_error` relies
    on that). Returns the result rows, if any.
    """
    result = session.connection().exec_driver_sql(sql, params)
    return list(result.all()) if result.returns_rows else []


_PG_DIALECT = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialects are untyped


def array_type(column: ColumnElement[Any]) -> str:
    """The element type of ``column``'s array parameter in a `run_binary` batch (``CAST(%(c)b
    AS <type>[])``), from the model: ``text`` for strings of any length (a cast to
    ``varchar(n)`` would cut longer values silently, where the column refuses them) and for
    ``text[]`` columns (passed as array literals, one per row: unnest cannot yield arrays),
    else the column's PostgreSQL type."""
    if isinstance(column.type, ARRAY | String):
        return "text"
    return str(column.type.compile(dialect=_PG_DIALECT)).lower()


def ping(session: Session) -> None:
    """Raise when the database does not answer."""
    session.execute(text("SELECT 1"))
