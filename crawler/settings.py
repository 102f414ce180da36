"""Scrapy settings of the newsingest project and the order of its components.

Values that come from the environment are read through `crawler.config` only. The CLI
overrides some of them per run (database URL, sources file, trigger).
"""

from __future__ import annotations

import os
import warnings

from crawler.config import Config

# scrapy-redis 0.9.1 calls Scrapy APIs deprecated since 2.13 on every request; its
# warnings (all of them deprecations) would drown the log of distributed crawls. No
# category named: importing Scrapy's would make every reader of these defaults (status,
# health) import Scrapy.
warnings.filterwarnings("ignore", module=r"scrapy_redis\.")

_config = Config.from_env()

BOT_NAME = "newsingest"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# --- newsingest's own settings (NEWSINGEST_*) --------------------------------------
NEWSINGEST_DATABASE_URL = _config.database_url  # None: the embedded server
NEWSINGEST_DATA_DIR = str(_config.data_dir)
NEWSINGEST_SOURCES = str(_config.sources_path)
NEWSINGEST_CONTACT = _config.contact
NEWSINGEST_PAGE_STORE = _config.page_store  # database: pages.html_zlib; warc: WARC files
NEWSINGEST_PAGE_WARC_DIR = str(_config.pages_dir)
NEWSINGEST_PAGE_WARC_MAX_BYTES = 1024 * 1024 * 1024  # a WARC page file is closed at this size
# who started the run: cli, schedule (crawl --due), scrapy (scrapy crawl); runs of a
# scrapyd job (spider argument _job) are recorded as scrapyd whatever this says
NEWSINGEST_TRIGGER = "scrapy"
NEWSINGEST_AUTO_MIGRATE = True  # apply migrations when a crawl opens
NEWSINGEST_EXTRACT_WORKERS = os.cpu_count() or 1  # 0: extract inline (debugging only)
NEWSINGEST_EXTRACT_TIMEOUT = 30.0  # seconds per page; then rejected and its worker killed
NEWSINGEST_EXTRACT_MAX_BYTES = 4 * 1024 * 1024  # larger pages: too_large, not parsed
NEWSINGEST_STORE_BATCH_SIZE = 100
NEWSINGEST_STORE_FLUSH_SECONDS = 2.0
# merge the search index's pending list after this many stored articles (0: never)
NEWSINGEST_SEARCH_MERGE_ARTICLES = 1000
NEWSINGEST_LOCK_CHECK_SECONDS = 5.0  # how often a crawl checks it still holds its source lock
NEWSINGEST_REFRESH = False  # True: fetch again articles already stored
NEWSINGEST_MAX_ARTICLES = 0  # 0: no limit per crawl of a source
NEWSINGEST_PROGRESS = False  # live progress line on stderr (the CLI turns it on for a tty)
NEWSINGEST_PROGRESS_SECONDS = 1.0  # how often the progress line is redrawn
NEWSINGEST_STORE_ENABLED = True  # False: nothing is stored (StorePipeline, stored-URL filters off)
NEWSINGEST_LEDGER_ENABLED = True  # False: no crawl_runs row, no source lock (CrawlLedger off)
# distributed crawls (crawler.distributed.crawl_settings sets them per crawl)
NEWSINGEST_REDIS_URL = _config.redis_url  # None: no Redis
NEWSINGEST_CRAWL_ID = None  # the distributed crawl this process works on (None: not one)
NEWSINGEST_WORKER_IDLE_SECONDS = 30.0  # a worker leaves a crawl whose queue stayed empty so long
NEWSINGEST_CONDITIONAL_REQUESTS = True  # If-None-Match/If-Modified-Since on feeds, sitemaps
NEWSINGEST_STORED_CHECK_BATCH = 50  # discovered article URLs checked per database query
NEWSINGEST_DISK_FRONTIER = True  # pending requests wait on disk (crawler.fetch.frontier)
NEWSINGEST_PROXY = ""  # an HTTP proxy every request goes through ("": none; the demo's server)
# field health (`newsingest health`, `status`'s verdict degraded: crawler.health.Thresholds)
NEWSINGEST_HEALTH_FIELD_DROP = 0.3  # a field's share fell this much below the baseline's
NEWSINGEST_HEALTH_REJECTION_RISE = 0.3  # the rejection rate rose this much above it
NEWSINGEST_HEALTH_WORDS_RATIO = 0.5  # the median body fell below this fraction of it
NEWSINGEST_HEALTH_MIN_RECORDS = 10  # fewer recent or baseline records (pages): no judgement
NEWSINGEST_HEALTH_BASELINE_DAYS = 30  # the baseline: the source's last days, today included
NEWSINGEST_METRICS_PORT = 0  # serve /metrics on 127.0.0.1:PORT while crawling (0: off)
NEWSINGEST_WARC_IN_FLIGHT = 16  # newsingest warc: archived pages between reading and storing
NEWSINGEST_WARC_MAX_RECORDS = 0  # newsingest warc: stop after this many records (0: no limit)
NEWSINGEST_WARC_CHECKPOINT_SECONDS = 10.0  # newsingest warc: how often checkpoints are written

