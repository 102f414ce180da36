"""Politeness as a site sees it: a crawl never has more requests (or connections) open at
once against one site than ``CONCURRENT_REQUESTS_PER_DOMAIN``, counted by the server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Article
from tests.integration.conftest import Cli, write_sources
from tests.integration.reliability.conftest import article_html

ARTICLES = 40
DELAY = 0.4
"""Seconds each article takes to answer: long enough for requests to overlap."""


@dataclass
class Counter:
    """Peak number of requests being answered, and of connections open, at once."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    connections: int = 0
    peak_requests: int = 0
    peak_connections: int = 0
    articles_served: int = 0

    def change(self, *, requests: int = 0, connections: int = 0) -> None:
        with self.lock:
            self.requests += requests
            self.connections += connections
            self.peak_requests = max(self.peak_requests, self.requests)
            self.peak_connections = max(self.peak_connections, self.connections)


class _CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real sites
    counter: Counter

    def setup(self) -> None:
        super().setup()
        self.counter.change(connections=1)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.counter.change(connections=-1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.counter.change(requests=1)
        try:
            if self.path == "/robots.txt":
                body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
            elif self.path == "/":
                links = "".join(
                    f"<li><a href='/news/story-{i}.html'>Story {i}</a></li>"
                    for i in range(ARTICLES)
                )
                body, ctype = (
                    f"<!DOCTYPE html><html><body><ul>{links}</ul></body></html>".encode(),
                    "text/html",
                )
            elif self.path.startswith("/news/story-"):
                time.sleep(DELAY)
                i = int(self.path.removeprefix("/news/story-").removesuffix(".html"))
                today = time.strftime("%Y-%m-%d", time.gmtime())
                body = article_html(i).replace("__TODAY__", today).encode()
                ctype = "text/html; charset=utf-8"
                with self.counter.lock:
                    self.counter.articles_served += 1
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            self.counter.change(requests=-1)


@pytest.fixture
def counting_site() -> Iterator[tuple[str, Counter]]:
    counter = Counter()
    handler = type("Handler", (_CountingHandler,), {"counter": counter})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", counter
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("limit", [1, 4])
def test_requests_and_connections_to_a_site_never_exceed_the_per_domain_limit(
    limit: int,
    cli: Cli,
    counting_site: tuple[str, Counter],
    tmp_path: Path,
    sessions: sessionmaker[Session],
) -> None:
    base_url, counter = counting_site
    sources = write_sources(tmp_path / "sources.yaml", base_url, listings="[/]", listing_depth=0)
    result = cli.run(
        "crawl", "site", "--sources", str(sources),
        "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "DOWNLOAD_DELAY=0",
        "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={limit}",
        "-s", "NEWSINGEST_EXTRACT_WORKERS=1",
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with sessions() as session:
        stored = session.execute(select(func.count()).select_from(Article)).scalar_one()
    assert counter.articles_served == stored == ARTICLES  # every article fetched once
    assert counter.peak_requests == limit  # the limit is used, and never exceeded
    assert counter.peak_connections <= limit
