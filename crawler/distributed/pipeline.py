"""RedisItemPipeline: each finished listing onto one Redis list, for `sweep ingest` to store.

scrapy-redis's ``RedisPipeline`` pushes from a thread and says nothing when done. Here the push
is synchronous (a local RPUSH) and announced with ``items_committed``: the listing is durable in
Redis, so the request it came from may be acknowledged (crawler/scheduler/tracking.py). JSON,
not pickle, in the one shape ingest accepts (:mod:`.listing_codec`).

Settings read: REDIS_URL (and scrapy-redis's REDIS_* connection settings), REDIS_ITEMS_KEY
(default ``<SWEEP_REDIS_PREFIX>:items``).
"""
from __future__ import annotations

from scrapy_redis import connection
from scrapy_redis.pipelines import RedisPipeline

from ..scheduler.tracking import items_committed
from .keys import Keys
from .listing_codec import encode_listing


class RedisItemPipeline(RedisPipeline):
    def __init__(self, server, key: str, serialize_func, crawler):
        super().__init__(server, key, serialize_func)
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        key = s.get("REDIS_ITEMS_KEY") or Keys(s.get("SWEEP_REDIS_PREFIX") or "sweep").items
        return cls(connection.get_redis_from_settings(s), key, encode_listing, crawler)

    def process_item(self, item):
        self.server.rpush(self.key, self.serialize(item))
        self.crawler.stats.inc_value("sweep/pushed")
        self.crawler.signals.send_catch_log(signal=items_committed, items=[item])
        return item
