"""One crawl, one database engine: its components share the crawl's `CrawlDatabase`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.utils.test import get_crawler

import crawler.settings as project
from crawler.crawldb import CrawlDatabase
from crawler.extensions.ledger import CrawlLedger
from crawler.middlewares.conditional import ConditionalRequests
from crawler.middlewares.stored_urls import StoredUrlBatchFilter, StoredUrlFilter
from crawler.pipelines.store import StorePipeline


def test_the_components_of_a_crawl_share_one_database_and_two_crawls_do_not(
    tmp_path: Path,
) -> None:
    settings = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    settings |= {"NEWSINGEST_DATABASE_URL": "postgresql://unused", "NEWSINGEST_DATA_DIR": tmp_path}
    one, other = get_crawler(settings_dict=settings), get_crawler(settings_dict=settings)
    components: list[Any] = [
        StoredUrlBatchFilter.from_crawler(one),
        StoredUrlFilter.from_crawler(one),
        ConditionalRequests.from_crawler(one),
        StorePipeline.from_crawler(one),
        CrawlLedger.from_crawler(one),
    ]
    databases = {id(c.database) for c in components}
    assert databases == {id(CrawlDatabase.of(one))}
    assert CrawlDatabase.of(other) is not CrawlDatabase.of(one)
