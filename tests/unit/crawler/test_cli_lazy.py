"""`newsingest status` must not import the crawl's heavy dependencies, nor Alembic to
check the schema is current, nor the discovery parsers (lxml) for the URL helpers
`crawler.sources` reads (issue 24)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scrapy", "twisted", "trafilatura", "htmldate", "langdetect", "alembic", "lxml",
         "crawler.discovery.feeds")  # fmt: skip

PROBE = f"""
import sys
from crawler.cli import main
ctx = main.make_context("newsingest", ["status"])
name, cmd, args = main.resolve_command(ctx, ["status"])
assert name == "status" and cmd is not None
from crawler.cli.health import thresholds
from crawler.sources import load_sources
from storage import migrate
thresholds()
migrate.head_revision()
print(",".join(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_status_does_not_import_the_crawl_stack() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_every_command_is_listed() -> None:
    from crawler.cli import COMMANDS, main

    ctx = main.make_context("newsingest", ["status"])
    assert main.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        assert main.get_command(ctx, name) is not None, name
