"""Every Redis key of a distributed crawl, from one prefix (SWEEP_REDIS_PREFIX, default "sweep").

Per platform (profile name):
    <prefix>:<platform>:requests                 list  — the shared request queue (FIFO)
    <prefix>:<platform>:dupefilter               set   — fingerprints of every request queued in this crawl
    <prefix>:<platform>:processing:<worker>      list  — requests a worker popped and has not acknowledged
Per worker:
    <prefix>:worker:<worker>                     string with a TTL — the heartbeat
Shared:
    <prefix>:items                               list  — listings for `sweep ingest`
    <prefix>:items:processing                    list  — listings `sweep ingest` popped and has not committed
    <prefix>:ingest                              string with a TTL — held by the one running `sweep ingest`
    <prefix>:platforms                           hash  — platform name → its profile (kind, base URL) as JSON
    <prefix>:rejected                            list  — the newest entries refused as not valid JSON of their kind
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "sweep"

    def requests(self, platform: str) -> str:
        return f"{self.prefix}:{platform}:requests"

    def dupefilter(self, platform: str) -> str:
        return f"{self.prefix}:{platform}:dupefilter"

    def processing(self, platform: str, worker: str) -> str:
        return f"{self.prefix}:{platform}:processing:{worker}"

    def processing_pattern(self, platform: str = "*") -> str:
        return f"{self.prefix}:{platform}:processing:*"

    def worker_of(self, processing_key: str) -> str:
        return processing_key.rsplit(":processing:", 1)[1]

    def heartbeat(self, worker: str) -> str:
        return f"{self.prefix}:worker:{worker}"

    @property
    def heartbeats(self) -> str:
        return f"{self.prefix}:worker:*"

    @property
    def request_queues(self) -> str:
        return f"{self.prefix}:*:requests"

    @property
    def items(self) -> str:
        return f"{self.prefix}:items"

    @property
    def items_processing(self) -> str:
        return f"{self.prefix}:items:processing"

    @property
    def ingest_lock(self) -> str:
        return f"{self.prefix}:ingest"

    @property
    def rejected(self) -> str:
        return f"{self.prefix}:rejected"

    @property
    def platforms(self) -> str:
        return f"{self.prefix}:platforms"
