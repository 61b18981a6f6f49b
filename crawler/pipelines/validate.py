"""Drop items that break the Listing contract, with a log line and a counted stat."""
from __future__ import annotations

from scrapy.exceptions import DropItem

from ..items import Listing

MAX_TITLE = 500
MAX_DESCRIPTION = 20_000   # longer descriptions are cut (counted), never stored whole


class ValidatePipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item: Listing):
        problems = []
        if not isinstance(item, Listing):
            problems.append(f"not a Listing ({type(item).__name__})")
        else:
            if not item.platform_id:
                problems.append("no platform id")
            if not item.url.startswith(("http://", "https://")):
                problems.append("url is not http(s)")
            if not item.title.strip():
                problems.append("no title")
        if problems:
            self.stats.inc_value("sweep/items_invalid")
            raise DropItem(f"invalid listing {getattr(item, 'url', item)!r}: {'; '.join(problems)}")
        if not item.description.strip():       # valid (many sites have none); the monitor watches the share
            self.stats.inc_value(f"sweep/{item.platform}/empty_descriptions")
        if len(item.description) > MAX_DESCRIPTION:
            item.description = item.description[:MAX_DESCRIPTION]
            self.stats.inc_value("sweep/descriptions_truncated")
        item.title = item.title[:MAX_TITLE]
        return item
