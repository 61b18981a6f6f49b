"""RedisItemPipeline: each finished listing onto one Redis list, for `sweep ingest` to store.

scrapy-redis's ``RedisPipeline`` pushes from a thread and says nothing when done. Here the push
is synchronous (a local RPUSH) and announced with ``items_committed``: the listing is durable in
Redis, so the request it came from may be acknowledged (crawler/scheduler/tracking.py). JSON,
not pickle: the ingest process reads it back into a Listing and trusts nothing else in it.

Settings read: REDIS_URL (and scrapy-redis's REDIS_* connection settings), REDIS_ITEMS_KEY
(default ``<SWEEP_REDIS_PREFIX>:items``), REDIS_ITEMS_SERIALIZER.
"""
from __future__ import annotations

from scrapy_redis import connection
from scrapy_redis.pipelines import RedisPipeline, default_serialize
from scrapy.utils.misc import load_object

from ..scheduler.tracking import items_committed
from .keys import Keys


class RedisItemPipeline(RedisPipeline):
    def __init__(self, server, key: str, serialize_func, crawler):
        super().__init__(server, key, serialize_func)
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        key = s.get("REDIS_ITEMS_KEY") or Keys(s.get("SWEEP_REDIS_PREFIX") or "sweep").items
        serialize = load_object(s["REDIS_ITEMS_SERIALIZER"]) if s.get("REDIS_ITEMS_SERIALIZER") else default_serialize
        return cls(connection.get_redis_from_settings(s), key, serialize, crawler)

    def process_item(self, item):
        self.server.rpush(self.key, self.serialize(item))
        self.crawler.stats.inc_value("sweep/pushed")
        self.crawler.signals.send_catch_log(signal=items_committed, items=[item])
        return item
