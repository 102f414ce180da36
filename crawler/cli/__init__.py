"""The ``newsingest`` command line (``crawler.cli:main``).

Importing this package registers every subcommand module listed in `COMMAND_MODULES`
on the `main` group. A new command is a new module here plus one line in that list.
"""

from __future__ import annotations

import importlib

from crawler.cli.main import main

COMMAND_MODULES = (
    "crawler.cli.crawl",
    "crawler.cli.sources",
    "crawler.cli.runs",
    "crawler.cli.health",
    "crawler.cli.metrics",
    "crawler.cli.db",
    "crawler.cli.worker",
    "crawler.cli.export",
    "crawler.cli.search",
    "crawler.cli.reextract",
    "crawler.cli.spool",
    "crawler.cli.warc",
)

for _module in COMMAND_MODULES:
    importlib.import_module(_module)

__all__ = ["main"]
