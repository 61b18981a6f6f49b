"""Where checks run: off the event loop, micro-batched, in the server process or in worker processes.

The model costs ~3x more per listing called one listing at a time than in a batch (a fixed cost per
call in scikit-learn and scipy), so single checks that arrive while a check is running are taken
together as one batch (up to ``max_batch`` listings) as soon as a runner is free — nobody waits for
a batch to fill. ``[check] workers`` sets where: 0 runs one runner thread in the server process;
N >= 1 runs N worker processes (each loads the model and the banks once and refreshes its banks),
so a 2-core machine checks on both cores while the server process keeps parsing HTTP. Keys, rate
limits and the decision log stay in the server process, so a key's rate is one limit, not one per
worker. A worker that dies fails the checks it held (``WorkerLost``, the API's 503) and is replaced.
"""
from __future__ import annotations

import collections
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context


class WorkerLost(RuntimeError):
    pass


def keep_banks_fresh(checker, load_banks, every: float, stop: threading.Event | None = None) -> threading.Thread:
    """Rebuild ``checker.banks`` from the database every ``every`` seconds in a daemon thread."""
    stop = stop or threading.Event()

    def run():
        while not stop.wait(every):
            try:
                checker.banks = load_banks()
            except Exception:        # a locked or busy database: keep the banks we have, try again later
                continue

    thread = threading.Thread(target=run, daemon=True, name="check-banks")
    thread.start()
    return thread


def bank_sizes(banks) -> dict:
    return {**{k: len(v) for k, v in banks.entries.items()}, "signature": len(banks.signatures)}


_worker_checker = None


def _worker_init(spec: dict, parent_pid: int) -> None:
    global _worker_checker
    from classifier.die_with_parent import die_with_parent

    from precheck.setup import make_checker

    die_with_parent(parent_pid)          # a killed server must not leave its model processes behind
    _worker_checker, load_banks, every = make_checker(**spec)
    if every > 0:
        keep_banks_fresh(_worker_checker, load_banks, every)


def _worker_check(listings: list[dict]) -> tuple[list[dict], dict, str, int]:
    return (_worker_checker.check(listings), bank_sizes(_worker_checker.banks),
            _worker_checker.classifier.version, os.getpid())


class CheckPool:
    """``submit(listings)`` → a Future of the decisions; ``check(listings)`` waits for them.

    ``spec`` is what :func:`precheck.setup.make_checker` takes (db_path, config data, model_path)."""

    def __init__(self, spec: dict, workers: int = 0, max_batch: int = 1000):
        from precheck.setup import make_checker

        self.spec, self.workers, self.max_batch = spec, workers, max_batch
        self._pending: collections.deque = collections.deque()
        self._cv = threading.Condition()
        self._closed = False
        self._stop = threading.Event()
        self.stats = {"calls": 0, "coalesced": 0}         # model calls; requests that shared another's call
        self.executor = None
        self.worker_pids: set[int] = set()
        if workers <= 0:
            self.checker, load_banks, every = make_checker(**spec)
            if every > 0:
                keep_banks_fresh(self.checker, load_banks, every, self._stop)
            self.model_version, self.bank_sizes = self.checker.classifier.version, bank_sizes(self.checker.banks)
        else:
            self.checker = None
            self._start_executor()
        self._threads = [threading.Thread(target=self._dispatch, daemon=True, name=f"check-runner-{i}")
                         for i in range(max(1, workers))]
        for t in self._threads:
            t.start()

    def _start_executor(self) -> None:
        """(Re)start the worker processes and wait until each has loaded the model (a bad model fails here)."""
        from classifier.artifact import ArtifactError

        self.executor = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"), initializer=_worker_init,
                                            initargs=(self.spec, os.getpid()))
        warm = [self.executor.submit(_worker_check, []) for _ in range(self.workers)]   # one spawn each
        try:
            for f in warm:
                _, self.bank_sizes, self.model_version, pid = f.result()
                self.worker_pids.add(pid)
        except BrokenProcessPool:
            self.executor.shutdown(wait=False, cancel_futures=True)
            raise ArtifactError("a check worker failed to start (its error is above)") from None

    def submit(self, listings: list[dict]) -> Future:
        future: Future = Future()
        with self._cv:
            if self._closed:
                raise WorkerLost("the check pool is closed")
            self._pending.append((listings, future))
            self._cv.notify()
        return future

    def check(self, listings: list[dict]) -> list[dict]:
        return self.submit(listings).result()

    def _take(self) -> list | None:
        """The oldest pending job and every next one that still fits in one batch."""
        with self._cv:
            while not self._pending and not self._closed:
                self._cv.wait()
            if not self._pending:
                return None
            jobs = [self._pending.popleft()]
            size = len(jobs[0][0])
            while self._pending and size + len(self._pending[0][0]) <= self.max_batch:
                jobs.append(self._pending.popleft())
                size += len(jobs[-1][0])
            return jobs

    def _dispatch(self) -> None:
        while (jobs := self._take()) is not None:
            # A request whose client went away is cancelled (asyncio.wrap_future): skip it, never set it.
            jobs = [(batch, future) for batch, future in jobs if future.set_running_or_notify_cancel()]
            if not jobs:
                continue
            listings = [x for batch, _ in jobs for x in batch]
            self.stats["calls"] += 1
            self.stats["coalesced"] += len(jobs) - 1
            try:
                results = self._run(listings)
            except BaseException as exc:            # every waiting request gets the error, none hangs
                for _, future in jobs:
                    future.set_exception(exc)
                continue
            at = 0
            for batch, future in jobs:
                future.set_result(results[at:at + len(batch)])
                at += len(batch)

    def _run(self, listings: list[dict]) -> list[dict]:
        if self.checker is not None:
            return self.checker.check(listings)
        executor = self.executor
        try:
            results, self.bank_sizes, self.model_version, pid = executor.submit(_worker_check, listings).result()
            self.worker_pids.add(pid)
            return results
        except BrokenProcessPool:
            with self._cv:                  # one runner replaces the pool; the others see the new one
                if self.executor is executor and not self._closed:
                    executor.shutdown(wait=False, cancel_futures=True)
                    self.worker_pids.clear()
                    self._start_executor()
            raise WorkerLost("a check worker stopped while checking; it was replaced — try again") from None

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._stop.set()
        for t in self._threads:
            t.join(30)
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
