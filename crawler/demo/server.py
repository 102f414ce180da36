"""A small loopback-only HTTP server for the bundled demo site (and the tests' site over it).

Standard library only (``http.server`` + ``threading``): no Scrapy, no database. It serves the
files under a site root and adds what a crawler needs to be exercised on a realistic site:

* ``/`` and directory paths serve ``index.html``; a directory path without its trailing slash
  is answered with a 301 to the slashed path, as common web servers do.
* Placeholders in text files (``.html .xml .txt .rss .atom .json``) are substituted per
  request: ``__BASE__`` (``http://127.0.0.1:PORT``), ``__PORT__``, ``__TODAY__`` (UTC date,
  ``YYYY-MM-DD``) and ``__TODAY_RFC2822__`` (UTC date as ``Tue, 24 Nov 2026`` for RSS).
* A request for ``X.gz`` where only ``X`` exists is answered with the gzip of the substituted
  ``X`` (``application/x-gzip``), so gzip sitemaps carry absolute URLs too.
* Conditional requests: ``ETag`` (hash of the body) and ``Last-Modified`` (file mtime);
  ``If-None-Match`` / ``If-Modified-Since`` give 304.
* Special behaviours are data, read from ``_routes.json`` in the site root (see `Route`).
  Paths with a segment starting with ``_`` (``_routes.json``, ``_expected.json``) are not served.
* An ``overlay`` folder adds files to the site (and may replace some): a path is looked up
  in the overlay first, then in the root, and the overlay's ``_routes.json`` entries are
  added to the root's. The integration tests serve the demo site with their faults and
  extra pages this way, so the site exists once.

It binds to loopback addresses only. By default it also listens on ``127.0.0.2`` (same port)
as an "off-site" host that answers 404 to everything but records what reached it
(`SiteServer.offsite_requests`), so tests can prove that off-site links were never followed.

Longer than ~400 lines on purpose: one request handler whose branches are the site's
behaviours (redirects, faults, slow and conditional responses); apart they would
share its state through parameters.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import ipaddress
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

TEXT_EXTENSIONS = frozenset({".html", ".htm", ".xml", ".txt", ".rss", ".atom", ".json"})
"""Extensions whose files get placeholder substitution."""

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".gz": "application/x-gzip",
    ".pdf": "application/pdf",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}
"""Content type by file extension; anything else is ``application/octet-stream``."""

ROUTES_FILE = "_routes.json"
FILLER = b"newsingest filler "

RequestRecord = tuple[str, str, int]
"""``(method, path_with_query, status)`` of one answered request."""


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True, slots=True)
class Route:
    """A special behaviour for one path, as written in ``_routes.json``.

    Keys (all optional): ``status`` (default 200, or 302 with ``redirect``), ``redirect``
    (Location, placeholders substituted), ``delay`` (seconds before answering), ``file``
    (serve this file, relative to the site root), ``body_bytes`` (serve that many filler
    bytes), ``body_prefix`` (text the filler starts with), ``content_type``,
    ``retry_after`` (Retry-After header), ``headers`` (extra headers), ``times`` with
    ``then_file`` (behave like this for the first N requests, then serve ``then_file``).
    """

    status: int | None = None
    redirect: str | None = None
    delay: float = 0.0
    file: str | None = None
    body_bytes: int | None = None
    body_prefix: str = ""
    content_type: str | None = None
    retry_after: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    times: int | None = None
    then_file: str | None = None

    @classmethod
    def from_json(cls, path: str, data: dict[str, Any]) -> Route:
        """Validate one entry of ``_routes.json``; raise ValueError on unknown keys."""
        known = set(cls.__slots__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{ROUTES_FILE}: {path}: unknown keys {sorted(unknown)}")
        headers = tuple((str(k), str(v)) for k, v in dict(data.get("headers", {})).items())
        times = data.get("times")
        then_file = data.get("then_file")
        if (times is None) != (then_file is None):
            raise ValueError(f"{ROUTES_FILE}: {path}: 'times' and 'then_file' go together")
        return cls(
            status=None if data.get("status") is None else int(data["status"]),
            redirect=data.get("redirect"),
            delay=float(data.get("delay", 0.0)),
            file=data.get("file"),
            body_bytes=None if data.get("body_bytes") is None else int(data["body_bytes"]),
            body_prefix=str(data.get("body_prefix", "")),
            content_type=data.get("content_type"),
            retry_after=None if data.get("retry_after") is None else int(data["retry_after"]),
            headers=headers,
            times=None if times is None else int(times),
            then_file=then_file,
        )


def load_routes(root: Path) -> dict[str, Route]:
    """Read ``_routes.json`` from a site root; an absent file means no special routes."""
    path = root / ROUTES_FILE
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected an object mapping paths to behaviours")
    return {str(k): Route.from_json(str(k), dict(v)) for k, v in raw.items()}


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    last_modified: float | None = None
    conditional: bool = False


class _Handler(BaseHTTPRequestHandler):
    """Answers one connection for a `SiteServer` (set as class attribute by a subclass)."""

    site: ClassVar[SiteServer]
    offsite: ClassVar[bool] = False
    protocol_version = "HTTP/1.1"
    server_version = "newsingest-demo/1"
    timeout = 10

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        status = int(code) if isinstance(code, int) or str(code).isdigit() else 0
        self.site._record(self.offsite, (self.command or "", self.path, status))
        logger.debug("%s %s %s -> %s", self.address_string(), self.command, self.path, code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _answer(self, *, send_body: bool) -> None:
        try:
            response = self.site._not_found() if self.offsite else self.site._respond(self.path)
        except Exception:
            logger.exception("demo server failed on %s", self.path)
            response = _Response(500, self.site._status_page(500), CONTENT_TYPES[".html"])
        status = response.status
        body = response.body
        etag: str | None = None
        if response.conditional and status == 200:
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            if self._not_modified(etag, response.last_modified):
                status, body = 304, b""
        self.send_response(status)
        if response.content_type and status != 304:
            self.send_header("Content-Type", response.content_type)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        if response.last_modified is not None and response.conditional:
            lm = email.utils.formatdate(response.last_modified, usegmt=True)
            self.send_header("Last-Modified", lm)
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if send_body and body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                logger.debug("client went away during %s", self.path)

    def _not_modified(self, etag: str, last_modified: float | None) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip() for t in inm.split(",")}
            return "*" in tags or etag in tags or f"W/{etag}" in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is not None and last_modified is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            return int(last_modified) <= since.timestamp()
        return False


class _QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that logs connection errors instead of printing them."""

    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


