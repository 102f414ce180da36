"""Scrapy extensions, one component a module; `crawler.settings` lists them.

`ledger.CrawlLedger` (the ``crawl_runs`` row, the source's lock, the ``run_opened`` /
``run_closed`` signals), `progress.Progress` (the terminal line),
`distributed_worker.DistributedWorker` (heartbeat and idle policy of a distributed
crawl), `stopping.StopWatch` (what a stop signal does), `metrics_endpoint.MetricsEndpoint`
(``/metrics`` of a crawling process), `warc_checkpoints.WarcCheckpoints` (``newsingest
warc``'s per-file checkpoints and damaged records).
"""
