"""What a crawl says on stderr without -v: one line per problem, no tracebacks.

Installed on Scrapy's log handler by crawler/run.py when SWEEP_LOG_TRACEBACKS is off (the CLI
turns it on with -v). Dropped: tracebacks (the line before says what failed), Spidermon's
reports (the CLI names every failed check in one line), Scrapy's per-request retry and robots.txt
errors (counted in the stats; the spider logs each failed URL), and a connection failure already
said for the same platform (an unreachable platform fails every seed alike).
"""
from __future__ import annotations

import logging

CONNECTION_ERRORS = ("Connection was refused", "DNS lookup failed", "TCP connection timed out", "Connection lost",
                     "Could not open CONNECT tunnel", "No route to host", "Network is unreachable",
                     "User timeout caused connection failure")
_PER_REQUEST = ("Gave up retrying", "Error downloading")


class QuietLog(logging.Filter):
    def __init__(self):
        super().__init__()
        self.said: set[tuple[str, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        if record.name.startswith("scrapy.downloadermiddlewares.") and text.startswith(_PER_REQUEST):
            return False
        if text.startswith("[Spidermon]"):
            return False
        record.exc_info = record.exc_text = record.stack_info = None
        error = str(record.args[-1]) if isinstance(record.args, tuple) and record.args else ""
        if any(e in error for e in CONNECTION_ERRORS):
            key = (record.name, error)
            if key in self.said:
                return False
            self.said.add(key)
        return True


def install(handler: logging.Handler | None) -> None:
    if handler is not None and not any(isinstance(f, QuietLog) for f in handler.filters):
        handler.addFilter(QuietLog())
