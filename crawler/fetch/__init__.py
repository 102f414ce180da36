"""Scrapy's fetching machinery, replaced where it did not hold up: what waits to be
fetched and how it is downloaded.

`frontier.DiskFrontierScheduler` (``SCHEDULER``: pending requests on disk),
`dupefilter.CompactDupeFilter` (``DUPEFILTER_CLASS``: 8 bytes a seen URL),
`downloader.SlotLimitedDownloader` (``DOWNLOADER``: per-site concurrency enforced),
`handlers.KeepAliveHTTPHandler` (``DOWNLOAD_HANDLERS``: kept-alive connections).
"""
