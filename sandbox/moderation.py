"""Report intake and moderation: what a platform does after a listing is reported.

Each listing's outcome is fixed by the catalogue seed: removed after ``delay`` seconds
with a realistic signal (404, 410, a 200 "已下架" page, a redirect to search), never
removed, or removed and then relisted by the same seller under a new id.
"""
from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field, replace

from .catalogue import Catalogue, Row

REMOVED_OUTCOMES = {"gone_404", "gone_410", "soft_removed", "redirect", "relist"}


@dataclass
class Report:
    report_id: str
    platform: str
    listing_key: str | None
    url: str
    category: str
    reason: str
    reporter: str
    idempotency_key: str | None
    received_at: float
    listing_keys: list[str] = field(default_factory=list)
    withdrawn: dict[str, str] = field(default_factory=dict)     # listing key -> the reporter's reason


class Moderation:
    """Reports per platform, pending removals, removed listings and relists."""

    def __init__(self, catalogue: Catalogue, delay: float = 5.0, clock=time.time):
        self.catalogue = catalogue
        self.delay = delay
        self.clock = clock
        self.reports: dict[str, Report] = {}
        self.by_idempotency: dict[tuple[str, str], str] = {}
        self.removed: dict[str, str] = {}         # listing key -> signal
        self.relisted: dict[str, str] = {}        # removed key -> new key
        self._due: list[tuple[float, str]] = []
        self._ids = itertools.count(1)
        self.closed_shops: set[tuple[str, str]] = set()    # (platform, seller id): every listing reads 该店铺已关闭
        self.glitches: dict[str, list[int]] = {}           # listing key -> [requests left, status]: transient errors

    def file(self, platform: str, keys: list[str], url: str, category: str, reason: str,
             reporter: str, idempotency_key: str | None) -> tuple[Report, bool]:
        """Record a report; returns (report, created). A repeated idempotency key is not a new report."""
        if idempotency_key and (platform, idempotency_key) in self.by_idempotency:
            return self.reports[self.by_idempotency[(platform, idempotency_key)]], False
        report = Report(f"{platform[:2].upper()}{next(self._ids):06d}", platform, keys[0] if keys else None,
                        url, category, reason, reporter, idempotency_key, self.clock(), list(keys))
        self.reports[report.report_id] = report
        if idempotency_key:
            self.by_idempotency[(platform, idempotency_key)] = report.report_id
        for key in keys:
            heapq.heappush(self._due, (report.received_at + self.delay, key))
        return report, True

    def withdraw(self, report_id: str, keys: list[str], reason: str) -> Report | None:
        """The reporter takes a report back for ``keys``: listings not yet removed stay up (unless
        another report still asks for them). None for an unknown report."""
        report = self.reports.get(report_id)
        if report is None:
            return None
        for key in keys:
            if key in report.listing_keys:
                report.withdrawn[key] = reason
        return report

    def _still_asked(self, key: str) -> bool:
        return any(key in r.listing_keys and key not in r.withdrawn for r in self.reports.values())

    def apply_due(self) -> None:
        """Carry out removals whose delay has passed (called before serving each request)."""
        now = self.clock()
        while self._due and self._due[0][0] <= now:
            _, key = heapq.heappop(self._due)
            row = self.find(key)
            if row is None or key in self.removed or row.outcome not in REMOVED_OUTCOMES or not self._still_asked(key):
                continue
            self.removed[key] = row.outcome
            if row.outcome == "relist":
                self._relist(row)

    def _relist(self, row: Row) -> None:
        table = self._table(row.platform)
        if row.pid.isdigit():
            new_pid = str(max(int(pid) for pid in table if pid.isdigit()) + 7)
        else:                                    # a repository or channel comes back under a new name
            new_pid = row.pid + "_2"
        suffix = {"forum": " (重发)", "codehost": " (备份)", "social": " 备用"}.get(row.platform, " 新款")
        clone = replace(row, pid=new_pid, key=f"{row.platform}:{new_pid}", outcome="never", title=row.title + suffix)
        table[new_pid] = clone
        self.relisted[row.key] = clone.key

    def _table(self, platform: str) -> dict[str, Row]:
        return self.catalogue.tables()[platform]

    def find(self, key: str) -> Row | None:
        platform, _, pid = key.partition(":")
        table = self.catalogue.tables().get(platform)
        return table.get(pid) if table is not None else None

    def signal(self, row: Row) -> str | None:
        """None while the listing is live, else how its removal shows."""
        return self.removed.get(row.key)

    def is_live(self, row: Row) -> bool:
        return row.key not in self.removed and (row.platform, row.seller_id) not in self.closed_shops

    def close_shop(self, platform: str, seller_id: str) -> None:
        """The platform closes a seller's shop: its listings vanish from lists and read "shop closed"."""
        self.closed_shops.add((platform, seller_id))

    def glitch(self, key: str, count: int, status: int = 404) -> None:
        """The next ``count`` requests for a listing fail with ``status`` (a deploy, a flaky CDN node)."""
        self.glitches[key] = [count, status]

    def take_glitch(self, key: str) -> int | None:
        left = self.glitches.get(key)
        if not left or left[0] <= 0:
            return None
        left[0] -= 1
        return left[1]
