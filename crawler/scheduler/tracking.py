"""AckTracker: when a request handed to the engine may be forgotten.

A durable scheduler keeps every request it hands out until that request is acknowledged. The
engine is done with a request when its callback (or errback) has run to the end, every request
it yielded has reached the scheduler, and every listing it yielded has been committed by the
pipeline that makes listings durable — the store's SQLite transaction, or the push to Redis on a
worker — or dropped. Only then is it acknowledged: listings are committed before their requests
are acknowledged, whatever the batching.

How: at dequeue the tracker wraps the request's callback and errback (:class:`Tracked`), which
count what the callback yields. Each yielded request carries its parent's key in
``meta["_sweep_parent"]`` until the scheduler has stored it (:meth:`AckTracker.enqueued`); each
listing is counted until the committing pipeline sends :data:`items_committed` with it, or Scrapy
reports it dropped. A request replaced before its callback ran (a retry, a redirect) is
acknowledged once its replacement is stored.

Conservative by construction: what the tracker cannot account for (a listing that failed in a
pipeline, a request a middleware swallowed, a callback abandoned half-way) leaves the request
unacknowledged, so a resumed crawl fetches it again. Fetching twice never stores twice: the
dedupe stage knows a stored listing by its content hash.

Signals a committing pipeline sends (``crawler.signals.send_catch_log``):

- :data:`items_committed` ``(items=[...])`` — these listings are durable now.
- :data:`commit_failed` ``(items=[...])`` — these listings were not stored. Nothing more is
  acknowledged in this crawl, so a resumed crawl fetches them again.
"""
from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Hashable, Iterable

from scrapy import Request, signals
from scrapy.utils.misc import arg_to_iter
from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

items_committed = object()
commit_failed = object()

PARENT = "_sweep_parent"


class _Entry:
    __slots__ = ("key", "started", "done", "pending", "poisoned")

    def __init__(self, key: Hashable):
        self.key = key
        self.started = False       # the callback or errback was called
        self.done = False          # ... and has run to its end
        self.pending = 0           # yielded requests not yet stored + listings not yet committed or dropped
        self.poisoned = False      # a listing it yielded failed in a pipeline: never acknowledged


class Tracked:
    """A dequeued request's callback or errback: calls it and counts what it yields."""

    __slots__ = ("func", "entry", "tracker")

    def __init__(self, func: Callable | None, entry: _Entry, tracker: AckTracker):
        self.func = func
        self.entry = entry
        self.tracker = tracker

    def __call__(self, result, **kwargs):
        self.entry.started = True
        if self.func is None:           # a request without errback: Scrapy handles the failure as usual
            self.tracker.finish(self.entry)
            return result
        try:
            out = self.func(result, **kwargs)
        except Exception:
            self.tracker.finish(self.entry)
            raise
        if out is None or isinstance(out, Failure):
            self.tracker.finish(self.entry)
            return out
        if isinstance(out, AsyncIterator):
            return self._aiter(out)
        if inspect.isawaitable(out):
            return self._await(out)
        return self._iter(arg_to_iter(out))

    def _iter(self, output: Iterable):
        # Finished only when the output ends or the callback raises; a generator closed
        # half-way (GeneratorExit) stays unfinished, so its request is fetched again.
        try:
            for out in output:
                self.tracker.saw(self.entry, out)
                yield out
        except Exception:
            self.tracker.finish(self.entry)
            raise
        self.tracker.finish(self.entry)

    async def _aiter(self, output: AsyncIterator):
        try:
            async for out in output:
                self.tracker.saw(self.entry, out)
                yield out
        except Exception:
            self.tracker.finish(self.entry)
            raise
        self.tracker.finish(self.entry)

    async def _await(self, awaitable):
        try:
            result = await awaitable
            for out in arg_to_iter(result):
                self.tracker.saw(self.entry, out)
                yield out
        except Exception:
            self.tracker.finish(self.entry)
            raise
        self.tracker.finish(self.entry)


