"""Rechecks: re-fetch reported listings on a schedule, confirm removals, escalate what stays up.

A listing counts as removed only after ``confirm_checks`` consecutive "gone" checks spanning
at least ``confirm_gap_hours`` (errors neither confirm nor reset; a live check resets),
because platforms answer 404 for a while during deploys and outages. What is gone is read
from the platform's profile, ``listing.removed``: status codes, soft-404 texts (商品已下架,
该帖子已被删除, 该店铺已关闭, …) and redirect targets (a search or board page).

Still live ``deadline_hours`` after it was reported → ``still_live`` → ``escalated``, and the
next ``sweep report`` files the next step of the platform's escalation ladder (re-file on
the same channels, then the next channel). With the ladder exhausted it stays
``still_live``. A removed listing that comes back at the same address goes ``still_live``.

Every fetch and every redirect hop must pass the platform's outbound policy
(takedown/fetch_policy.py, outbound/session.py), in takedown/page_check.py — the check the
channels that can check a listing share; a refused one is an ``error`` whose signal
starts ``refused:`` — never a removal.

    [recheck]  first_after_hours = 1, interval_hours = 24, confirm_checks = 2,
               confirm_gap_hours = 24, watch_removed_days = 30, removed_interval_hours = 168,
               rate_limit_per_minute = 120, max_per_cycle = 500
"""
from __future__ import annotations

import heapq
import logging
from datetime import timedelta

from common.clock import SYSTEM, iso, parse_iso
from common.config import Config
from outbound.session import PolicySession
from store.db import open_db
from store.states import transition
from takedown.channels import Channel, CheckResult, ListingRef, build_channel
from takedown.escalation import current_level, mark_needs_person
from takedown.evidence import user_agent
from takedown.fetch_policy import platform_policy
from takedown.page_check import fetch_check
from takedown.platforms import platform_settings
from takedown.policy import RateLimiter, steps
from takedown.relist import link_relists
from store.txn import immediate

log = logging.getLogger(__name__)

ACTOR = "sweep-recheck"
ACTIVE = ("reported", "still_live", "escalated")


def _settings(config: Config) -> dict:
    s = config.section("recheck")
    return {"first_after": timedelta(hours=float(s.get("first_after_hours", 1))),
            "interval": timedelta(hours=float(s.get("interval_hours", 24))),
            "confirm_checks": max(1, int(s.get("confirm_checks", 2))),
            "confirm_gap": timedelta(hours=float(s.get("confirm_gap_hours", 24))),
            "watch_removed": timedelta(days=float(s.get("watch_removed_days", 30))),
            "removed_interval": timedelta(hours=float(s.get("removed_interval_hours", 168))),
            "rate": float(s.get("rate_limit_per_minute", 120)), "max": int(s.get("max_per_cycle", 500))}


# -- scheduling ------------------------------------------------------------------------------
def _checks(conn, listing_id: str) -> list[tuple]:
    """(checked_at, status) newest first."""
    return conn.execute("SELECT checked_at, status FROM rechecks WHERE listing_id = ? "
                        "ORDER BY checked_at DESC, id DESC", [listing_id]).fetchall()


def gone_run(checks: list[tuple]) -> list:
    """Times of the trailing run of gone checks (newest first), skipping errors, stopped by a live one."""
    run = []
    for checked_at, status in checks:
        if status == "live":
            break
        if status == "gone":
            run.append(parse_iso(checked_at))
    return run


def is_due(listing: dict, checks: list[tuple], now, cfg: dict, deadline: timedelta) -> bool:
    last = (parse_iso(checks[0][0]), checks[0][1]) if checks else None
    if listing["state"] == "removed":
        removed_at = parse_iso(listing["removed_at"]) or now
        return now - removed_at <= cfg["watch_removed"] and (last is None or now >= last[0] + cfg["removed_interval"])
    anchor = parse_iso(listing["reported_at"]) or parse_iso(listing["state_changed_at"]) or now
    if last is None or last[0] < anchor:
        return now >= anchor + cfg["first_after"]
    if last[1] == "gone":
        step = cfg["confirm_gap"] / max(1, cfg["confirm_checks"] - 1)
        return now >= last[0] + min(step, cfg["interval"])
    if last[1] == "error":
        return now >= last[0] + min(cfg["interval"], timedelta(hours=1))
    if listing["state"] == "reported" and last[0] < anchor + deadline <= now:
        return True                       # check right at the deadline, not a whole interval later
    return now >= last[0] + cfg["interval"]


