"""DurableScheduler: Scrapy's scheduler on the SQLite frontier, so a crawl survives any kill.

Scrapy's JOBDIR does not: it writes the seen-set as it goes but the queue index only on a clean
close, so a crawl killed with SIGKILL resumes "finished" with nothing fetched. Here

- a request and its fingerprint are in the frontier file before ``enqueue_request`` returns;
- a dequeued request stays in the file until :class:`~.tracking.AckTracker` acknowledges it:
  every request it yielded stored, every listing it yielded committed by the store (its
  batch transaction) or dropped;
- ``SWEEP_RESUME`` loads what an interrupted crawl left (``sweep crawl --resume``); without it
  the crawl starts afresh and says what it discarded. A crawl that finishes with nothing left
  forgets its seen-set, so the next one fetches everything again.

Writes are batched (``Frontier.write``/``forget``): committed every SWEEP_FRONTIER_COMMIT_DELAY
seconds or SWEEP_FRONTIER_COMMIT_WRITES writes, whichever comes first, and before the crawl
closes. Acknowledgements go through the same connection after the writes they depend on, so
nothing is acknowledged on disk before the requests that made it safe are there. A batch that
fails to commit (disk full) is rolled back whole; its requests carry on in memory and nothing
more is acknowledged, as when any frontier write fails.

Order: highest priority first, newest first within a priority (Scrapy's default, depth-first),
so listings — and their commits — come early. The ids are kept in memory, and the request
objects of up to SWEEP_FRONTIER_MEMORY of them (depth-first pops the newest first, so most
requests never need reading back and unpickling); the others are read from disk when popped.
A request that cannot be pickled (a lambda callback) is kept in memory and its parent is left
unacknowledged, so a resume regenerates it.

Settings read: SWEEP_FRONTIER (path; default: beside SWEEP_DB, see ``frontier_path``),
SWEEP_RESUME, SWEEP_RUN_ID, SWEEP_DB, SWEEP_FRONTIER_COMMIT_DELAY, SWEEP_FRONTIER_COMMIT_WRITES,
SWEEP_FRONTIER_MEMORY.
"""
from __future__ import annotations

import heapq
import logging
import pickle
import sqlite3
from collections import deque

from scrapy.exceptions import NotConfigured
from scrapy.utils.request import request_from_dict

from .frontier import Frontier, FrontierBusy, frontier_path
from .tracking import AckTracker

logger = logging.getLogger(__name__)


def request_to_dict(request, spider) -> dict:
    """``request.to_dict(spider=spider)``, without its search of every spider attribute per request.

    Scrapy finds a callback's name with ``inspect.getmembers(spider)`` for every request it
    serialises (~0.15 ms each, the frontier's biggest cost); a callback is nearly always the
    spider's method of the same name, so that is checked first and Scrapy asked only otherwise.
    The result is what ``to_dict`` returns.
    """
    names = {}
    for attr in ("callback", "errback"):
        func = getattr(request, attr)
        if func is None:
            continue
        name = getattr(func, "__name__", "")
        if getattr(getattr(spider, name, None), "__func__", None) is not getattr(func, "__func__", object()):
            return request.to_dict(spider=spider)      # not the spider's method of that name: Scrapy searches
        names[attr] = name
    callback, errback = request.callback, request.errback
    request.callback = request.errback = None
    try:
        d = request.to_dict()
    finally:
        request.callback, request.errback = callback, errback
    d.update(callback=names.get("callback"), errback=names.get("errback"))
    return d


