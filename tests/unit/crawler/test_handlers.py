"""The HTTP download handler keeps room in its pool for every connection it opens."""

from __future__ import annotations

import subprocess
import sys

from crawler import settings as project_settings

# The handler needs an installed reactor: built in a fresh interpreter, so this test
# process keeps none.
_BUILD = """
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from scrapy.utils.test import get_crawler
from crawler.handlers import KeepAliveHTTPHandler
crawler = get_crawler(settings_dict={"CONCURRENT_REQUESTS_PER_DOMAIN": 4})
print(KeepAliveHTTPHandler.from_crawler(crawler)._pool.maxPersistentPerHost)
"""


def test_the_pool_keeps_twice_the_per_domain_concurrency_idle() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _BUILD], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "8"


def test_the_project_downloads_http_and_https_with_it() -> None:
    path = "crawler.handlers.KeepAliveHTTPHandler"
    assert {"http": path, "https": path} == project_settings.DOWNLOAD_HANDLERS