# -- decisions -------------------------------------------------------------------------------
def _decide(conn, listing: dict, result: CheckResult, ps, cfg: dict, now, summary: dict) -> None:
    lid, state = listing["id"], listing["state"]
    at = iso(now)
    conn.execute("INSERT INTO rechecks (listing_id, checked_at, status, signal, http_status) VALUES (?, ?, ?, ?, ?)",
                 [lid, at, result.status, result.signal, result.http_status])
    if result.status == "error":
        return
    if state == "removed":
        if result.status == "live":
            transition(conn, lid, "still_live", ACTOR, "back at the same address after removal", at=now)
            conn.execute("UPDATE listings SET removed_at = NULL WHERE id = ?", [lid])
            summary["came_back"] += 1
        return
    if result.status == "gone":
        run = gone_run(_checks(conn, lid))
        if len(run) >= cfg["confirm_checks"] and run[0] - run[-1] >= (cfg["confirm_gap"] if len(run) > 1 else
                                                                      timedelta(0)):
            transition(conn, lid, "removed", ACTOR,
                       f"{len(run)} consistent checks since {iso(run[-1])}: {result.signal}", at=now,
                       detail={"signal": result.signal})
            conn.execute("UPDATE listings SET removed_at = ? WHERE id = ?", [iso(run[-1]), lid])
            summary["removed"] += 1
        return
    # Live. Past the deadline since the last filing → the next step of the ladder, if any.
    reported_at = parse_iso(listing["reported_at"])
    if state not in ("reported", "still_live") or reported_at is None:
        return
    if now < reported_at + timedelta(hours=ps.deadline_hours):
        return
    level = current_level(conn, lid) + 1
    reason = f"still live {now - reported_at} after it was reported (deadline {ps.deadline_hours:g} h)"
    if state == "reported":
        transition(conn, lid, "still_live", ACTOR, reason, at=now)
        summary["still_live"] += 1
    if steps(ps, level):
        transition(conn, lid, "escalated", ACTOR, f"{reason}; escalation level {level}", at=now,
                   detail={"escalation_level": level, "channels": steps(ps, level)})
        summary["escalated"] += 1
    elif mark_needs_person(conn, lid, reason, now, ACTOR):      # the ladder has no step left
        summary["needs_person"] += 1


def due_listings(db, config: Config, clock=SYSTEM, force: bool = False) -> list[dict]:
    cfg, now = _settings(config), clock.now()
    # Only rows that can be due: every takedown in flight, and removals still watched. One stream per state in
    # (reported_at, id) order through listings_state_reported, merged here, read only until ``max`` are due:
    # never a sort of every takedown, never years of removed listings.
    cols = ("SELECT id, platform, platform_id, kind, url, title, label, seller_id, state, reported_at, removed_at, "
            "state_changed_at FROM listings WHERE state = ?")
    watched_since = iso(now - cfg["watch_removed"])
    streams = [map(dict, db.query(f"{cols} ORDER BY reported_at, id", [state]))
               for state in ("reported", "still_live", "escalated")]
    order = lambda r: (r["reported_at"] is not None, r["reported_at"] or "", r["id"])  # noqa: E731 — SQL's order
    # Removals still watched: a range of the (state, removed_at) index — the last watch_removed days only.
    watched = [dict(r) for r in db.query(f"{cols} AND removed_at >= ?", ["removed", watched_since])]
    watched += [dict(r) for r in db.query(f"{cols} AND removed_at IS NULL", ["removed"])]
    streams.append(iter(sorted(watched, key=order)))
    rows = heapq.merge(*streams, key=order)
    deadlines: dict[str, timedelta] = {}
    due = []
    for row in rows:
        if len(due) >= cfg["max"]:
            break
        if row["platform"] not in deadlines:
            deadlines[row["platform"]] = timedelta(hours=platform_settings(db, config, row["platform"]).deadline_hours)
        if force and row["state"] != "removed" or is_due(row, _checks(db.conn, row["id"]), now, cfg,
                                                          deadlines[row["platform"]]):
            due.append(row)
    return due


def recheck_due(db_path, config: Config | None = None, clock=SYSTEM, force: bool = False) -> dict:
    """Scheduler hook: recheck what is due, confirm removals, escalate, link relists; returns counts."""
    config = config or Config()
    cfg = _settings(config)
    summary = {"checked": 0, "live": 0, "gone": 0, "error": 0, "removed": 0, "still_live": 0, "escalated": 0,
               "came_back": 0, "relisted": 0, "needs_person": 0}
    db = open_db(db_path)
    limiter, checkers, settings_of, sessions = RateLimiter(clock), {}, {}, []
    try:
        for listing in due_listings(db, config, clock, force):
            platform = listing["platform"]
            if platform not in settings_of:
                settings_of[platform] = ps = platform_settings(db, config, platform)
                session = PolicySession(platform_policy(db, config, platform).policy)
                session.headers["User-Agent"] = user_agent(config)
                sessions.append(session)
                checkers[platform] = _checker(ps, config, db_path, session)
            ps = settings_of[platform]
            limiter.wait(("recheck", platform), cfg["rate"])
            ref = ListingRef(listing["id"], platform, listing["platform_id"], listing["url"], listing["title"] or "",
                             listing["label"], seller_id=listing["seller_id"], kind=listing["kind"] or "")
            result = checkers[platform](ref)
            now = clock.now()
            with immediate(db) as conn:
                current = conn.execute("SELECT state FROM listings WHERE id = ?", [listing["id"]]).fetchone()[0]
                if current != listing["state"]:
                    continue               # changed under us (a reviewer, another process): check next time
                _decide(conn, listing, result, ps, cfg, now, summary)
            summary["checked"] += 1
            summary[result.status] += 1
        summary["relisted"] = link_relists(db, config, clock)
    finally:
        for session in sessions:
            session.close()
        db.close()
    return summary


def _checker(ps, config: Config, db_path, session):
    """The platform's own channel check if one of its channels offers it, else the plain page check."""
    for name in ps.channels:
        try:
            channel = build_channel(name, ps, config, db_path)
        except Exception:          # not configured, unknown: fall through to the page check
            continue
        if type(channel).check is not Channel.check:
            return lambda ref: channel.check(ref) or fetch_check(session, ref.url, ps.removed)
        channel.close()
    return lambda ref: fetch_check(session, ref.url, ps.removed)
