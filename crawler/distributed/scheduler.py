"""ReliableScheduler: scrapy-redis's scheduler for `sweep worker`, losing nothing when a worker dies.

What it keeps from scrapy-redis: one Redis request queue and one dupefilter set per platform,
shared by every worker (``scrapy_redis.dupefilter.RFPDupeFilter`` fingerprints), state kept
across runs (SCHEDULER_PERSIST) and SCHEDULER_FLUSH_ON_START. What it adds:

- requests as checked JSON, never pickle (:mod:`.request_codec`; SCHEDULER_SERIALIZER is not
  read): an entry that is not a valid request — a pickle, bad JSON, an unknown key or callback —
  is never executed; it is counted (``sweep/redis/rejected/<reason>``), logged once per reason,
  moved to ``<prefix>:rejected``, and the worker takes the next;

- a reliable pop (:class:`~.queue.ReliableQueue`): popped requests wait in this worker's
  processing list until :class:`~crawler.scheduler.tracking.AckTracker` acknowledges them —
  after the listings they yielded are pushed to Redis and the requests they yielded are queued;
- a heartbeat (a key with a TTL of SWEEP_WORKER_TIMEOUT, refreshed every third of it); every
  worker, on start, on each heartbeat and when idle, puts the processing lists of workers
  without a heartbeat back on the queue;
- seen+push in one Lua script, so a kill between the two cannot lose a request;
- an end: a worker with nothing to do stays while other workers still hold requests (their
  responses may bring more, or they may die and leave them), and the last one out of a
  finished crawl forgets the dupefilter, so the next crawl fetches everything again.

Settings read: REDIS_URL (and scrapy-redis's REDIS_HOST/REDIS_PORT/REDIS_PARAMS),
SCHEDULER_FLUSH_ON_START, DUPEFILTER_DEBUG, SWEEP_REDIS_PREFIX,
SWEEP_WORKER_TIMEOUT.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import secrets
import socket
from collections import deque

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis import connection
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from ..scheduler.tracking import AckTracker
from .keys import Keys
from .queue import ReliableQueue
from .wire import Rejected, Rejects

logger = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class ReliableScheduler(Scheduler):
    def __init__(self, server, crawler, keys: Keys, timeout: float, flush_on_start: bool = False,
                 debug: bool = False):
        super().__init__(server, persist=True, flush_on_start=flush_on_start)
        self.crawler = crawler
        self.stats = crawler.stats
        self.keys = keys
        self.timeout = timeout
        self.debug = debug
        self.worker = worker_id()
        self.platform = ""
        self.tracker: AckTracker | None = None
        self.inflight: dict[int, bytes] = {}      # tracker key -> the request as it sits in the processing list
        self.seq = itertools.count()
        self.memory: deque = deque()              # requests the queue format cannot carry: this worker only
        self.memory_seen: set[str] = set()
        self.beat = None
        self.rejects = Rejects(server, keys.rejected, crawler.stats, "request")

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        server = connection.get_redis_from_settings(s)
        server.ping()
        return cls(server, crawler, Keys(s.get("SWEEP_REDIS_PREFIX") or "sweep"), s.getfloat("SWEEP_WORKER_TIMEOUT"),
                   s.getbool("SCHEDULER_FLUSH_ON_START"), s.getbool("DUPEFILTER_DEBUG"))

    # -- Scrapy's scheduler interface ----------------------------------------------------------
    def open(self, spider):
        self.spider = spider
        profile = spider.profile
        self.platform = profile.name
        self.queue = ReliableQueue(self.server, spider, self.keys.requests(self.platform),
                                   self.keys.processing(self.platform, self.worker))
        self.df = RFPDupeFilter(self.server, key=self.keys.dupefilter(self.platform), debug=self.debug)
        self.tracker = AckTracker(self.crawler, self._acknowledge)
        self._heartbeat()
        if self.flush_on_start:
            self.flush()
        recovered = self.recover()
        self.server.hset(self.keys.platforms, self.platform, json.dumps(
            {"name": profile.name, "kind": profile.kind, "base_url": profile.base_url, "path": profile.path,
             "enabled": bool(profile.enabled)}))
        self.beat = task.LoopingCall(self._heartbeat_and_recover)
        self.beat.start(max(self.timeout / 3, 0.2), now=False)
        self.crawler.signals.connect(self._idle, signal=signals.spider_idle)
        logger.info("%s: worker %s joins with %d requests queued (%d taken back from dead workers)", self.platform,
                    self.worker, len(self.queue), recovered)

    def close(self, reason):
        if self.beat is not None and self.beat.running:
            self.beat.stop()
        if reason == "finished":
            self.tracker.settle_all()
        left = self.server.llen(self.queue.processing)
        self.server.delete(self.keys.heartbeat(self.worker))      # anything left is taken back at once
        if left:
            logger.warning("%s: worker %s leaves %d unacknowledged requests for the other workers", self.platform,
                           self.worker, left)
        if reason == "finished" and self._crawl_done():
            self.df.clear()
            logger.info("%s: crawl complete; dupefilter cleared for the next crawl", self.platform)

    def flush(self):
        super().flush()
        for key in self.server.scan_iter(match=self.keys.processing_pattern(self.platform)):
            self.server.delete(key)

    def has_pending_requests(self) -> bool:
        return bool(self.memory) or len(self.queue) > 0

    def enqueue_request(self, request) -> bool:
        parent, replaced = self.tracker.adopt(request)
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        try:
            data = self.queue.encode(request)
        except (ValueError, TypeError, AttributeError) as exc:       # request_codec.Unencodable and kin
            return self._enqueue_in_memory(request, fingerprint, parent, replaced, exc)
        if fingerprint is None:
            self.queue.push_data(data)
            added = True
        else:
            added = self.queue.push_unseen(data, self.df.key, fingerprint)
        self.tracker.enqueued(parent, replaced)
        if not added:
            self.df.log(request, self.spider)
            self.stats.inc_value("dupefilter/filtered")
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self):
        if self.memory:
            return self.memory.popleft()
        while True:
            data = self.queue.pop_data()
            if data is None:
                return None
            try:
                request = self.queue.decode(data)
                break
            except Rejected as exc:        # never executed: counted, kept aside, and on to the next
                self.rejects(data, exc, f"queue {self.queue.key}")
                self.queue.ack([data])
        key = next(self.seq)
        self.inflight[key] = data
        self.stats.inc_value("scheduler/dequeued/redis")
        return self.tracker.track(request, key)

    # -- workers ---------------------------------------------------------------------------------
    def recover(self) -> int:
        """Put the processing lists of workers without a heartbeat back on the queue."""
        moved = 0
        for key in self.server.scan_iter(match=self.keys.processing_pattern(self.platform)):
            key = key.decode() if isinstance(key, bytes) else key
            worker = self.keys.worker_of(key)
            if worker == self.worker:
                continue
            n = self.queue.requeue(key, self.keys.heartbeat(worker))
            if n > 0:
                moved += n
                self.stats.inc_value("worker/requeued", n)
                logger.warning("%s: worker %s is gone; %d of its requests are back on the queue", self.platform,
                               worker, n)
        return moved

    def _heartbeat(self) -> None:
        self.server.set(self.keys.heartbeat(self.worker), self.platform, px=max(int(self.timeout * 1000), 1))

    def _heartbeat_and_recover(self) -> None:
        try:
            self._heartbeat()
            self.recover()
        except Exception as exc:          # Redis away for a moment: the next beat tries again
            logger.warning("%s: heartbeat failed: %s", self.platform, exc)

    def _others_busy(self) -> bool:
        for key in self.server.scan_iter(match=self.keys.processing_pattern(self.platform)):
            key = key.decode() if isinstance(key, bytes) else key
            if self.keys.worker_of(key) != self.worker and self.server.llen(key):
                return True
        return False

    def _crawl_done(self) -> bool:
        return not len(self.queue) and not any(
            self.server.llen(k) for k in self.server.scan_iter(match=self.keys.processing_pattern(self.platform)))

    def _idle(self, spider):
        self.tracker.settle_all()          # the engine is idle: every listing it produced is in Redis
        self.recover()
        if len(self.queue) or self._others_busy():
            raise DontCloseSpider

    def _acknowledge(self, keys: list[int]) -> None:
        self.queue.ack([self.inflight.pop(k) for k in keys])
        self.stats.inc_value("worker/acknowledged", len(keys))

    def _enqueue_in_memory(self, request, fingerprint, parent, replaced, why) -> bool:
        if fingerprint is not None:
            if fingerprint in self.memory_seen or self.server.sismember(self.df.key, fingerprint):
                self.tracker.enqueued(parent, replaced)
                return False
            self.memory_seen.add(fingerprint)
        self.stats.inc_value("scheduler/unserializable")
        logger.warning("%s: %s kept in this worker's memory only (the queue format cannot carry it: %s)",
                       self.platform, request.url, why)
        self.tracker.enqueued(parent, replaced, stored=False)
        self.memory.append(request)
        return True
