"""Exceptions shared by the crawler's Scrapy components."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class AlreadyStored(IgnoreRequest):
    """An article request skipped because the URL is stored already (incremental crawl)."""
