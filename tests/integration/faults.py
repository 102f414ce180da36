"""A fault server for crawl tests: raw sockets on 127.0.0.1 (port 0) that misbehave on purpose.

Paths and what the server does:

* ``/`` a listing page linking to every fault below (plus one good article).
* ``/ok.html`` a good article; ``/robots.txt`` 404.
* ``/reset.html`` reads the request, then closes with a TCP reset (``SO_LINGER`` 0).
* ``/empty.html`` reads the request, then closes without a byte.
* ``/truncated.html`` sends ``Content-Length: 50000`` and 300 bytes, then closes.
* ``/stall.html`` reads the request and never answers (until the server stops).
* ``/garbage.html`` answers with bytes that are not HTTP.
* ``/loop-1.html`` and ``/loop-2.html`` redirect to each other.
* a TLS ClientHello on the port (``https://127.0.0.1:PORT/tls.html``) gets a plain-HTTP answer.

`LoopbackOnlyResolver` is a Scrapy DNS resolver (``TWISTED_DNS_RESOLVER``) that resolves IP
literals and ``localhost`` only and fails every other name with a DNS lookup error, without
any query leaving the machine: the crawl of ``http://dns-fail.localhost:PORT/`` meets a real
`DNSLookupError` in Scrapy's downloader.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

logger = logging.getLogger(__name__)

FAULT_PATHS = (
    "/reset.html",
    "/empty.html",
    "/truncated.html",
    "/stall.html",
    "/garbage.html",
    "/loop-1.html",
)

REQUEST_READ_TIMEOUT = 60.0
"""Seconds the server waits for a request's bytes (a busy client is slow, not faulty)."""

GOOD_ARTICLE = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Harbour strike ends"
    "</title></head><body><article><h1>Harbour strike ends</h1>"
    + "".join(
        f"<p>Paragraph {i}: the dock workers of pier {i} ended their strike on Monday after "
        f"the port authority agreed to contract number {i * 17} with higher wages, shorter "
        f"shifts and {i + 3} more days of leave for everyone working the night cranes.</p>"
        for i in range(10)
    )
    + "</article></body></html>"
).encode()


class LoopbackOnlyResolver(CachingThreadedResolver):
    """Resolves IP literals and ``localhost``; every other name fails (no DNS traffic)."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Any:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            if name != "localhost":
                logger.warning("loopback-only resolver: refusing to resolve %s", name)
                return defer.fail(DNSLookupError(f"{name}: no such host (loopback-only resolver)"))
        return super().getHostByName(name, timeout)


def _response(status: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    head = [f"HTTP/1.1 {status}", "Connection: close", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class FaultServer:
    """Serve the faults above on ``127.0.0.1:port`` from a background thread."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="FaultServer", daemon=True)
        self._lock = threading.Lock()
        self.requests: list[str] = []
        """Request paths in order (``<tls>`` for a TLS handshake)."""
        self.arrivals: list[tuple[float, str]] = []
        """``(time.monotonic(), path)`` of each request, in order."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def listing(self) -> bytes:
        links = [*FAULT_PATHS, "/ok.html"]
        # first: a host no URL parser accepts (a name ending in a number); the links
        # after it are still fetched
        urls = [f"http://bad.127.0.0.1:{self.port}/invalid.html"]
        urls += [self.base_url + p for p in links] + [f"https://127.0.0.1:{self.port}/tls.html"]
        items = "".join(f"<li><a href='{u}'>{u}</a></li>" for u in urls)
        return f"<!DOCTYPE html><html><body><ul>{items}</ul></body></html>".encode()

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket) -> bytes:
        # A crawler starved of CPU may connect seconds before it writes its request
        # (on a loaded machine, 5 s here turned a reset into an empty request's 404).
        conn.settimeout(REQUEST_READ_TIMEOUT)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            try:
                chunk = conn.recv(4096)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            data += chunk
            if data[:1] == b"\x16":  # a TLS ClientHello: no CRLFs will come
                break
        return data

    def _handle(self, conn: socket.socket) -> None:
        try:
            self._answer(conn)
        except OSError as exc:
            logger.debug("fault server connection error: %s", exc)
        finally:
            conn.close()

    def _answer(self, conn: socket.socket) -> None:
        data = self._read_request(conn)
        if data[:1] == b"\x16":
            self._log("<tls>")
            conn.sendall(_response("400 Bad Request", b"plain HTTP here"))
            return
        parts = data.split(b"\r\n", 1)[0].split(b" ")
        path = parts[1].decode("latin-1") if len(parts) >= 2 else "?"
        self._log(path)
        if path == "/":
            conn.sendall(_response("200 OK", self.listing(), {"Content-Type": "text/html"}))
        elif path == "/ok.html":
            conn.sendall(
                _response("200 OK", GOOD_ARTICLE, {"Content-Type": "text/html; charset=utf-8"})
            )
        elif path == "/reset.html":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif path == "/empty.html":
            pass
        elif path == "/truncated.html":
            head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 50000\r\n\r\n"
            conn.sendall(head.encode() + GOOD_ARTICLE[:300])
        elif path == "/stall.html":
            self._stop.wait(60)
        elif path == "/garbage.html":
            conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 not http at all\r\n\r\n")
        elif path in ("/loop-1.html", "/loop-2.html"):
            other = "/loop-2.html" if path == "/loop-1.html" else "/loop-1.html"
            conn.sendall(_response("302 Found", b"", {"Location": self.base_url + other}))
        else:
            conn.sendall(_response("404 Not Found", b"not found", {"Content-Type": "text/plain"}))

    def _log(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)
            self.arrivals.append((time.monotonic(), path))
