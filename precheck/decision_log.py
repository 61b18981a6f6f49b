"""The audit log of check decisions, sampled and written off the request path.

Every ``block`` and ``review`` is logged; ``allow`` decisions are logged at ``sample_allow``
(``[check] sample_allow``, default 0.05; sampled by a hash of the listing, so the same listing
is either always or never in the sample). Rows are queued and written in batches by one thread,
so a check never waits for SQLite; ``close()`` writes what is queued. What could not be queued
(the queue is full: the database is stuck) is counted in ``dropped``, never blocks a check.
"""
from __future__ import annotations

import hashlib
import json
import queue
import threading

from common.clock import SYSTEM


def sampled(decision: str, listing: dict, rate: float) -> bool:
    if decision != "allow":
        return True
    if rate <= 0:
        return False
    blob = json.dumps(listing, ensure_ascii=False, sort_keys=True).encode("utf-8", "replace")
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big") / 2 ** 64 < rate


class DecisionLog:
    def __init__(self, db_path: str, sample_allow: float = 0.05, max_queue: int = 100_000):
        self.db_path, self.sample_allow = db_path, sample_allow
        self.queue: queue.Queue = queue.Queue(max_queue)
        self.written = self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="check-decision-log", daemon=True)
        self._thread.start()

    def record(self, api_key: str, via: str, listings: list[dict], results: list[dict]) -> None:
        at = SYSTEM.now().isoformat(timespec="milliseconds")
        for listing, r in zip(listings, results):
            if not sampled(r["decision"], listing, self.sample_allow):
                continue
            row = (at, api_key, via, r["decision"], r["label"], r["score"],
                   json.dumps(r["matches"], ensure_ascii=False), json.dumps(listing, ensure_ascii=False),
                   int(r["decision"] == "allow"))
            try:
                self.queue.put_nowait(row)
            except queue.Full:
                self.dropped += 1

    def _run(self) -> None:
        from store.db import open_db

        db = open_db(self.db_path)
        try:
            while True:
                rows = [self.queue.get()]
                while len(rows) < 1000:
                    try:
                        rows.append(self.queue.get_nowait())
                    except queue.Empty:
                        break
                stop = rows[-1] is None
                rows = [r for r in rows if r is not None]
                if rows:
                    with db.conn:
                        db.conn.executemany(
                            "INSERT INTO check_decisions (at, api_key, via, decision, label, score, matches, listing, "
                            "sampled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                    self.written += len(rows)
                if stop:
                    return
        finally:
            db.close()

    def close(self, timeout: float = 30.0) -> None:
        self.queue.put(None)
        self._thread.join(timeout)
