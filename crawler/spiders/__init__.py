"""Scrapy spiders of the project (``news``)."""
