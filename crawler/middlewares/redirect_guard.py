"""`RedirectGuard` and `ScopeGuard`: every hop of a request stays in its source's scope.

`RedirectGuard` turns redirect loops and redirects that leave the source's domains into
errors the spider records (Scrapy would drop both silently: the duplicate filter eats
the loop, the off-site filter the redirect). `ScopeGuard` is the same check of a hop
request before it is downloaded; it lives here because it is `RedirectGuard`'s check
(two Scrapy components: the request side runs before robots.txt, the response side
after Scrapy's redirect middleware).
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.exceptions import DeniedRedirect, OffsiteRedirect, RedirectLoop
from crawler.meta import ARTICLE, KIND


class RedirectGuard:
    """Raises `RedirectLoop` / `OffsiteRedirect` / `DeniedRedirect` for redirects.

    Every hop is checked: a 3xx's ``Location`` when the response arrives, and every
    request that is itself a hop (a 3xx or a ``<meta http-equiv=refresh>``: it carries
    ``redirect_urls``) before it is downloaded (`ScopeGuard`). A hop must stay within the source's
    domains and port (`Source.allows_domain`; Scrapy's own off-site check ignores
    ports), and a hop of an article request must still be an article URL of the source
    (``article_urls`` allow/deny, `Source.is_article_url`). Scrapy would drop a loop and
    an off-site hop silently; these become failures the spider records.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectGuard:
        return cls(crawler)

    def check(self, request: Request, target: str) -> None:
        """Raise when ``target``, a hop of ``request``, leaves the source's scope."""
        source = getattr(self.crawler.spider, "source", None)
        if source is None:
            return
        if not source.allows_domain(target):
            raise OffsiteRedirect(f"redirect leaves the source's domains: {target}")
        if request.meta.get(KIND) == ARTICLE and not source.is_article_url(target):
            raise DeniedRedirect(f"redirect to a URL article_urls does not allow: {target}")

    def process_response(self, request: Request, response: Response) -> Response:
        if not 300 <= response.status < 400 or b"Location" not in response.headers:
            return response
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        target = urljoin(request.url, location.strip())
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise RedirectLoop(f"redirect loop: {' -> '.join([*chain, target])}")
        self.check(request, target)
        return response


class ScopeGuard:
    """`RedirectGuard`'s check of every hop request, before robots.txt is asked for it
    (so an off-scope origin is not contacted at all)."""

    def __init__(self, crawler: Crawler) -> None:
        self.guard = RedirectGuard(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScopeGuard:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if request.meta.get("redirect_urls"):
            self.guard.check(request, request.url)
