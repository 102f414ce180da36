"""Running crawls in this process: the one place that builds Scrapy crawlers.

`crawl_settings` is the project's Scrapy settings with an invocation's values on top;
`new_process` the `CrawlerProcess` (reactor installed, malloc tuned); `make_crawler` a
crawler for a `CrawlJob`, which learns its run's outcome from the ledger's
``run_closed`` signal; `run_crawls` runs jobs a few at a time and says how each ended.
``newsingest crawl``, ``demo``, ``worker`` and ``warc`` use them and only parse
arguments and print.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler import stats as stat
from crawler.config import Config
from crawler.validation import check_settings

if TYPE_CHECKING:
    from pathlib import Path

    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

logger = logging.getLogger(__name__)


def crawl_settings(
    cfg: Config,
    sources_path: Path,
    *,
    database_url: str,
    log_level: str,
    trigger: str = "cli",
    refresh: bool = False,
    max_articles: int = 0,
    progress: bool = False,
    extra_settings: dict[str, Any] | None = None,
) -> Settings:
    """The project's Scrapy settings with this invocation's values on top."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(
        {
            "NEWSINGEST_DATABASE_URL": database_url,
            "NEWSINGEST_DATA_DIR": str(cfg.data_dir),
            "NEWSINGEST_SOURCES": str(sources_path),
            "NEWSINGEST_TRIGGER": trigger,
            "NEWSINGEST_AUTO_MIGRATE": False,
            "NEWSINGEST_REFRESH": refresh,
            "NEWSINGEST_MAX_ARTICLES": max_articles,
            "NEWSINGEST_PROGRESS": progress,
            "LOG_LEVEL": log_level,
            "LOG_INSTALL_ROOT_HANDLER": False,  # our handler (text or JSON) is installed
            **(extra_settings or {}),
        },
        priority="cmdline",
    )
    check_settings(settings)
    return settings


@dataclass
class CrawlJob:
    """One crawler to run: a source, settings of its own on top, spider arguments."""

    key: str
    settings: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    crawler: Any = None
    status: str | None = None
    """How the crawl's run ended, as its ledger said (`crawler.extensions.ledger.run_closed`)."""

    def run_closed(self, status: str) -> None:
        self.status = status


def new_process(settings: Settings) -> CrawlerProcess:
    """A CrawlerProcess with the configured reactor installed (crawlers are made by us)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.reactor import install_reactor

    from crawler.extractpool import tune_malloc

    tune_malloc()  # before the reactor's and the database's threads allocate
    process = CrawlerProcess(settings)
    install_reactor(settings["TWISTED_REACTOR"])
    logging.getLogger().setLevel(settings.get("LOG_LEVEL"))  # Scrapy resets the root level
    return process


def make_crawler(
    process: CrawlerProcess, base: Settings, job: CrawlJob, spider: str = "news"
) -> Any:
    """A Crawler of ``spider`` (the ``news`` spider) for ``job`` (its settings over ``base``)."""
    from scrapy.crawler import Crawler

    from crawler.extensions.ledger import run_closed

    settings = base.copy()
    settings.setdict(job.settings, priority="cmdline")
    job.crawler = Crawler(process.spider_loader.load(spider), settings)
    job.crawler.signals.connect(job.run_closed, signal=run_closed)
    return job.crawler


def job_status(job: CrawlJob) -> str:
    """The ledger status a finished job's crawl ended with (``failed`` when its ledger
    could not record the run)."""
    return job.status or "failed"


def failure_summary(stats: dict[str, Any]) -> str | None:
    """Why a failed crawl failed, in a few words, from its stats (None when they do not say):
    ``3 discovery URLs: dns_error`` or ``12 records spooled (database unavailable)``."""
    discovery = stat.reasons(stats, stat.DISCOVERY_FAILED_PREFIX)
    if discovery and not stats.get(stat.DISCOVERY_OK):
        count = sum(discovery.values())
        reasons = ", ".join(sorted(discovery, key=lambda r: (-discovery[r], r)))
        return f"{count} discovery URL{'' if count == 1 else 's'}: {reasons}"
    spooled = int(stats.get(stat.STORE_SPOOLED_ARTICLES) or 0)
    if spooled:
        return f"{spooled} record{'' if spooled == 1 else 's'} spooled (database unavailable)"
    reason = stats.get("finish_reason")
    if reason and reason != "finished":
        return f"spider closed: {reason}"
    return None


def job_outcome(job: CrawlJob) -> str:
    """The status of a finished job, with the reason when it failed."""
    status = job_status(job) if job.crawler is not None else "interrupted"
    if status == "failed" and job.crawler is not None:
        reason = failure_summary(job.crawler.stats.get_stats())
        if reason:
            return f"{status} — {reason}"
    return status


def run_crawls(settings: Settings, jobs: list[CrawlJob], *, parallel: int = 4) -> dict[str, str]:
    """Run ``jobs`` in this process, ``parallel`` at a time; returns key -> run status.

    Statuses: ``succeeded``, ``failed`` (followed by `` — reason`` when the stats say
    it, `failure_summary`), ``interrupted``, or ``skipped`` when another process was
    crawling that source. After a stop signal no further source starts;
    those not started are ``interrupted`` too (without a run row).
    """
    process = new_process(settings)
    pending = list(jobs)

    def stopped() -> bool:  # a signal stopped a crawl: start no other source
        return any(
            job.crawler is not None and job.crawler.stats.get_value("finish_reason") == "shutdown"
            for job in jobs
        )

    def launch(_: object = None) -> object:
        # At most `parallel` sources at once; each finished crawl starts the next one.
        if pending and not stopped():
            job = pending.pop(0)
            crawler = make_crawler(process, settings, job)
            process.crawl(crawler, source=job.key, **job.args).addBoth(launch)
        return _

    for _ in range(max(1, min(parallel, len(jobs)))):
        launch()
    process.start()
    return {job.key: job_outcome(job) for job in jobs}
