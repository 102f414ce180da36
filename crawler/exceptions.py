"""Exceptions shared by the crawler's Scrapy components."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class AlreadyStored(IgnoreRequest):
    """An article request skipped because the URL is stored already (incremental crawl)."""


class RedirectLoop(IgnoreRequest):
    """A redirect that leads back to a URL already in the redirect chain."""


class OffsiteRedirect(IgnoreRequest):
    """A redirect that leaves the source's domains."""


class DeniedRedirect(IgnoreRequest):
    """A redirect of an article request to a URL the source's ``article_urls`` refuse."""


class CrawlStopped(IgnoreRequest):
    """A request dropped because the crawl was asked to stop (SIGTERM, SIGINT): it was
    queued for download, or still downloading, when the stop came. Not a failure of the
    page: the next crawl discovers it again."""
