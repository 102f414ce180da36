"""storage.failures: failure rows on PostgreSQL, whatever their strings hold."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import db
from storage.failures import FailureRow, insert_failures
from storage.models import FetchFailure


def test_a_nul_in_one_rows_url_or_detail_loses_no_row_of_the_insert(
    sessions: sessionmaker[Session],
) -> None:
    """Bytes of a damaged archive taken for a header gave a URL with NUL, which PostgreSQL
    refuses: the insert failed and took every other failure of the batch with it."""
    rows = [
        FailureRow(url="https://news.test/a1", stage="fetch", reason="warc_bad_length"),
        FailureRow(
            url="\x00\u00cdn\u00c9 junk",
            stage="fetch",
            reason="warc_bad_record",
            detail="archive.warc.gz at offset 300: \x00 no record \ud800",
        ),
    ]
    with db.transaction(sessions) as session:
        assert insert_failures(session, rows) == 2
    with sessions() as session:
        stored = {
            f.reason: (f.url, f.detail) for f in session.execute(select(FetchFailure)).scalars()
        }
    assert stored["warc_bad_length"] == ("https://news.test/a1", None)
    assert stored["warc_bad_record"] == (
        "\ufffd\u00cdn\u00c9 junk",
        "archive.warc.gz at offset 300: \ufffd no record \ufffd",
    )
