"""Discovery and the sources registry stay pure: no Scrapy, Twisted, SQLAlchemy or storage."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("scrapy", "twisted", "sqlalchemy", "storage", "psycopg")


def test_discovery_and_sources_import_no_framework_or_database_module() -> None:
    code = (
        "import sys, crawler.discovery, crawler.sources\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
