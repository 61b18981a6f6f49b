"""Crawl progress at a terminal: one live rich line per platform (Scrapy's LogStats is per minute).

The CLI turns it on (SWEEP_PROGRESS_INTERVAL) only when stderr is a terminal, so cron output stays
quiet. Every platform's line counts what the run's summary table counts (crawler/stats.summarise);
its final flagged count is read from the database, as the table's is.
"""
from __future__ import annotations

import sqlite3

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from .stats import summarise

_shared: dict = {"bar": None, "open": 0}      # one live display for the spiders of one process


def _bar():
    if _shared["bar"] is None:
        from rich.console import Console
        from rich.progress import Progress as Bar, SpinnerColumn, TextColumn, TimeElapsedColumn

        _shared["bar"] = Bar(SpinnerColumn(finished_text="✓"), TextColumn("{task.description}", markup=False),
                             TimeElapsedColumn(), console=Console(stderr=True))
        _shared["bar"].start()
    _shared["open"] += 1
    return _shared["bar"]


def _release() -> None:
    _shared["open"] -= 1
    if _shared["open"] == 0 and _shared["bar"] is not None:
        _shared["bar"].stop()          # leaves the final lines on the screen
        _shared["bar"] = None


class Progress:
    """Settings read: SWEEP_PROGRESS_INTERVAL (seconds; 0 turns it off), SWEEP_DB, SWEEP_RUN_ID."""

    def __init__(self, crawler, interval: float, db_path: str | None = None, run_id: int | None = None):
        self.crawler = crawler
        self.interval = interval
        self.db_path = db_path
        self.run_id = run_id
        self.loop = None
        self.bar = None
        self.task = None

    @classmethod
    def from_crawler(cls, crawler):
        interval = crawler.settings.getfloat("SWEEP_PROGRESS_INTERVAL")
        if not interval:
            raise NotConfigured
        ext = cls(crawler, interval, crawler.settings.get("SWEEP_DB"), crawler.settings.get("SWEEP_RUN_ID"))
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self, spider):
        self.bar = _bar()
        self.task = self.bar.add_task(self.line(spider), total=None)
        self.loop = task.LoopingCall(self.report, spider)
        self.loop.start(self.interval, now=False)

    def closed(self, spider):
        if self.loop and self.loop.running:
            self.loop.stop()
        if self.bar is not None:
            self.bar.update(self.task, description=self.line(spider, final=True), total=1, completed=1)
            _release()

    def report(self, spider):
        self.bar.update(self.task, description=self.line(spider))

    def flagged(self, name: str) -> int | None:
        """Listings of this platform flagged in this run, as the summary table counts them."""
        if not self.db_path or self.run_id is None:
            return None
        try:
            con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
            try:
                return con.execute("SELECT count(*) FROM listings WHERE platform = ? AND last_run_id = ? AND "
                                   "flagged = 1", [name, self.run_id]).fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return None

    def line(self, spider, final: bool = False) -> str:
        s = self.crawler.stats.get_stats()
        p = summarise(s)
        flagged = self.flagged(spider.profile.name) if final else None
        if flagged is None:
            flagged = f"{sum(v for k, v in s.items() if k.startswith('sweep/flagged/'))} new or changed"
        return (f"[{spider.profile.name}] {'done: ' if final else ''}{p['pages']} pages, {p['listings']} listings "
                f"({p['new']} new, {p['changed']} changed), {flagged} flagged")
