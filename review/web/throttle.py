"""Login throttling that a flood cannot reset, and failed sign-ins in the audit log without a row each.

- **Per account**: the ``attempts``-th failure within ``window`` locks the account for
  ``window`` — its right password is refused too. The counter lives in the accounts file
  (``Users.login_failed``), so no number of other sign-ins, and no restart, clears it. Names
  that are not accounts get no state at all.
- **Per address** (an IPv6 address counts by its /64): ``address_attempts`` failures within
  ``window``, then refused for ``window``; in memory, in at most ``max_addresses`` buckets.
  When full, buckets with nothing running go first, then the oldest that is not refusing; a
  refusing bucket is never dropped, and an address finding no room shares one overflow
  bucket held to the same limit.
- **Audit**: an account's failures make at most three rows per window — the first, the lock,
  and the rest once the window has closed (or at the next sign-in); failures for names that
  are not accounts make one row per window at the first and one for the rest (with the
  busiest addresses) after. Each row's ``count`` is how many failures it stands for, so the
  counts add up. The append-only log grows with time, not with what an attacker sends.
  Names that are not accounts are never written down (people type passwords into the name
  field).
"""
from __future__ import annotations

import ipaddress
import threading
from collections import Counter, OrderedDict
from datetime import UTC, datetime, timedelta

from common.clock import SYSTEM
from store.states import audit

TOP_ADDRESSES = 10
MAX_COUNTED = 1000          # addresses told apart in one window's count of unknown-name failures


def address_key(address: str | None) -> str:
    """The bucket of a client address: itself, or its /64 for IPv6 (one host usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "-"
    if ip.version == 6:
        if ip.ipv4_mapped:                  # ::ffff:192.0.2.1 is 192.0.2.1
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class _Bucket:
    __slots__ = ("since", "failures", "refused_until")

    def __init__(self, now: datetime):
        self.since, self.failures, self.refused_until = now, 0, None


class LoginGuard:
    def __init__(self, attempts: int = 5, address_attempts: int = 20, window: float = 300,
                 max_addresses: int = 10_000, clock=None):
        self.attempts, self.address_attempts = attempts, address_attempts
        self.window = timedelta(seconds=window)
        self.max_addresses = max_addresses
        self.clock = clock or SYSTEM.now
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._overflow = _Bucket(self.clock())
        self._full_until = self.clock()
        self._unknown = None            # names that are not accounts: [since, count, Counter of addresses, uncounted]

    @property
    def addresses(self) -> int:
        """How many addresses have a bucket of their own (at most ``max_addresses``)."""
        return len(self._buckets)

    # -- what the login page calls ------------------------------------------------------------
    def refused(self, users, name: str, address: str | None) -> str | None:
        """Why this sign-in is refused without looking at the password: "address", "account" or None."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(address_key(address)) or self._overflow_for()
            if bucket is not None and bucket.refused_until and bucket.refused_until > now:
                return "address"
        return "account" if name and users.locked_until(name, now) else None

    def failed(self, users, name: str, address: str | None) -> None:
        """Count a failed or refused sign-in, and write the audit rows it calls for."""
        now = self.clock()
        self._count_address(address, now)
        result = users.login_failed(name, now, self.window, self.attempts) if name else None
        rows = []
        if result is None:
            rows += self._count_unknown(address, now)
        else:
            if result["closed"]:
                rows.append(self._summary(name, *result["closed"]))
            if result["locked_until"]:
                rows.append((name, "login_locked", {"ip": address, "count": result["covered"],
                                                    "until": _iso(result["locked_until"])}))
            elif result["first"]:
                rows.append((name, "login_failed", {"ip": address, "count": 1}))
        self._write(users, rows + self._closed(users, now))

    def succeeded(self, users, name: str, address: str | None) -> None:
        """The account's failures are forgiven (after the audit log has their count); the address's are not."""
        now = self.clock()
        pending = users.login_succeeded(name)
        rows = [self._summary(name, *pending)] if pending else []
        self._write(users, rows + self._closed(users, now))

    def flush(self, users, final: bool = False) -> None:
        """Write the counts of windows that have closed (also done at every sign-in); ``final``
        (at shutdown) also the count held in memory for unknown names, whose window is cut short."""
        now = self.clock()
        with self._lock:
            rows = self._close_unknown(now + self.window if final else now)
        self._write(users, rows + self._closed(users, now))

    # -- addresses ------------------------------------------------------------------------------
    def _count_address(self, address: str | None, now: datetime) -> None:
        key = address_key(address)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None:
                self._buckets.move_to_end(key)
            elif self._room(now):
                bucket = self._buckets[key] = _Bucket(now)
            else:
                bucket = self._overflow
            if now >= bucket.since + self.window:
                bucket.since, bucket.failures = now, 0
            bucket.failures += 1
            if bucket.failures >= self.address_attempts and not (bucket.refused_until and bucket.refused_until > now):
                bucket.refused_until = now + self.window

    def _overflow_for(self) -> _Bucket | None:
        """Addresses that found no room share the overflow bucket while the table is full."""
        return self._overflow if len(self._buckets) >= self.max_addresses else None

    def _room(self, now: datetime) -> bool:
        """Make room for one more bucket if that is possible without forgetting a refusal."""
        if len(self._buckets) < self.max_addresses:
            return True
        if now < self._full_until:          # every bucket was refusing, and none has ended since
            return False
        for key, bucket in self._buckets.items():        # least recently failed first
            if not (bucket.refused_until and bucket.refused_until > now):
                del self._buckets[key]
                return True
        # All refusing: no scan (10,000 buckets per sign-in) until the first refusal ends.
        self._full_until = min(bucket.refused_until for bucket in self._buckets.values())
        return False

    # -- the audit log ---------------------------------------------------------------------------
    def _count_unknown(self, address: str | None, now: datetime) -> list:
        with self._lock:
            rows = self._close_unknown(now)
            if self._unknown is None:
                self._unknown = [now, 0, Counter(), 0]
                rows.append(("-", "login_failed", {"ip": address, "count": 1, "account": "none"}))
            self._unknown[1] += 1
            addresses, key = self._unknown[2], address_key(address)
            if key in addresses or len(addresses) < MAX_COUNTED:
                addresses[key] += 1
            else:
                self._unknown[3] += 1               # failures from addresses beyond the first MAX_COUNTED
            return rows

    def _close_unknown(self, now: datetime) -> list:
        if self._unknown is None or now < self._unknown[0] + self.window:
            return []
        since, count, addresses, uncounted = self._unknown
        self._unknown = None
        if count <= 1:
            return []
        # count: the failures after the window's first (which has its own row); top: the busiest
        # addresses over the whole window; addresses: how many of them (at most MAX_COUNTED are told apart).
        return [("-", "login_failed", {"count": count - 1, "account": "none", "since": _iso(since),
                                       "until": _iso(since + self.window), "addresses": len(addresses),
                                       "more_addresses": uncounted > 0,
                                       "top": dict(addresses.most_common(TOP_ADDRESSES))})]

    def _closed(self, users, now: datetime) -> list:
        with self._lock:
            rows = self._close_unknown(now)
        return rows + [self._summary(name, count, since) for name, count, since in
                       users.closed_login_windows(now, self.window)]

    def _summary(self, name: str, count: int, since: datetime) -> tuple:
        return (name, "login_failed", {"count": count, "since": _iso(since), "until": _iso(since + self.window)})

    @staticmethod
    def _write(users, rows: list) -> None:
        if rows:
            with users.db.atomic():
                for actor, action, detail in rows:
                    audit(users.db.conn, actor, action, None, detail)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")