class AckTracker:
    """Counts what each dequeued request led to; calls ``acknowledge(keys)`` when it is all safe."""

    def __init__(self, crawler, acknowledge: Callable[[list], None]):
        self.crawler = crawler
        self.acknowledge = acknowledge
        self.entries: dict[Hashable, _Entry] = {}
        self.origin: dict[int, tuple[_Entry, object]] = {}   # id(listing) -> (entry, listing: keeps the id unique)
        self.degraded = False
        crawler.signals.connect(self._dropped, signal=signals.item_dropped)
        crawler.signals.connect(self._failed, signal=signals.item_error)
        crawler.signals.connect(self._committed, signal=items_committed)
        crawler.signals.connect(self._commit_failed, signal=commit_failed)

    def __len__(self) -> int:
        return len(self.entries)

    # -- the scheduler calls these ----------------------------------------------------------
    def track(self, request: Request, key: Hashable) -> Request:
        """At dequeue: follow ``request`` under ``key`` until it can be acknowledged."""
        entry = _Entry(key)
        self.entries[key] = entry
        request.callback = Tracked(request.callback or self.crawler.spider._parse, entry, self)
        request.errback = Tracked(request.errback, entry, self)
        return request

    def adopt(self, request: Request) -> tuple[Hashable | None, _Entry | None]:
        """At enqueue, before storing: unwrap what a copy inherited; (parent key, replaced entry)."""
        replaced = None
        for attr in ("callback", "errback"):
            func = getattr(request, attr)
            if isinstance(func, Tracked):
                setattr(request, attr, func.func)
                if not func.entry.started:      # a retry or redirect of a request whose callback never ran
                    replaced = func.entry
        return request.meta.pop(PARENT, None), replaced

    def enqueued(self, parent: Hashable | None, replaced: _Entry | None, stored: bool = True) -> None:
        """After enqueue: the request is stored (or was a duplicate of a stored one).

        ``stored=False`` (kept in memory only) leaves the parent unacknowledged on purpose.
        """
        if not stored:
            return
        keys = []
        if parent is not None and parent in self.entries:
            entry = self.entries[parent]
            entry.pending -= 1
            self._ready(entry, keys)
        if replaced is not None:
            replaced.done = True
            self._ready(replaced, keys)
        self._ack(keys)

    def finish(self, entry: _Entry) -> None:
        entry.done = True
        keys = []
        self._ready(entry, keys)
        self._ack(keys)

    def saw(self, entry: _Entry, out) -> None:
        if isinstance(out, Request):
            out.meta[PARENT] = entry.key
            entry.pending += 1
        elif out is not None:
            entry.pending += 1
            self.origin[id(out)] = (entry, out)

    def settle_all(self) -> int:
        """The engine is idle and the committing pipeline has flushed: acknowledge what is left.

        Returns how many requests stay unacknowledged (poisoned, or all of them once a commit
        failed) — a resumed crawl fetches those again.
        """
        if self.degraded:
            return len(self.entries)
        keys = [k for k, e in self.entries.items() if not e.poisoned]
        for key in keys:
            del self.entries[key]
        self.origin.clear()
        self._ack(keys)
        return len(self.entries)

    # -- signals ------------------------------------------------------------------------------
    def _dropped(self, item):
        keys = []
        self._settle(item, keys)
        self._ack(keys)

    def _failed(self, item):
        found = self.origin.get(id(item))
        if found is not None:
            found[0].poisoned = True
        self._dropped(item)

    def _committed(self, items):
        keys = []
        for item in items:
            self._settle(item, keys)
        self._ack(keys)

    def _commit_failed(self, items):
        if not self.degraded:
            logger.warning("%d listings were not stored: no request is acknowledged from now on, so a resumed "
                           "crawl fetches them again", len(items))
        self.degraded = True

    # -- internals ----------------------------------------------------------------------------
    def _settle(self, item, keys: list) -> None:
        found = self.origin.pop(id(item), None)      # the map holds the listing, so its id is not reused
        if found is not None:
            found[0].pending -= 1
            self._ready(found[0], keys)

    def _ready(self, entry: _Entry, keys: list) -> None:
        if (entry.done and entry.pending <= 0 and not entry.poisoned and not self.degraded
                and self.entries.get(entry.key) is entry):
            del self.entries[entry.key]
            keys.append(entry.key)

    def _ack(self, keys: list) -> None:
        if keys:
            self.acknowledge(keys)
