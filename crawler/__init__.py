"""Crawl: profile-driven Scrapy spiders for marketplaces, app stores and forums."""
