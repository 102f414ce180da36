"""Scrapy middlewares, one component a module; `crawler.settings` orders them.

Spider middlewares: `stored_urls.StoredUrlBatchFilter`, `stop_filter.StopFilter`.
Downloader middlewares: `proxy.ProxyAll`, `redirect_guard.ScopeGuard`,
`robots.SharedRobotsTxt`, `stored_urls.StoredUrlFilter`,
`conditional.ConditionalRequests`, `retry.PoliteRetry`, `meta_refresh.MetaRefresh`,
`redirect_guard.RedirectGuard`.
"""
