"""The HTTP download handler keeps room in its pool for every connection it opens."""

from __future__ import annotations

import subprocess
import sys

# The handler needs an installed reactor: built in a fresh interpreter, so this test
# process keeps none.
_BUILD = """
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from scrapy.utils.test import get_crawler
from crawler.fetch.handlers import KeepAliveHTTPHandler
crawler = get_crawler(settings_dict={"CONCURRENT_REQUESTS_PER_DOMAIN": 4})
print(KeepAliveHTTPHandler.from_crawler(crawler)._pool.maxPersistentPerHost)
"""


def test_the_pool_keeps_twice_the_per_domain_concurrency_idle() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _BUILD], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "8"


# Two downloads at a time from one host, twice, with the project's settings and one
# request per domain: prints how many connections the server saw.
_KEEPALIVE = """
import asyncio, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ports = []

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        ports.append(self.client_address[1])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()

from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from scrapy import Request, Spider
from scrapy.core.downloader.handlers import DownloadHandlers
from scrapy.utils.test import get_crawler
from twisted.internet import reactor
from twisted.internet.defer import Deferred
import crawler.settings as project

settings = {k: getattr(project, k) for k in dir(project) if k.isupper()}
if sys.argv[1:] == ["scrapy-default"]:
    del settings["DOWNLOAD_HANDLERS"]
settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = 1

class Probe(Spider):
    name = "probe"

crawler = get_crawler(Probe, settings_dict=settings)
crawler.spider = Probe.from_crawler(crawler)
handlers = DownloadHandlers(crawler)
url = f"http://127.0.0.1:{server.server_address[1]}/"

async def main():
    for round_ in range(2):
        pages = [Request(f"{url}{round_}/{n}") for n in range(2)]
        await asyncio.gather(*(handlers.download_request_async(p) for p in pages))

def run():
    done = Deferred.fromFuture(asyncio.ensure_future(main()))
    done.addErrback(lambda failure: print(failure, file=sys.stderr))
    done.addBoth(lambda _: reactor.stop())

reactor.callWhenRunning(run)
reactor.run()
print(len(set(ports)))
"""


def _connections(*args: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _KEEPALIVE, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip(), out.stderr
    return int(out.stdout)


def test_the_project_keeps_every_connection_a_download_slot_opened() -> None:
    # Scrapy's own handler keeps one idle connection per request slot: the second pair
    # of downloads opens a new connection; the project's handler keeps both
    assert _connections() == 2
    assert _connections("scrapy-default") == 3
