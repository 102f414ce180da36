"""The ``newsingest`` command line (``crawler.cli:main``).

Each subcommand lives in a module of this package that registers itself on the `main`
group when imported. `COMMANDS` names the module of each command: the group imports a
module only when its command is run (or ``--help`` lists them all), so ``newsingest
status`` does not pay for Scrapy, twisted or the extraction libraries that ``crawl``
needs (issue 24). A new command is a new module here plus its line in that table.
"""

from __future__ import annotations

from crawler.cli.main import COMMANDS, main

COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))
"""Every subcommand module, once each (in `COMMANDS` order)."""

__all__ = ["COMMANDS", "COMMAND_MODULES", "main"]
