"""``python -m crawler.cli``: the same as the ``newsingest`` command."""

from __future__ import annotations

from crawler.cli import main

main()