class SiteServer:
    """Serve a site folder on a loopback address, in a background thread.

    Use as a context manager (``with SiteServer(root) as srv: ... srv.base_url``) or call
    `start` and `stop`. ``port=0`` picks a free port. With ``site_url`` the pages name
    that address instead of ``http://127.0.0.1:PORT`` and the server answers
    proxy-style requests (``GET http://name/path``) for it, so crawling through it as
    an HTTP proxy gives the same URLs whatever its port. `requests` lists every answered request
    as ``(method, path_with_query, status)``, in order.
    """

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        offsite_host: str | None = "127.0.0.2",
        site_url: str | None = None,
        overlay: Path | None = None,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"SiteServer binds to loopback addresses only, not {host!r}")
        if offsite_host is not None and not _is_loopback(offsite_host):
            raise ValueError(f"offsite_host must be a loopback address, not {offsite_host!r}")
        self.root = Path(root).resolve()
        self.overlay = None if overlay is None else Path(overlay).resolve()
        for folder in (self.root, self.overlay):
            if folder is not None and not folder.is_dir():
                raise ValueError(f"site root {folder} is not a directory")
        self.host = host
        self._port = port
        self.offsite_host = offsite_host if offsite_host != host else None
        self.routes = {k: v for folder in self.roots[::-1] for k, v in load_routes(folder).items()}
        self._site_url = site_url.rstrip("/") if site_url else None
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._offsite_requests: list[RequestRecord] = []
        self._route_hits: dict[str, int] = {}
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> SiteServer:
        """Bind and start serving; returns self. Idempotent."""
        if self._servers:
            return self
        main = self._make_server(self.host, self._port, offsite=False)
        self._port = int(main.server_address[1])
        self._servers.append(main)
        if self.offsite_host is not None:
            try:
                self._servers.append(self._make_server(self.offsite_host, self._port, offsite=True))
            except OSError as exc:
                logger.info("off-site listener on %s not started: %s", self.offsite_host, exc)
        for srv in self._servers:
            thread = threading.Thread(
                target=srv.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"SiteServer-{self._port}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        logger.info("serving %s at %s", self.root, self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and close the sockets. Idempotent."""
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _make_server(self, host: str, port: int, *, offsite: bool) -> ThreadingHTTPServer:
        handler = type("SiteHandler", (_Handler,), {"site": self, "offsite": offsite})
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_cls = type("SiteHTTPServer", (_QuietServer,), {"address_family": family})
        server: ThreadingHTTPServer = server_cls((host, port), handler)
        return server

    # -- public state --------------------------------------------------------------------

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders a path is looked up in, in order: the overlay (if any), the root."""
        return (self.root,) if self.overlay is None else (self.overlay, self.root)

    def find(self, path: str) -> Path | None:
        """The file or folder a site path (``/news/x.html``) names, the overlay's first;
        None when neither has it or the path leaves the site."""
        parts = [p for p in path.split("/") if p]
        for folder in self.roots:
            target = folder.joinpath(*parts)
            if not target.resolve().is_relative_to(folder):
                return None
            if target.exists():
                return target
        return None

    @property
    def port(self) -> int:
        """The bound port (after `start`)."""
        if not self._servers:
            raise RuntimeError("SiteServer is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` without a trailing slash."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def offsite_base_url(self) -> str | None:
        """``http://127.0.0.2:PORT`` when the off-site listener runs, else None."""
        if self.offsite_host is None or len(self._servers) < 2:
            return None
        return f"http://{_url_host(self.offsite_host)}:{self.port}"

    @property
    def site_url(self) -> str:
        """The site's own address in its pages (``__BASE__``): ``site_url`` when given
        (a stable name the server is reached at as an HTTP proxy, so its URLs do not
        change with the port), else `base_url`."""
        return self._site_url or self.base_url

    def url(self, path: str) -> str:
        """Absolute URL of a site path (``/news/x.html``)."""
        return self.site_url + (path if path.startswith("/") else "/" + path)

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the answered requests, in order: ``(method, path_with_query, status)``."""
        with self._lock:
            return list(self._requests)

    @property
    def offsite_requests(self) -> list[RequestRecord]:
        """Requests that reached the off-site host (should stay empty in polite crawls)."""
        with self._lock:
            return list(self._offsite_requests)

    def requested_paths(self) -> list[str]:
        """Paths (with query) of all answered requests, in order."""
        return [path for _, path, _ in self.requests]

    def clear_requests(self) -> None:
        """Forget recorded requests (on- and off-site)."""
        with self._lock:
            self._requests.clear()
            self._offsite_requests.clear()

    def reset(self) -> None:
        """Forget recorded requests and restart the ``times`` counters of all routes."""
        with self._lock:
            self._requests.clear()
            self._offsite_requests.clear()
            self._route_hits.clear()

    def _record(self, offsite: bool, record: RequestRecord) -> None:
        with self._lock:
            (self._offsite_requests if offsite else self._requests).append(record)

    # -- content -------------------------------------------------------------------------

    def substitute(self, text: str) -> str:
        """Replace the placeholders in a text body."""
        today = datetime.now(UTC)
        return (
            text.replace("__BASE__", self.site_url)
            .replace("__PORT__", str(self.port))
            .replace("__TODAY_RFC2822__", today.strftime("%a, %d %b %Y"))
            .replace("__TODAY__", today.strftime("%Y-%m-%d"))
        )

    def _respond(self, raw_path: str) -> _Response:
        path = unquote(urlsplit(raw_path).path) or "/"
        route = self.routes.get(path)
        if route is not None:
            return self._route_response(path, route)
        return self._static(path)

    def _route_response(self, path: str, route: Route) -> _Response:
        if route.times is not None and route.then_file is not None:
            with self._lock:
                hits = self._route_hits.get(path, 0)
                self._route_hits[path] = hits + 1
            if hits >= route.times:
                return self._file_response(route.then_file)
        if route.delay > 0:
            time.sleep(route.delay)
        headers = list(route.headers)
        if route.retry_after is not None:
            headers.append(("Retry-After", str(route.retry_after)))
        if route.redirect is not None:
            headers.append(("Location", self.substitute(route.redirect)))
            status = route.status or 302
            return _Response(
                status, self._status_page(status), CONTENT_TYPES[".html"], tuple(headers)
            )
        if route.body_bytes is not None:
            body = self._filler(route.body_prefix.encode("utf-8"), route.body_bytes)
            ctype = route.content_type or "application/octet-stream"
            return _Response(route.status or 200, body, ctype, tuple(headers), conditional=True)
        if route.file is not None:
            base = self._file_response(route.file)
            return _Response(
                route.status or base.status,
                base.body,
                route.content_type or base.content_type,
                base.headers + tuple(headers),
                base.last_modified,
                conditional=base.conditional and (route.status or 200) == 200,
            )
        status = route.status or 200
        return _Response(
            status,
            self._status_page(status),
            route.content_type or CONTENT_TYPES[".html"],
            tuple(headers),
        )

    def _file_response(self, rel: str) -> _Response:
        target = self.find(rel)
        if target is None or not target.is_file():
            logger.warning("route names a missing file: %s", rel)
            return self._not_found()
        return self._serve_file(target)

    def _static(self, path: str) -> _Response:
        parts = [p for p in path.split("/") if p]
        if any(p.startswith((".", "_")) for p in parts):
            return self._not_found()
        target = self.find(path)
        if target is not None and target.is_dir():
            if not path.endswith("/"):
                location = self.base_url + path + "/"
                return _Response(
                    301, self._status_page(301), CONTENT_TYPES[".html"], (("Location", location),)
                )
            target = self.find(path + "index.html")
        if target is not None and target.is_file():
            return self._serve_file(target)
        if path.endswith(".gz"):
            source = self.find(path.removesuffix(".gz"))
            if source is not None and source.is_file() and not source.name.startswith((".", "_")):
                plain = self._serve_file(source)
                body = gzip.compress(plain.body, mtime=0)
                return _Response(
                    200, body, CONTENT_TYPES[".gz"], (), plain.last_modified, conditional=True
                )
        return self._not_found()

    def _serve_file(self, target: Path) -> _Response:
        suffix = target.suffix.lower()
        body = target.read_bytes()
        last_modified = target.stat().st_mtime
        if suffix in TEXT_EXTENSIONS:
            if b"__TODAY" in body:
                # the body changes at midnight UTC even though the file does not
                midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
                last_modified = max(last_modified, midnight.timestamp())
            body = self.substitute(body.decode("utf-8")).encode("utf-8")
        ctype = CONTENT_TYPES.get(suffix, "application/octet-stream")
        return _Response(200, body, ctype, (), last_modified, conditional=True)

    def _not_found(self) -> _Response:
        return _Response(404, self._status_page(404), CONTENT_TYPES[".html"])

    @staticmethod
    def _status_page(status: int) -> bytes:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Status"
        return (
            f"<!DOCTYPE html><html><head><title>{status} {phrase}</title></head>"
            f"<body><h1>{status} {phrase}</h1></body></html>\n"
        ).encode()

    @staticmethod
    def _filler(prefix: bytes, size: int) -> bytes:
        if size <= len(prefix):
            return prefix[:size]
        rest = size - len(prefix)
        return prefix + (FILLER * (rest // len(FILLER) + 1))[:rest]
