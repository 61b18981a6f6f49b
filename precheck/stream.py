"""Stream mode (`sweep check-stream`): decide listings from a Redis Stream, as many consumers as you like.

Input: entries of ``<prefix>:check:in`` with a field ``listing`` (the same JSON object the API takes).
Output: for each, an entry of ``<prefix>:check:out`` with ``entry`` (the input id), ``decision``
(the API's JSON result) or ``error`` (a listing that is not valid, with the field). Consumers share
the group ``<prefix>:check`` (XREADGROUP): each entry goes to one of them, and is acknowledged in
one server-side script with adding its output, and only while this consumer still owns it: an
entry is never acked without its decision and never decided twice. A consumer that dies leaves
its entries pending; every consumer first claims entries idle longer than ``claim_idle_ms``
(XAUTOCLAIM) — a killed consumer's work is finished by the others. A slow consumer whose entries
were claimed meanwhile drops its answers to them (``lost``); the new owner's answer stands.
Entries are JSON checked by decide.validate, never pickle.
"""
from __future__ import annotations

import json
import logging
import os
import socket

from precheck.decide import InvalidListing, validate

log = logging.getLogger(__name__)
MAX_ENTRY = 1_000_000
# KEYS: in, out. ARGV: group, consumer, maxlen (0: none), then (id, field, payload) triples.
# Writes and acks each entry only if this consumer still owns it; returns how many it wrote.
_WRITE_OWNED = """
local written = 0
for i = 4, #ARGV, 3 do
  local id = ARGV[i]
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if p[1] and p[1][2] == ARGV[2] then
    if ARGV[3] ~= '0' then
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'entry', id, ARGV[i + 1], ARGV[i + 2])
    else
      redis.call('XADD', KEYS[2], '*', 'entry', id, ARGV[i + 1], ARGV[i + 2])
    end
    redis.call('XACK', KEYS[1], ARGV[1], id)
    written = written + 1
  end
end
return written
"""


def stream_keys(prefix: str) -> dict:
    return {"in": f"{prefix}:check:in", "out": f"{prefix}:check:out", "group": f"{prefix}:check"}


def ensure_group(server, keys: dict) -> None:
    import redis

    try:
        server.xgroup_create(keys["in"], keys["group"], id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _parse(fields: dict) -> dict:
    raw = fields.get(b"listing")
    if raw is None:
        raise InvalidListing("listing", "the entry has no 'listing' field")
    if len(raw) > MAX_ENTRY:
        raise InvalidListing("listing", f"over {MAX_ENTRY} bytes")
    try:
        return validate(json.loads(raw.decode("utf-8"), parse_constant=lambda c: (_ for _ in ()).throw(
            ValueError(f"{c} is not JSON"))))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if isinstance(exc, InvalidListing):
            raise
        raise InvalidListing("listing", f"not valid JSON ({str(exc)[:100]})") from None


class StreamChecker:
    def __init__(self, server, checker, prefix: str = "sweep", consumer: str | None = None, batch: int = 100,
                 block_ms: int = 1000, claim_idle_ms: int = 30_000, decision_log=None, maxlen: int | None = None):
        self.server, self.checker = server, checker
        self.keys = stream_keys(prefix)
        self.consumer = consumer or default_consumer()
        self.batch, self.block_ms, self.claim_idle_ms = batch, block_ms, claim_idle_ms
        self.decision_log, self.maxlen = decision_log, maxlen
        self.counts = {"decided": 0, "invalid": 0, "claimed": 0, "lost": 0}
        self._write = server.register_script(_WRITE_OWNED)
        ensure_group(server, self.keys)

    def _claim(self) -> list:
        _next, entries, *_ = self.server.xautoclaim(self.keys["in"], self.keys["group"], self.consumer,
                                                    self.claim_idle_ms, start_id="0-0", count=self.batch)
        entries = [e for e in entries if e and e[1] is not None]
        self.counts["claimed"] += len(entries)
        return entries

    def _read(self) -> list:
        got = self.server.xreadgroup(self.keys["group"], self.consumer, {self.keys["in"]: ">"},
                                     count=self.batch, block=self.block_ms)
        return got[0][1] if got else []

    def step(self) -> int:
        """Claim abandoned entries, else read new ones; decide, write and ack them. Returns how many."""
        return self.answer(self._claim() or self._read())

    def answer(self, entries: list) -> int:
        """Decide ``entries`` and write and ack those this consumer still owns."""
        if not entries:
            return 0
        good, bad = [], []
        for entry_id, fields in entries:
            try:
                good.append((entry_id, _parse(fields)))
            except InvalidListing as exc:
                bad.append((entry_id, {"field": exc.field, "message": str(exc)}))
        results = self.checker.check([listing for _, listing in good]) if good else []
        args = [self.keys["group"], self.consumer, self.maxlen or 0]
        for (entry_id, _), result in zip(good, results):
            args += [entry_id, "decision", json.dumps(result, ensure_ascii=False)]
        for entry_id, error in bad:
            args += [entry_id, "error", json.dumps(error, ensure_ascii=False)]
        written = self._write(keys=[self.keys["in"], self.keys["out"]], args=args)
        self.counts["lost"] += len(entries) - written
        self.counts["decided"] += len(good)
        self.counts["invalid"] += len(bad)
        if bad:
            log.warning("%d stream entries were not valid listings (first: %s)", len(bad), bad[0][1]["message"])
        if self.decision_log is not None and good:
            self.decision_log.record(f"stream:{self.consumer}", "stream", [g for _, g in good], results)
        return len(entries)

    def run(self, stop=lambda: False, exit_when_idle: float | None = None, clock=None) -> dict:
        import time

        clock = clock or time.monotonic
        idle_since = clock()
        while not stop():
            if self.step():
                idle_since = clock()
            elif exit_when_idle is not None and clock() - idle_since >= exit_when_idle:
                if not self.server.xpending(self.keys["in"], self.keys["group"])["pending"]:
                    break
        return self.counts