# Scrapy's scheduler with a private disk queue: memory stays flat however many URLs
# discovery finds (distributed crawls swap in scrapy-redis's scheduler).
SCHEDULER = "crawler.fetch.frontier.DiskFrontierScheduler"
DUPEFILTER_CLASS = "crawler.fetch.dupefilter.CompactDupeFilter"  # 8 bytes a seen URL, not ~87

# --- politeness and guards ------------------------------------------------------------
USER_AGENT = f"newsingest/0.1 (+{_config.contact})"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Scrapy's default of 100 costs CPU per response under the asyncio reactor
# (scrapy issue 5182); 8 items in flight per response is plenty for us.
CONCURRENT_ITEMS = 8
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 2
# A request that failed every try is a fetch_failures row and part of its source's summary
# line: Scrapy's 'Gave up retrying' line is INFO (shown with -v), not ERROR.
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control runs Python code sent to it over HTTP in the crawler (a
# token in a job file under the user's profile grants it): no crawl of untrusted pages
# should carry one, as none carries the telnet console.
REMOTE_CONTROL_ENABLED = False
HTTPCACHE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

NEWSINGEST_RETRY_BACKOFF = 1.0  # seconds before the first retry, doubled per attempt
NEWSINGEST_RETRY_MAX_DELAY = 120.0  # never wait longer (Retry-After included)

# Scrapy's downloader with its per-site concurrency limit enforced (crawler.fetch.downloader)
DOWNLOADER = "crawler.fetch.downloader.SlotLimitedDownloader"

# Scrapy's HTTP/1.1 handler with room in its pool for the connections it opens
DOWNLOAD_HANDLERS = {
    "http": "crawler.fetch.handlers.KeepAliveHTTPHandler",
    "https": "crawler.fetch.handlers.KeepAliveHTTPHandler",
}

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    # Scrapy's, whose robots.txt download also answers the spider's robots.txt request
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robots.SharedRobotsTxt": 100,
    "crawler.middlewares.retry.PoliteRetry": 550,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.meta_refresh.MetaRefresh": 580,  # Scrapy's, without decoding every page
    "crawler.middlewares.stored_urls.StoredUrlFilter": 450,
    "crawler.middlewares.conditional.ConditionalRequests": 460,
    # after RedirectMiddleware (600) in the response path: sees 3xx responses first
    "crawler.middlewares.redirect_guard.RedirectGuard": 650,
    # before RobotsTxtMiddleware (100): a hop out of scope contacts nothing
    "crawler.middlewares.redirect_guard.ScopeGuard": 90,
    "crawler.middlewares.proxy.ProxyAll": 80,  # before Scrapy's HttpProxyMiddleware (750)
}

SPIDER_MIDDLEWARES = {
    # last on the way out of the spider: sees the requests every other one let through
    "crawler.middlewares.stored_urls.StoredUrlBatchFilter": 50,
    # first on the way out of the spider: a stopped crawl queues nothing more
    "crawler.middlewares.stop_filter.StopFilter": 1000,
}

ITEM_PIPELINES = {
    "crawler.pipelines.extract.ExtractPipeline": 300,
    "crawler.pipelines.store.StorePipeline": 800,
}

EXTENSIONS = {
    "crawler.extensions.ledger.CrawlLedger": 100,
    "crawler.extensions.progress.Progress": 500,
    "crawler.extensions.distributed_worker.DistributedWorker": 510,
    "crawler.extensions.stopping.StopWatch": 520,
    "crawler.extensions.metrics_endpoint.MetricsEndpoint": 530,  # only with NEWSINGEST_METRICS_PORT
    "crawler.extensions.warc_checkpoints.WarcCheckpoints": 540,  # only for the warc spider
}
