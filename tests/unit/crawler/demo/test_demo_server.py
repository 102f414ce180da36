"""Unit tests for the loopback `SiteServer` (crawler.demo.server), on small temporary sites."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.demo import DEMO_SITE, SiteServer
from crawler.demo.server import load_routes

Response = tuple[int, http.client.HTTPMessage, bytes]


def fetch(
    srv: SiteServer,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    host: str | None = None,
) -> Response:
    """One request without following redirects: (status, headers, body)."""
    conn = http.client.HTTPConnection(host or srv.host, srv.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "news").mkdir(parents=True)
    (root / "section" / "page" / "2").mkdir(parents=True)
    (root / "index.html").write_text(
        '<html><body><a href="__BASE__/news/a.html">A</a> port=__PORT__</body></html>',
        encoding="utf-8",
    )
    (root / "section" / "index.html").write_text("<p>section</p>", encoding="utf-8")
    (root / "section" / "page" / "2" / "index.html").write_text("<p>p2</p>", encoding="utf-8")
    (root / "news" / "a.html").write_text("<h1>Artikel A</h1>", encoding="utf-8")
    (root / "news" / "then.html").write_text("<h1>Endlich da</h1>", encoding="utf-8")
    (root / "sitemap.xml").write_text(
        "<urlset><url><loc>__BASE__/news/a.html</loc><lastmod>__TODAY__</lastmod></url></urlset>",
        encoding="utf-8",
    )
    (root / "feed.rss").write_text("<rss><pubDate>__TODAY_RFC2822__</pubDate></rss>", "utf-8")
    (root / "feed.atom").write_text("<feed/>", encoding="utf-8")
    (root / "robots.txt").write_text("Sitemap: __BASE__/sitemap.xml\n", encoding="utf-8")
    (root / "data.bin").write_bytes(b"__BASE__\x00\x01")
    (root / "_secret.json").write_text("{}", encoding="utf-8")
    (root / "latin1.html").write_bytes("<p>Stra\xdfe</p>".encode("latin-1"))
    routes = {
        "/moved.html": {"redirect": "/news/a.html", "status": 301},
        "/away": {"redirect": "http://127.0.0.2:__PORT__/x"},
        "/error.html": {"status": 500},
        "/slow.html": {"delay": 0.3, "file": "news/a.html"},
        "/busy.html": {"status": 429, "retry_after": 1, "times": 2, "then_file": "news/then.html"},
        "/report.pdf": {
            "content_type": "application/pdf",
            "body_bytes": 2048,
            "body_prefix": "%PDF",
        },
        "/big.html": {"content_type": "text/html", "body_bytes": 100_000},
        "/gone.html": {"status": 404},
        "/loop-a": {"redirect": "/loop-b"},
        "/loop-b": {"redirect": "/loop-a"},
        "/teapot": {"status": 418, "headers": {"X-Demo": "yes"}},
    }
    (root / "_routes.json").write_text(json.dumps(routes), encoding="utf-8")
    return root


@pytest.fixture
def srv(site: Path) -> Iterator[SiteServer]:
    with SiteServer(site) as server:
        yield server


def test_base_url_and_index_with_placeholders(srv: SiteServer) -> None:
    assert srv.base_url == f"http://127.0.0.1:{srv.port}"
    status, headers, body = fetch(srv, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    text = body.decode()
    assert f'href="{srv.base_url}/news/a.html"' in text
    assert f"port={srv.port}" in text
    assert "__" not in text
    assert int(headers["Content-Length"]) == len(body)


def test_directories_serve_index_and_redirect_without_slash(srv: SiteServer) -> None:
    assert fetch(srv, "/section/")[2] == b"<p>section</p>"
    assert fetch(srv, "/section/page/2/")[2] == b"<p>p2</p>"
    status, headers, _ = fetch(srv, "/section")
    assert status == 301
    assert headers["Location"] == srv.url("/section/")


def test_today_substitution_in_xml_and_rss(srv: SiteServer) -> None:
    today = datetime.now(UTC)
    status, headers, body = fetch(srv, "/sitemap.xml")
    assert status == 200
    assert headers["Content-Type"] == "application/xml"
    assert f"<lastmod>{today:%Y-%m-%d}</lastmod>" in body.decode()
    assert f"<loc>{srv.base_url}/news/a.html</loc>" in body.decode()
    _, headers, body = fetch(srv, "/feed.rss")
    assert headers["Content-Type"] == "application/rss+xml"
    assert today.strftime("%a, %d %b %Y") in body.decode()
    assert fetch(srv, "/feed.atom")[1]["Content-Type"] == "application/atom+xml"
    _, headers, body = fetch(srv, "/robots.txt")
    assert headers["Content-Type"].startswith("text/plain")
    assert body.decode() == f"Sitemap: {srv.base_url}/sitemap.xml\n"


def test_binary_files_are_not_substituted(srv: SiteServer) -> None:
    status, headers, body = fetch(srv, "/data.bin")
    assert status == 200
    assert body == b"__BASE__\x00\x01"
    assert headers["Content-Type"] == "application/octet-stream"


def test_gzip_generated_on_the_fly_from_substituted_file(srv: SiteServer) -> None:
    plain = fetch(srv, "/sitemap.xml")[2]
    status, headers, body = fetch(srv, "/sitemap.xml.gz")
    assert status == 200
    assert headers["Content-Type"] == "application/x-gzip"
    assert gzip.decompress(body) == plain
    assert srv.base_url.encode() in gzip.decompress(body)
    assert fetch(srv, "/missing.xml.gz")[0] == 404


def test_conditional_requests(srv: SiteServer) -> None:
    status, headers, body = fetch(srv, "/news/a.html")
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert status == 200 and etag and last_modified
    status, headers, body = fetch(srv, "/news/a.html", headers={"If-None-Match": etag})
    assert status == 304
    assert body == b""
    assert fetch(srv, "/news/a.html", headers={"If-None-Match": '"other"'})[0] == 200
    assert fetch(srv, "/news/a.html", headers={"If-Modified-Since": last_modified})[0] == 304
    older = email.utils.formatdate(time.time() - 10 * 86400 - 10**8, usegmt=True)
    assert fetch(srv, "/news/a.html", headers={"If-Modified-Since": older})[0] == 200
    # the gzip response has its own validator
    gz_etag = fetch(srv, "/sitemap.xml.gz")[1]["ETag"]
    assert gz_etag != fetch(srv, "/sitemap.xml")[1]["ETag"]
    assert fetch(srv, "/sitemap.xml.gz", headers={"If-None-Match": gz_etag})[0] == 304


def test_routes_redirects(srv: SiteServer) -> None:
    status, headers, _ = fetch(srv, "/moved.html")
    assert (status, headers["Location"]) == (301, "/news/a.html")
    status, headers, _ = fetch(srv, "/away")
    assert (status, headers["Location"]) == (302, f"http://127.0.0.2:{srv.port}/x")
    assert fetch(srv, "/loop-a")[1]["Location"] == "/loop-b"
    assert fetch(srv, "/loop-b")[1]["Location"] == "/loop-a"


def test_routes_statuses_and_headers(srv: SiteServer) -> None:
    assert fetch(srv, "/error.html")[0] == 500
    assert fetch(srv, "/gone.html")[0] == 404
    status, headers, _ = fetch(srv, "/teapot")
    assert (status, headers["X-Demo"]) == (418, "yes")
    assert fetch(srv, "/nowhere.html")[0] == 404


def test_route_delay(srv: SiteServer) -> None:
    start = time.monotonic()
    status, _, body = fetch(srv, "/slow.html")
    assert time.monotonic() - start >= 0.3
    assert (status, body) == (200, b"<h1>Artikel A</h1>")


def test_route_times_then_file(srv: SiteServer) -> None:
    for _ in range(2):
        status, headers, _ = fetch(srv, "/busy.html")
        assert (status, headers["Retry-After"]) == (429, "1")
    status, headers, body = fetch(srv, "/busy.html")
    assert (status, body) == (200, b"<h1>Endlich da</h1>")
    assert "Retry-After" not in headers
    srv.reset()
    assert fetch(srv, "/busy.html")[0] == 429


def test_route_body_bytes(srv: SiteServer) -> None:
    status, headers, body = fetch(srv, "/report.pdf")
    assert (status, headers["Content-Type"], len(body)) == (200, "application/pdf", 2048)
    assert body.startswith(b"%PDF")
    status, headers, body = fetch(srv, "/big.html")
    assert (headers["Content-Type"], len(body)) == ("text/html", 100_000)
    assert int(headers["Content-Length"]) == 100_000


def test_head_has_headers_but_no_body(srv: SiteServer) -> None:
    status, headers, body = fetch(srv, "/news/a.html", method="HEAD")
    assert status == 200
    assert body == b""
    assert int(headers["Content-Length"]) == len(b"<h1>Artikel A</h1>")


def test_hidden_files_and_traversal_are_not_served(srv: SiteServer) -> None:
    assert fetch(srv, "/_routes.json")[0] == 404
    assert fetch(srv, "/_secret.json")[0] == 404
    assert fetch(srv, "/../site/index.html")[0] == 404
    assert fetch(srv, "/news/%2e%2e/%2e%2e/etc/passwd")[0] == 404


def test_records_requests(srv: SiteServer) -> None:
    fetch(srv, "/news/a.html?utm_source=x")
    fetch(srv, "/error.html")
    fetch(srv, "/moved.html", method="HEAD")
    assert srv.requests == [
        ("GET", "/news/a.html?utm_source=x", 200),
        ("GET", "/error.html", 500),
        ("HEAD", "/moved.html", 301),
    ]
    assert srv.requested_paths()[0] == "/news/a.html?utm_source=x"
    srv.clear_requests()
    assert srv.requests == []


def test_offsite_listener_records_but_serves_nothing(srv: SiteServer) -> None:
    if srv.offsite_base_url is None:
        pytest.skip("127.0.0.2 is not available on this machine")
    assert srv.offsite_base_url == f"http://127.0.0.2:{srv.port}"
    status, _, _ = fetch(srv, "/index.html", host="127.0.0.2")
    assert status == 404
    assert srv.offsite_requests == [("GET", "/index.html", 404)]
    assert srv.requests == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "8.8.8.8", "example.com", "", "::"])
def test_refuses_non_loopback_hosts(site: Path, host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SiteServer(site, host=host)


def test_refuses_non_loopback_offsite_host(site: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SiteServer(site, offsite_host="10.0.0.1")


def test_start_stop_lifecycle(site: Path) -> None:
    server = SiteServer(site, offsite_host=None)
    with pytest.raises(RuntimeError):
        _ = server.base_url
    server.start()
    try:
        assert server.start() is server
        assert fetch(server, "/")[0] == 200
        assert server.offsite_base_url is None
    finally:
        server.stop()
    server.stop()
    with pytest.raises(ConnectionError):
        http.client.HTTPConnection("127.0.0.1", server._port, timeout=2).request("GET", "/")


def test_bad_routes_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "_routes.json").write_text('{"/x": {"stauts": 500}}', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown keys"):
        load_routes(tmp_path)
    (tmp_path / "_routes.json").write_text('{"/x": {"times": 1}}', encoding="utf-8")
    with pytest.raises(ValueError, match="go together"):
        load_routes(tmp_path)


def test_an_overlay_adds_files_and_routes_and_replaces_the_roots_files(
    site: Path, tmp_path: Path
) -> None:
    overlay = tmp_path / "overlay"
    (overlay / "extra").mkdir(parents=True)
    (overlay / "section").mkdir()
    (overlay / "extra" / "index.html").write_text("<p>extra __PORT__</p>", encoding="utf-8")
    (overlay / "section" / "b.html").write_text("<p>b</p>", encoding="utf-8")
    (overlay / "robots.txt").write_text("Disallow: /x\n", encoding="utf-8")
    (overlay / "more.xml").write_text("<urlset>__BASE__</urlset>", encoding="utf-8")
    routes = {"/gone.html": {"status": 410}, "/new-route": {"redirect": "/extra/"}}
    (overlay / "_routes.json").write_text(json.dumps(routes), encoding="utf-8")
    with SiteServer(site, overlay=overlay) as srv:
        assert srv.roots == (overlay.resolve(), site.resolve())
        status, _, body = fetch(srv, "/extra/")
        assert (status, body) == (200, f"<p>extra {srv.port}</p>".encode())
        assert fetch(srv, "/extra")[0] == 301
        assert fetch(srv, "/section/b.html")[2] == b"<p>b</p>"
        assert fetch(srv, "/section/")[2] == b"<p>section</p>"  # the root's, in a shared folder
        assert fetch(srv, "/news/a.html")[2] == b"<h1>Artikel A</h1>"
        assert fetch(srv, "/robots.txt")[2] == b"Disallow: /x\n"
        assert (
            gzip.decompress(fetch(srv, "/more.xml.gz")[2])
            == f"<urlset>{srv.base_url}</urlset>".encode()
        )
        assert fetch(srv, "/gone.html")[0] == 410  # the overlay's route wins
        assert fetch(srv, "/error.html")[0] == 500  # the root's routes stay
        assert fetch(srv, "/new-route")[1]["Location"] == "/extra/"
        assert fetch(srv, "/_routes.json")[0] == 404
        assert fetch(srv, "/../overlay/more.xml")[0] == 404
        assert srv.find("/section/b.html") == overlay.resolve() / "section" / "b.html"
        assert srv.find("/news/a.html") == site.resolve() / "news" / "a.html"
        assert srv.find("/nothing.html") is None
    with pytest.raises(ValueError, match="not a directory"):
        SiteServer(site, overlay=tmp_path / "missing")


def test_demo_site_is_bundled() -> None:
    assert (DEMO_SITE / "index.html").is_file()
    assert (DEMO_SITE / "robots.txt").is_file()
    assert (DEMO_SITE / "_expected.json").is_file()


def test_last_modified_is_not_older_than_today_for_dated_bodies(srv: SiteServer) -> None:
    """A file using __TODAY__ changes at midnight UTC, so its Last-Modified is at least today."""
    old = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    sitemap = srv.root / "sitemap.xml"
    os.utime(sitemap, (old, old))
    os.utime(srv.root / "news" / "a.html", (old, old))
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    dated = email.utils.parsedate_to_datetime(fetch(srv, "/sitemap.xml")[1]["Last-Modified"])
    plain = email.utils.parsedate_to_datetime(fetch(srv, "/news/a.html")[1]["Last-Modified"])
    assert dated >= midnight
    assert plain.year == 2020


def test_internal_errors_answer_500_quietly(
    srv: SiteServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = fetch(srv, "/latin1.html")  # not UTF-8: substitution fails
    assert status == 500
    assert srv.requests == [("GET", "/latin1.html", 500)]
    assert "demo server failed" in caplog.text
    assert capsys.readouterr().err == ""
