"""Scrapy item pipelines: `extract.ExtractPipeline` (pages through the extraction pool),
`store.StorePipeline` (records to the database in batches, or to the spool)."""
