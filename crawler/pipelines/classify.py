"""Label listings with the model, loaded once, in micro-batches beside the crawl.

Batching matters: the model is ~3x faster per listing in batches than one at a time.
With SWEEP_CLASSIFY_WORKERS >= 1 the batches run in worker processes (each loads the
model once), so classification uses the second core instead of slowing the crawl.
Listings the dedupe stage saw unchanged are not re-classified.
Settings read: SWEEP_MODEL, SWEEP_CLASSIFY_BATCH, SWEEP_CLASSIFY_WORKERS.
"""
from __future__ import annotations

import asyncio
import os
from concurrent.futures import ProcessPoolExecutor

from scrapy.exceptions import NotConfigured

from ..items import Listing

_worker_model = None
_pools: dict[tuple[str, int], list] = {}     # (model, workers) -> [pool, users]: spiders in one process share


def _worker_init(model_path: str, parent_pid: int | None = None) -> None:
    global _worker_model
    from classifier.die_with_parent import die_with_parent
    from classifier.predict import Classifier

    die_with_parent(parent_pid)       # a killed crawl must not leave its model process behind

    _worker_model = Classifier.load(model_path)


def _worker_predict(records: list[dict]) -> list[dict]:
    return _worker_model.predict(records, explain_benign=False)


def as_record(item: Listing) -> dict:
    """What the classifier reads: the price as shown, as `sweep classify` passes an input's price."""
    return {"title": item.title, "description": item.description, "kind": item.kind, "price": item.price_text}


class ClassifyPipeline:
    def __init__(self, model_path: str, batch_size: int, workers: int, stats):
        self.model_path = model_path
        self.batch_size = batch_size
        self.workers = workers
        self.stats = stats
        self.pending: list[tuple[Listing, asyncio.Future]] = []
        self._timer = None
        self.pool = None
        self.model = None

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        if not s.get("SWEEP_MODEL"):
            raise NotConfigured("SWEEP_MODEL is not set")
        return cls(s.get("SWEEP_MODEL"), s.getint("SWEEP_CLASSIFY_BATCH"), s.getint("SWEEP_CLASSIFY_WORKERS"),
                   crawler.stats)

    def open_spider(self):
        if self.workers > 0:
            key = (self.model_path, self.workers)
            if key not in _pools:
                pool = ProcessPoolExecutor(self.workers, initializer=_worker_init,
                                           initargs=(self.model_path, os.getpid()))
                pool.submit(_worker_predict, []).result()   # fail now, not mid-crawl, on a bad model
                _pools[key] = [pool, 0]
            _pools[key][1] += 1
            self.pool = _pools[key][0]
        else:
            from classifier.predict import shared     # only here: the model stays out of the crawl process

            self.model = shared(self.model_path)

    def close_spider(self):
        self._flush()
        key = (self.model_path, self.workers)
        if self.pool and key in _pools:
            _pools[key][1] -= 1
            if _pools[key][1] == 0:
                _pools.pop(key)[0].shutdown(wait=True)

    async def process_item(self, item: Listing):
        if item.status == "seen":
            return item
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.append((item, future))
        if len(self.pending) >= self.batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(0.05, self._flush)
        item.classification = await future
        self.stats.inc_value("sweep/classified")
        if item.classification["flagged"]:
            self.stats.inc_value(f"sweep/flagged/{item.classification['label']}")
        return item

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        records = [as_record(item) for item, _ in batch]
        if self.pool is None:
            self._deliver(batch, self.model.predict(records, explain_benign=False), None)
            return
        done = asyncio.wrap_future(self.pool.submit(_worker_predict, records))
        done.add_done_callback(lambda f: self._deliver(batch, None if f.exception() else f.result(), f.exception()))

    @staticmethod
    def _deliver(batch, results, error) -> None:
        for n, (_, future) in enumerate(batch):
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(results[n])
