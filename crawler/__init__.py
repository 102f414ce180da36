"""newsingest crawler: Scrapy wiring, configuration and the command line.

Subpackages: ``extraction`` (pure html -> record), ``discovery`` (pure sitemap/feed
parsers), ``spiders`` (fetching and routing), ``demo`` (the bundled sample site).
"""