class DurableScheduler:
    def __init__(self, crawler, path: str, resume: bool, run_id: int | None, commit_delay: float = 0.05,
                 commit_writes: int = 500, memory_limit: int = 10000):
        self.crawler = crawler
        self.memory_limit = memory_limit
        self.cache: dict[int, object] = {}             # request id -> the request object itself
        self.commit_delay = commit_delay
        self.commit_writes = commit_writes
        self._commit_call = None
        self.stats = crawler.stats
        self.path = path
        self.resume = resume
        self.run_id = run_id
        self.frontier: Frontier | None = None
        self.tracker: AckTracker | None = None
        self.heap: list[tuple[int, int, int]] = []      # (-priority, -id, id)
        self.memory: deque = deque()                   # requests that could not be pickled
        self.memory_seen: set[bytes] = set()
        self.broken = False                            # the frontier file stopped taking writes
        self.crawl = ""
        self.spider = None

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        path = s.get("SWEEP_FRONTIER") or (frontier_path(s.get("SWEEP_DB")) if s.get("SWEEP_DB") else None)
        if not path:
            raise NotConfigured("neither SWEEP_FRONTIER nor SWEEP_DB is set")
        return cls(crawler, str(path), s.getbool("SWEEP_RESUME"), s.getint("SWEEP_RUN_ID") or None,
                   s.getfloat("SWEEP_FRONTIER_COMMIT_DELAY", 0.05), s.getint("SWEEP_FRONTIER_COMMIT_WRITES", 500),
                   s.getint("SWEEP_FRONTIER_MEMORY", 10000))

    # -- Scrapy's scheduler interface ----------------------------------------------------------
    def open(self, spider) -> None:
        self.spider = spider
        profile = getattr(spider, "profile", None)
        self.crawl = profile.name if profile is not None else spider.name
        self.frontier = Frontier.acquire(self.path)
        try:
            resumed, discarded = self.frontier.begin(self.crawl, self.run_id, self.resume)
        except FrontierBusy:
            self.frontier.release()
            raise
        self.tracker = AckTracker(self.crawler, self._acknowledge)
        self.frontier.on_rollback.append(self._batch_lost)
        if resumed:
            for request_id, priority in self.frontier.pending(self.crawl):
                heapq.heappush(self.heap, (-priority, -request_id, request_id))
            self.stats.set_value("frontier/resumed", len(self.heap))
            logger.info("%s: resuming with %d requests left and %d seen", self.crawl, len(self.heap),
                        self.frontier.seen_count(self.crawl))
        elif discarded:
            logger.warning("%s: discarding %d requests an interrupted crawl left (resume it with --resume)",
                           self.crawl, discarded)

    def close(self, reason: str) -> None:
        if self.tracker is None:             # open() failed
            return
        left = self.tracker.settle_all() if reason == "finished" else len(self.tracker)
        if self._commit_call is not None and self._commit_call.active():
            self._commit_call.cancel()
        try:
            self.frontier.commit()
            if reason == "finished" and not self.broken and self.frontier.complete(self.crawl):
                logger.debug("%s: frontier complete", self.crawl)
            else:
                pending = self.frontier.pending_count(self.crawl)
                self.stats.set_value("frontier/left", pending)
                if pending:
                    logger.warning("%s: %d requests left in %s (%s); rerun with --resume to finish them", self.crawl,
                                   pending, self.path, reason if reason != "finished" else f"{left} unacknowledged")
            self.frontier.end(self.crawl)
        except sqlite3.Error as exc:
            logger.error("%s: frontier %s: %s", self.crawl, self.path, exc)
        self.frontier.on_rollback.remove(self._batch_lost)
        self.frontier.release()

    def has_pending_requests(self) -> bool:
        return bool(self.heap or self.memory)

    def __len__(self) -> int:
        return len(self.heap) + len(self.memory)

    def enqueue_request(self, request) -> bool:
        parent, replaced = self.tracker.adopt(request)
        fingerprint = None if request.dont_filter else self.crawler.request_fingerprinter.fingerprint(request)
        try:
            blob = pickle.dumps(request_to_dict(request, self.spider), protocol=pickle.HIGHEST_PROTOCOL)
        except (ValueError, TypeError, AttributeError, pickle.PicklingError) as exc:
            return self._enqueue_in_memory(request, fingerprint, parent, replaced, exc)
        if self.broken:
            return self._enqueue_in_memory(request, fingerprint, parent, replaced, None)
        try:
            request_id = self.frontier.write(self.crawl, blob, request.priority, fingerprint)
        except sqlite3.Error as exc:
            self._broke(exc)
            return self._enqueue_in_memory(request, fingerprint, parent, replaced, None)
        self._commit_soon()
        self.tracker.enqueued(parent, replaced)
        if request_id is None:
            self.stats.inc_value("dupefilter/filtered")
            return False
        heapq.heappush(self.heap, (-request.priority, -request_id, request_id))
        if len(self.cache) < self.memory_limit:
            self.cache[request_id] = request
        self.stats.inc_value("scheduler/enqueued/frontier")
        return True

    def next_request(self):
        if self.memory:
            self.stats.inc_value("scheduler/dequeued/memory")
            return self.memory.popleft()
        while self.heap:
            request_id = heapq.heappop(self.heap)[2]
            request = self.cache.pop(request_id, None)
            if request is not None:
                self.stats.inc_value("scheduler/dequeued/frontier")
                return self.tracker.track(request, request_id)
            try:
                blob = self.frontier.get(request_id)
            except sqlite3.Error as exc:
                self._broke(exc)
                return None
            if blob is None:
                continue
            request = request_from_dict(pickle.loads(blob), spider=self.spider)
            self.stats.inc_value("scheduler/dequeued/frontier")
            return self.tracker.track(request, request_id)
        return None

    # -- internals -----------------------------------------------------------------------------
    def _acknowledge(self, request_ids: list[int]) -> None:
        if self.broken:
            return
        try:
            self.frontier.forget(request_ids)
        except sqlite3.Error as exc:
            self._broke(exc)
            return
        self._commit_soon()
        self.stats.inc_value("frontier/acknowledged", len(request_ids))

    def _commit_soon(self) -> None:
        if self.frontier.batch_size >= self.commit_writes:
            self._commit()
        elif self._commit_call is None or not self._commit_call.active():
            from twisted.internet import reactor

            self._commit_call = reactor.callLater(self.commit_delay, self._commit)

    def _commit(self) -> None:
        if self._commit_call is not None and self._commit_call.active():
            self._commit_call.cancel()
        try:
            self.frontier.commit()
        except sqlite3.Error as exc:
            self._broke(exc)

    def _batch_lost(self, lost: dict[int, tuple[str, bytes]]) -> None:
        """A batch was rolled back: its requests of this crawl carry on in memory (none is lost)."""
        self._broke(sqlite3.OperationalError("a batch of writes was rolled back"))
        queued = {entry[2] for entry in self.heap}         # the others were dequeued already
        mine = {request_id: blob for request_id, (crawl, blob) in lost.items()
                if crawl == self.crawl and request_id in queued}
        if not mine:
            return
        self.heap = [entry for entry in self.heap if entry[2] not in mine]
        heapq.heapify(self.heap)
        for request_id, blob in mine.items():
            request = self.cache.pop(request_id, None)
            self.memory.append(request if request is not None else request_from_dict(pickle.loads(blob),
                                                                                    spider=self.spider))
        self.stats.inc_value("frontier/rolled_back", len(mine))

    def _enqueue_in_memory(self, request, fingerprint, parent, replaced, why) -> bool:
        # Seen only in memory: a fingerprint on disk without its request would hide the request
        # from the resumed crawl that regenerates it.
        if fingerprint is not None:
            if fingerprint in self.memory_seen or self._seen_on_disk(fingerprint):
                self.tracker.enqueued(parent, replaced)
                self.stats.inc_value("dupefilter/filtered")
                return False
            self.memory_seen.add(fingerprint)
        if why is not None:
            self.stats.inc_value("frontier/unserializable")
            logger.warning("%s: %s kept in memory only (cannot be stored: %s); its parent stays unacknowledged",
                           self.crawl, request.url, why)
        self.tracker.enqueued(parent, replaced, stored=False)
        self.memory.append(request)
        return True

    def _seen_on_disk(self, fingerprint: bytes) -> bool:
        try:
            return self.frontier.is_seen(self.crawl, fingerprint)
        except sqlite3.Error:
            return False

    def _broke(self, exc: Exception) -> None:
        """The frontier file stopped taking writes (disk full, I/O error): carry on in memory, acknowledge
        nothing more, so the file still holds everything not finished when it broke."""
        if not self.broken:
            logger.error("%s: frontier %s failed (%s): continuing in memory; requests from now on are not "
                         "resumable, those before are", self.crawl, self.path, exc)
            self.stats.inc_value("frontier/write_errors")
        self.broken = True
        self.tracker.degraded = True
