"""Why a URL produced no record: the reasons of ``fetch_failures`` rows, named once.

`FailureReason` is every reason the crawl gives a failure, with whether it may go away
on the next try (``FailureReason.DNS_ERROR.transient``). Its values are what
``fetch_failures.reason`` stores and what the stats keys ``newsingest/…/failed/<reason>``
end in, so they never change. Two kinds of reason are not members: an HTTP error
status, ``http_<status>`` (`http_reason`), and an unknown exception, which keeps its
class name (`crawler.spiders.news.failure_reason`); `is_transient_reason` judges all
of them.

The transient ones are the failures Scrapy's retry middleware retries
(``RETRY_EXCEPTIONS``, ``RETRY_HTTP_CODES``) and other network failures a later try may
not meet (a reset, a cancelled download, a TLS handshake cut short). A crawl that met
one may have missed an article, so it keeps no feed or sitemap validators
(`crawler.middlewares.conditional.ConditionalRequests.complete`).

Pure: no Scrapy, so storage (``store_error``, ``other_source``) imports it too.
"""

from __future__ import annotations

from enum import StrEnum


class FailureReason(StrEnum):
    """A failure's reason, with ``transient``: whether the next try may succeed."""

    _value_: str
    transient: bool

    def __new__(cls, value: str, transient: bool = False) -> FailureReason:
        member = str.__new__(cls, value)
        member._value_ = value
        member.transient = transient
        return member

    # --- the network (fetch and discovery; crawler.spiders.news.failure_reason) -------
    TIMEOUT = "timeout", True
    DNS_ERROR = "dns_error", True
    CONNECTION_REFUSED = "connection_refused", True
    CONNECTION_RESET = "connection_reset", True
    CONNECTION_CLOSED = "connection_closed", True
    CONNECTION_LOST = "connection_lost", True
    TRUNCATED = "truncated", True
    TLS_ERROR = "tls_error", True
    CANCELLED = "cancelled", True
    DOWNLOAD_FAILED = "download_failed", True
    BAD_RESPONSE = "bad_response"
    UNSUPPORTED_SCHEME = "unsupported_scheme"

    # --- requests refused before or while fetching -------------------------------------
    REDIRECT_LOOP = "redirect_loop"
    OFFSITE_REDIRECT = "offsite_redirect"
    DENIED_REDIRECT = "denied_redirect"
    ROBOTS_DISALLOWED = "robots_disallowed"
    OFFSITE = "offsite"
    IGNORED = "ignored"
    URL_TOO_LONG = "url_too_long"
    INVALID_URL = "invalid_url"
    """A discovered URL Scrapy's URL parsing refuses (a host that is no valid name or
    address, a port out of range); the page's other links go on."""
    TOO_LARGE = "too_large"
    """Over ``DOWNLOAD_MAXSIZE`` (fetch) or ``NEWSINGEST_EXTRACT_MAX_BYTES`` (extract)."""
    NOT_HTML = "not_html"

    # --- discovery documents that cannot be read ---------------------------------------
    BAD_SITEMAP = "bad_sitemap"
    BAD_FEED = "bad_feed"

    # --- extraction's rejections (crawler.extraction.RejectionReason) ------------------
    EMPTY = "empty"
    TOO_SHORT = "too_short"
    NOT_ARTICLE = "not_article"
    LINK_PAGE = "link_page"
    VIDEO_ONLY = "video_only"
    PAYWALL = "paywall"
    PARSE_ERROR = "parse_error"
    INTERNAL_ERROR = "internal_error"
    """Extraction raised: a bug, not a verdict on the page (the detail names the
    exception); tests fail on it."""

    # --- storing (storage.writes) ------------------------------------------------
    STORE_ERROR = "store_error"
    """A record the database (or the spool) cannot take for its content."""
    OTHER_SOURCE = "other_source"
    """An article whose canonical URL another source has stored already."""

    # --- archive files (newsingest warc: crawler.archive.Damage) -----------------------
    WARC_BAD_RECORD = "warc_bad_record"
    """Bytes of an archive file that are no readable record."""
    WARC_BAD_LENGTH = "warc_bad_length"
    """An archive record whose ``Content-Length`` does not match it."""
    WARC_TRUNCATED = "warc_truncated"
    """The archive file ends inside a record."""
    WARC_UNREADABLE = "warc_unreadable"
    """The archive file could not be opened or read."""


HTTP_PREFIX = "http_"


def http_reason(status: int) -> str:
    """The reason of an HTTP error answer: ``http_404``."""
    return f"{HTTP_PREFIX}{status}"


def is_transient_reason(reason: str) -> bool:
    """Whether a failure of this reason may go away on the next try: a transient
    `FailureReason`, or an HTTP 5xx, 408 or 429."""
    if reason.startswith(HTTP_PREFIX):
        code = reason[len(HTTP_PREFIX) :]
        return code.isdigit() and (code.startswith("5") or code in ("408", "429"))
    try:
        return FailureReason(reason).transient
    except ValueError:  # an unknown exception's class name
        return False
