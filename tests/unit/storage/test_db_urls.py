"""Database URLs: passwords stay out of argv and out of error messages."""

from __future__ import annotations

import pytest

from storage import db


def test_the_password_is_split_off_for_the_environment() -> None:
    url, password = db.without_password("postgresql://ingest:p%40ss@127.0.0.1:5432/news?x=1")
    assert (url, password) == ("postgresql://ingest@127.0.0.1:5432/news?x=1", "p@ss")
    assert db.without_password("postgresql:///news?host=/tmp") == (
        "postgresql:///news?host=/tmp",
        None,
    )


def test_an_unencoded_at_in_the_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="%40") as caught:
        db.make_engine("postgresql://ingest:secret@tail@127.0.0.1/news")
    assert "tail" not in str(caught.value) and "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:pw@127.0.0.1/news",
        "sqlite:///news.db",
        "127.0.0.1:5432/news",
        "postgresql://u:pw@127.0.0.1:port/news",
    ],
)
def test_a_url_that_is_not_postgresql_is_refused_before_connecting(url: str) -> None:
    with pytest.raises(db.DatabaseURLError) as caught:
        db.check_url(url)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:pw@127.0.0.1:5432/news",
        "postgres://u@h/news",
        "postgresql+psycopg://u@h/news",
        "postgresql:///news?host=/tmp",
    ],
)
def test_postgresql_urls_in_libpq_and_sqlalchemy_spelling_pass(url: str) -> None:
    db.check_url(url)
