"""The one clock: every "what time is it" in Sweep, and every wait on business time, comes from here.

A clock has ``now()`` (an aware UTC datetime) and ``sleep(seconds)`` (:class:`Clock`). Code that
asks for the time takes one (or an ``at``/``now`` value made from one), defaulting to ``SYSTEM``,
so ``--now`` holds everywhere it is offered and tests run days of deadlines in seconds. Nothing
else calls ``datetime.now()`` or ``time.time()`` for the time (tests/test_common_clock.py checks);
durations are measured with ``time.monotonic()``, which no clock moves.

- ``SystemClock()`` — real time, real sleeps (production).
- ``OffsetClock(start)`` — starts at ``start`` and runs at real speed; sleeps are real. This is
  what ``--now`` gives a CLI command: business time is moved, the network is not.
- ``ManualClock(start)`` — stands still until ``advance()``; ``sleep()`` advances it instantly,
  so rate limits and backoff are checked without waiting.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


def utc(dt: datetime) -> datetime:
    """An aware UTC datetime (naive values are taken to be UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """The one timestamp format in the database: ISO 8601, UTC, seconds."""
    return utc(dt).isoformat(timespec="seconds")


def parse_iso(text: str | None) -> datetime | None:
    """Read a stored timestamp (or a --now argument); None stays None."""
    if not text:
        return None
    try:
        return utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time (e.g. 2026-11-28T09:00:00+00:00)") from None


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class OffsetClock(SystemClock):
    """Real time shifted so that it reads ``start`` at construction."""

    def __init__(self, start: datetime):
        self._offset = utc(start) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


def shifted(seconds: float) -> Clock:
    """Real time moved by ``seconds`` — how a clock crosses into a crawl, whose settings carry numbers:
    ``offset_of(clock)`` there, ``shifted(offset)`` here."""
    if not seconds:
        return SYSTEM
    clock = OffsetClock.__new__(OffsetClock)
    clock._offset = timedelta(seconds=seconds)
    return clock


def offset_of(clock: Clock) -> float:
    """How far ``clock`` reads ahead of real time now, in seconds (0 for the system clock)."""
    return 0.0 if clock is SYSTEM else (clock.now() - datetime.now(UTC)).total_seconds()


class ManualClock:
    """Time that only moves when told to (tests)."""

    def __init__(self, start: datetime | str = "2026-11-28T09:00:00+00:00"):
        self._now = parse_iso(start) if isinstance(start, str) else utc(start)
        self.slept = 0.0

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta) -> datetime:
        """``clock.advance(hours=25)``; returns the new time."""
        self._now += timedelta(**delta)
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept += seconds
            self._now += timedelta(seconds=seconds)


SYSTEM = SystemClock()


class _CallableClock(SystemClock):
    """A clock around a callable returning an aware datetime (tests hand one in); sleeps are real."""

    def __init__(self, fn: Callable[[], datetime]):
        self.fn = fn

    def now(self) -> datetime:
        return self.fn()


def as_clock(clock: Clock | Callable[[], datetime] | None) -> Clock:
    """A clock from a clock, a callable returning the time, or None (the system clock)."""
    if clock is None:
        return SYSTEM
    return clock if hasattr(clock, "now") else _CallableClock(clock)


def clock_for(now: str | None):
    """The clock a CLI command runs on: real time, or real time moved to ``--now``."""
    return OffsetClock(parse_iso(now)) if now else SYSTEM
