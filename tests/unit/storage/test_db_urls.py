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
