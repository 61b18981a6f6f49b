"""The review queue: what reviewers see, who holds which listing, and their decisions.

All of the review UI's SQL lives here (the web routes only call these methods).

- The queue is every listing in state ``flagged`` or ``relisted`` that no other reviewer
  holds a live claim on: relisted listings first (a seller we already took down is back),
  then by score, then the longest-waiting.
- Opening a listing claims it (the page posts the claim: a GET never changes anything)
  for ``claim_timeout`` seconds and releases the reviewer's other claims, so each reviewer
  holds at most one listing and two reviewers never get the same one. A claim is taken in
  one ``BEGIN IMMEDIATE`` transaction, so two reviewers racing for a listing cannot both win.
- A decision moves the listing through ``store.states.transition`` (which writes the
  audit log) and adds a ``reviews`` row, in one transaction.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlite_utils

from classifier import HARMFUL
from common.clock import SYSTEM

from store.entities import other_platforms
from takedown.escalation import needing_person
from store.txn import immediate
from store.states import transition

QUEUE_STATES = ("flagged", "relisted")
CATEGORIES = HARMFUL
REJECT_REASONS = ("not a harassment tool", "legitimate telecom equipment", "news or discussion, not a sale",
                  "duplicate of another listing", "not enough evidence")
MAX_REASON = 500
FILTERS = ("platform", "label", "kind")
SEARCH = "q"                          # free text over title, seller name and contact values
KEPT = (*FILTERS, SEARCH)             # what the queue's links carry from page to page
MAX_SEARCH = 100
# Decided listings a reviewer may still take back: undo before any report left, reopen after.
UNDOABLE = ("confirmed", "rejected")
REOPENABLE = ("reported", "still_live", "escalated")
# The queue's order, shared by the page, "next" and the j/k neighbours: relisted first, then by score,
# then the longest-waiting. Spelled as the ascending key of the partial ``listings_queue`` indexes
# (store/migrations/scale.py), so a page is an index range, never a sort of the whole queue.
QUEUE_KEY = ("(l.state != 'relisted')", "-coalesce(l.score, 0)", "coalesce(l.state_changed_at, l.first_seen)", "l.id")
_ORDER = ", ".join(QUEUE_KEY)
_IN_QUEUE = "l.state IN ('flagged', 'relisted')"       # literal: it must imply the partial indexes' WHERE
MAX_SEARCH_COUNT = 10_000          # a free-text search counts its matches up to here, no further


# The category of a listing's latest confirmation (None if never confirmed); shown beside the model's label.
_DECIDED = ("(SELECT CASE WHEN rv.decision = 'confirmed' THEN rv.category END FROM reviews rv "
            "WHERE rv.listing_id = l.id ORDER BY rv.id DESC LIMIT 1)")
# In the queue: the category of its last confirmation even if taken back since (what the next reviewer should know).
_DECIDED_BEFORE = ("(SELECT rv.category FROM reviews rv WHERE rv.listing_id = l.id AND rv.decision = 'confirmed' "
                   "ORDER BY rv.id DESC LIMIT 1)")


class ReviewError(ValueError):
    pass


class NotFound(ReviewError):
    pass


class NotReviewable(ReviewError):
    pass


class ClaimedByOther(ReviewError):
    def __init__(self, listing_id: str, reviewer: str, expires_at: str):
        super().__init__(f"{listing_id} is being reviewed by {reviewer} (claim expires {expires_at})")
        self.reviewer = reviewer
        self.expires_at = expires_at


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _loads(text, default):
    try:
        return json.loads(text) if text else default
    except (TypeError, ValueError):
        return default


class Review:
    def __init__(self, db: sqlite_utils.Database, claim_timeout: float = 600, clock=None):
        self.db = db
        self.claim_timeout = claim_timeout
        self.clock = clock or SYSTEM.now

    def _now(self) -> str:
        return _iso(self.clock())

    def _write(self):
        """A write transaction that takes the lock up front, so check-then-write cannot race."""
        return immediate(self.db)

    # -- queue ------------------------------------------------------------------------------
    def _queue_sql(self, reviewer: str, filters: dict, ordered: bool = True) -> tuple[str, list]:
        """FROM/WHERE of the queue. ``ordered``: read it through the partial index in queue order that fits the
        filters (named: without statistics SQLite would rather search the state index and sort the queue)."""
        where = [_IN_QUEUE, "NOT EXISTS (SELECT 1 FROM claims c WHERE c.listing_id = l.id AND c.expires_at > ? "
                 "AND c.reviewer != ?)"]
        params: list = [self._now(), reviewer]
        for name in FILTERS:
            if filters.get(name):
                where.append(f"l.{name} = ?")
                params.append(filters[name])
        text = _search_text(filters)
        if text:                          # instr, not LIKE: a typed % or _ is just a character
            where.append("(instr(lower(coalesce(l.title, '')), ?) OR instr(lower(coalesce((SELECT s.name FROM "
                         "sellers s WHERE s.id = l.seller_id), '')), ?) OR "
                         "EXISTS (SELECT 1 FROM listing_contacts lc JOIN contacts ct ON ct.id = lc.contact_id "
                         "WHERE lc.listing_id = l.id AND instr(lower(ct.value), ?)))")
            params += [text] * 3
        index = ("listings_queue_platform" if filters.get("platform") else
                 "listings_queue_label" if filters.get("label") else "listings_queue")
        source = f"listings l INDEXED BY {index}" if ordered else "listings l"
        return f"FROM {source} WHERE " + " AND ".join(where), params

    def queue(self, reviewer: str, filters: dict | None = None, limit: int = 50, after: tuple | None = None,
              before: tuple | None = None) -> list[dict]:
        """Listings waiting for a decision that ``reviewer`` may take, in queue order.

        Keyset pagination: ``after``/``before`` is the ``key`` of a row of another page (see ``key``), so a page
        is the same however many decisions were taken meanwhile. The key comparison is split into index ranges
        (equal on the first k key parts, beyond the cursor on the next), each read in index order, so a page
        deep in the queue costs what the first one does."""
        sql, params = self._queue_sql(reviewer, filters or {})
        select = ("SELECT l.id, l.platform, l.kind, l.title, l.label, l.score, l.state, l.price, l.seller_id, "
                  "(SELECT s.name FROM sellers s WHERE s.id = l.seller_id) AS seller_name, "
                  "coalesce(l.state_changed_at, l.first_seen) AS waiting_since, "
                  f"{_DECIDED_BEFORE} AS decided_category, "
                  "(SELECT reviewer FROM claims mc WHERE mc.listing_id = l.id AND mc.expires_at > ?) AS claimed_by ")
        cursor = after if after is not None else before
        if cursor is None:
            return list(self.db.query(f"{select} {sql} ORDER BY {_ORDER} LIMIT ?", [self._now(), *params, limit]))
        op, way = (">", "") if after is not None else ("<", " DESC")
        rows: list[dict] = []
        for k in range(len(QUEUE_KEY) - 1, -1, -1):
            if len(rows) >= limit:
                break
            if any(v is None for v in cursor[:k + 1]):
                continue
            cond = "".join(f" AND {QUEUE_KEY[i]} = ?" for i in range(k)) + f" AND {QUEUE_KEY[k]} {op} ?"
            order = ", ".join(f"{part}{way}" for part in QUEUE_KEY[k:])
            rows += self.db.query(f"{select} {sql}{cond} ORDER BY {order} LIMIT ?",
                                  [self._now(), *params, *cursor[:k + 1], limit - len(rows)])
        return rows[::-1] if before is not None else rows

    @staticmethod
    def key(row: dict) -> tuple:
        """The queue position of a row ``queue`` returned: (relisted last?, -score, waiting since, id)."""
        return (row["state"] != "relisted", -(row["score"] or 0), row["waiting_since"], row["id"])

    def queue_size(self, reviewer: str, filters: dict | None = None) -> int:
        """How many listings ``reviewer`` may take: the trigger-kept counters less other reviewers' live
        claims; a free-text search counts its matches, up to MAX_SEARCH_COUNT."""
        filters = filters or {}
        if _search_text(filters):
            sql, params = self._queue_sql(reviewer, filters)
            return self.db.execute(f"SELECT count(*) FROM (SELECT 1 {sql} LIMIT {MAX_SEARCH_COUNT})",
                                   params).fetchone()[0]
        where, params = [f"state IN ({', '.join('?' * len(QUEUE_STATES))})"], list(QUEUE_STATES)
        for name in FILTERS:
            if filters.get(name):
                where.append(f"{name} = ?")
                params.append(filters[name])
        counted = self.db.execute(f"SELECT coalesce(sum(n), 0) FROM listing_counts WHERE {' AND '.join(where)}",
                                  params).fetchone()[0]
        held = self.db.execute(
            "SELECT count(*) FROM claims c CROSS JOIN listings l ON l.id = c.listing_id WHERE c.expires_at > ? "
            f"AND c.reviewer != ? AND {_IN_QUEUE}" + "".join(f" AND l.{name} = ?" for name in FILTERS
                                                             if filters.get(name)),
            [self._now(), reviewer, *[filters[name] for name in FILTERS if filters.get(name)]]).fetchone()[0]
        return max(0, counted - held)

    def facets(self) -> dict[str, list[str]]:
        """The values each queue filter can take (platforms, labels, kinds present in the queue)."""
        marks = ", ".join("?" * len(QUEUE_STATES))
        return {name: [r[0] for r in self.db.execute(
            f"SELECT DISTINCT {name} FROM listing_counts WHERE state IN ({marks}) AND n > 0 AND {name} != '' "
            "ORDER BY 1", QUEUE_STATES)] for name in FILTERS}

    def neighbours(self, listing_id: str, reviewer: str, filters: dict | None = None) -> tuple[str | None, str | None]:
        """(previous, next) listing around ``listing_id`` in this reviewer's queue; (None, first) if it is not in it.
        Two index seeks from the listing's own queue key, never a pass over the queue."""
        sql, params = self._queue_sql(reviewer, filters or {}, ordered=False)
        here = self.db.execute(f"SELECT {_ORDER} {sql} AND l.id = ?", [*params, listing_id]).fetchone()
        if here is None:
            first = self.queue(reviewer, filters, limit=1)
            return None, (first[0]["id"] if first else None)
        prev = self.queue(reviewer, filters, limit=1, before=tuple(here))
        after = self.queue(reviewer, filters, limit=1, after=tuple(here))
        return (prev[0]["id"] if prev else None), (after[0]["id"] if after else None)

    # -- claims -----------------------------------------------------------------------------
    def claim_of(self, listing_id: str) -> dict | None:
        """The live claim on a listing, if any."""
        row = self.db.execute("SELECT reviewer, claimed_at, expires_at FROM claims WHERE listing_id = ? "
                              "AND expires_at > ?", [listing_id, self._now()]).fetchone()
        return dict(zip(("reviewer", "claimed_at", "expires_at"), row)) if row else None

    def claim(self, listing_id: str, reviewer: str) -> dict:
        """Claim a listing in the queue for ``reviewer`` (renewing their own claim).

        Raises ClaimedByOther, NotReviewable or NotFound.
        """
        with self._write() as conn:
            return self._claim(conn, listing_id, reviewer)

    @staticmethod
    def _state(conn, listing_id: str) -> str:
        row = conn.execute("SELECT state FROM listings WHERE id = ?", [listing_id]).fetchone()
        if row is None:
            raise NotFound(f"no listing {listing_id!r}")
        return row[0]

    def _reviewable(self, conn, listing_id: str, reviewer: str, now: datetime) -> tuple[str, int]:
        """(state, version) of a listing waiting for review that no other reviewer holds, else raise."""
        row = conn.execute("SELECT state, version FROM listings WHERE id = ?", [listing_id]).fetchone()
        if row is None:
            raise NotFound(f"no listing {listing_id!r}")
        if row[0] not in QUEUE_STATES:
            raise NotReviewable(f"{listing_id} is not flagged for review" if row[0] == "new"
                                else f"{listing_id} is already {row[0]}")
        held = conn.execute("SELECT reviewer, expires_at FROM claims WHERE listing_id = ? AND expires_at > ?",
                            [listing_id, _iso(now)]).fetchone()
        if held and held[0] != reviewer:
            raise ClaimedByOther(listing_id, held[0], held[1])
        return row[0], row[1]

    def _claim(self, conn, listing_id: str, reviewer: str) -> dict:
        now = self.clock()
        self._reviewable(conn, listing_id, reviewer, now)
        conn.execute("DELETE FROM claims WHERE reviewer = ? AND listing_id != ?", [reviewer, listing_id])
        expires = _iso(now + timedelta(seconds=self.claim_timeout))
        conn.execute("INSERT INTO claims (listing_id, reviewer, claimed_at, expires_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT(listing_id) DO UPDATE SET reviewer = excluded.reviewer, "
                     "claimed_at = excluded.claimed_at, expires_at = excluded.expires_at",
                     [listing_id, reviewer, _iso(now), expires])
        return {"reviewer": reviewer, "claimed_at": _iso(now), "expires_at": expires}

    def claim_next(self, reviewer: str, filters: dict | None = None) -> str | None:
        """Claim the first listing of the queue; None when it is empty."""
        for _ in range(5):     # lost races move on to the next candidate; bounded
            head = self.queue(reviewer, filters, limit=1)
            if not head:
                return None
            try:
                self.claim(head[0]["id"], reviewer)
                return head[0]["id"]
            except (ClaimedByOther, NotReviewable):
                continue
        return None

    def release(self, listing_id: str, reviewer: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM claims WHERE listing_id = ? AND reviewer = ?", [listing_id, reviewer])

    # -- decisions --------------------------------------------------------------------------
    def confirm(self, listing_id: str, reviewer: str, category: str, note: str = "") -> None:
        """The listing sells a harassment tool of ``category``."""
        if category not in CATEGORIES:
            raise ReviewError(f"unknown category {category!r} (choose from {', '.join(CATEGORIES)})")
        with self._write() as conn:
            self._decide(conn, listing_id, reviewer, "confirmed", category, _clean(note, required=False))

    def reject(self, listing_id: str, reviewer: str, reason: str) -> None:
        """The listing is not what the classifier thought; ``reason`` says why."""
        reason = _clean(reason, required=True)
        with self._write() as conn:
            self._decide(conn, listing_id, reviewer, "rejected", None, reason)

    def _decide(self, conn, listing_id, reviewer, target, category, reason, bulk: str | None = None) -> None:
        _, version = self._reviewable(conn, listing_id, reviewer, self.clock())
        why = (f"confirmed as {category}" + (f": {reason}" if reason else "")) if category else reason
        detail = {}
        if category:
            model = conn.execute("SELECT label FROM listings WHERE id = ?", [listing_id]).fetchone()[0]
            detail = {"category": category, "model_label": model}
        if bulk:
            detail["bulk_seller"] = bulk
        transition(conn, listing_id, target, reviewer, why, at=self.clock(), detail=detail)
        conn.execute("INSERT INTO reviews (listing_id, version, reviewer, decision, category, reason, decided_at, "
                     "bulk) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [listing_id, version, reviewer, target, category, reason or None, self._now(), int(bool(bulk))])
        conn.execute("DELETE FROM claims WHERE listing_id = ?", [listing_id])

    def decide_seller(self, seller_id: str, actor: str, decision: str, listing_ids: list[str],
                      categories: dict[str, str] | None = None, reason: str = "") -> dict:
        """One decision for several of a seller's listings (admins). A confirmation keeps each
        listing's own category (the model's label) unless ``categories`` names another for it; a
        listing with neither is skipped. Listings another reviewer holds, or that are no longer
        waiting, are skipped and returned with why."""
        categories = categories or {}
        if decision == "confirm":
            bad = sorted({c for c in categories.values() if c and c not in CATEGORIES})
            if bad:
                raise ReviewError(f"unknown category {bad[0]!r}")
            target, reason = "confirmed", _clean(reason, required=False)
        elif decision == "reject":
            target, reason = "rejected", _clean(reason, required=True)
        else:
            raise ReviewError(f"unknown decision {decision!r}")
        decided, skipped = [], []
        with self._write() as conn:
            own = dict(conn.execute("SELECT id, label FROM listings WHERE seller_id = ?", [seller_id]).fetchall())
            for listing_id in dict.fromkeys(listing_ids):
                if listing_id not in own:
                    skipped.append((listing_id, "not this seller's listing"))
                    continue
                category = None
                if target == "confirmed":
                    category = categories.get(listing_id) or (own[listing_id] if own[listing_id] in CATEGORIES
                                                              else None)
                    if category is None:
                        skipped.append((listing_id, "choose a category for it (the model did not name one)"))
                        continue
                try:
                    self._decide(conn, listing_id, actor, target, category, reason, bulk=seller_id)
                except ReviewError as exc:
                    skipped.append((listing_id, str(exc)))
                else:
                    decided.append(listing_id)
        return {"decided": decided, "skipped": skipped}

    # -- taking a decision back -------------------------------------------------------------
    def undo(self, listing_id: str, actor: str, reason: str = "") -> None:
        """Put a confirmed or rejected listing back in the queue, as long as no report with it
        has been sent or attempted. It leaves any report still waiting in the outbox."""
        reason = _clean(reason, required=False)
        with self._write() as conn:
            state = self._state(conn, listing_id)
            if state not in UNDOABLE:
                raise NotReviewable(f"{listing_id} is {state}: only a confirmed or rejected listing can be undone"
                                    + (" (reopen it instead)" if state in REOPENABLE else ""))
            if self._has("reports") and self._has("report_listings", "report_id", "listing_id"):
                started = conn.execute(
                    "SELECT r.id FROM reports r JOIN report_listings rl ON rl.report_id = r.id WHERE rl.listing_id = ? "
                    "AND (r.state = 'sent' OR r.attempts > 0)", [listing_id]).fetchone()
                if started:
                    raise NotReviewable(f"{listing_id}: report {started[0]} is being sent; reopen it once it is sent")
                pending = [r[0] for r in conn.execute(
                    "SELECT r.id FROM reports r JOIN report_listings rl ON rl.report_id = r.id WHERE rl.listing_id = ? "
                    "AND r.state = 'pending'", [listing_id])]
                for report_id in pending:
                    conn.execute("DELETE FROM report_listings WHERE report_id = ? AND listing_id = ?",
                                 [report_id, listing_id])
                    conn.execute("UPDATE reports SET state = 'failed', error = 'cancelled: every listing was taken "
                                 "back before sending' WHERE id = ? AND NOT EXISTS (SELECT 1 FROM report_listings "
                                 "WHERE report_id = ?)", [report_id, report_id])
            else:
                pending = []
            transition(conn, listing_id, "flagged", actor, "undo" + (f": {reason}" if reason else ""),
                       at=self.clock(), detail={"undo": state, "pending_reports_left": pending})
            self._taken_back(conn, listing_id, actor, "undone", reason)

    def reopen(self, listing_id: str, actor: str, reason: str) -> list[int]:
        """Put a reported listing back in the queue after its report was sent; ``reason`` is
        required. Each sent report with it gets a withdrawal request, which ``sweep report``
        sends where the channel can withdraw and records as unsupported elsewhere. Returns
        the reports concerned."""
        reason = _clean(reason, required=True)
        with self._write() as conn:
            state = self._state(conn, listing_id)
            if state not in REOPENABLE:
                raise NotReviewable(f"{listing_id} is {state}: only a reported listing can be reopened"
                                    + (" (undo it instead)" if state in UNDOABLE else ""))
            sent = [r[0] for r in conn.execute(
                "SELECT r.id FROM reports r JOIN report_listings rl ON rl.report_id = r.id WHERE rl.listing_id = ? "
                "AND r.state = 'sent' ORDER BY r.id", [listing_id])] if self._has("withdrawals") else []
            for report_id in sent:
                conn.execute("INSERT INTO withdrawals (report_id, listing_id, reason, requested_by, requested_at, "
                             "state) VALUES (?, ?, ?, ?, ?, 'pending')", [report_id, listing_id, reason, actor,
                                                                          self._now()])
            transition(conn, listing_id, "flagged", actor, f"reopened: {reason}", at=self.clock(),
                       detail={"reopen": state, "withdraw_reports": sent})
            self._taken_back(conn, listing_id, actor, "reopened", reason)
        return sent

    def _taken_back(self, conn, listing_id: str, actor: str, decision: str, reason: str) -> None:
        """A reviews row that supersedes the decision: it is no longer a training label (classifier/reviews.py
        reads each listing's latest row and only learns from confirmed/rejected ones)."""
        conn.execute("INSERT INTO reviews (listing_id, version, reviewer, decision, category, reason, decided_at, "
                     "bulk) SELECT id, version, ?, ?, NULL, ?, ?, 0 FROM listings WHERE id = ?",
                     [actor, decision, reason or None, self._now(), listing_id])
        conn.execute("DELETE FROM claims WHERE listing_id = ?", [listing_id])

    def needs_person(self, limit: int = 50) -> list[dict]:
        """Listings still live after every escalation step (see ``takedown.escalation``)."""
        return needing_person(self.db, limit)

    # -- what a reviewer reads --------------------------------------------------------------
    def listing(self, listing_id: str) -> dict | None:
        """Everything the listing page shows, or None."""
        item = next(self.db.query(
            "SELECT l.*, s.name AS seller_name, s.url AS seller_url, s.seller_id AS seller_platform_id "
            "FROM listings l LEFT JOIN sellers s ON s.id = l.seller_id WHERE l.id = ?", [listing_id]), None)
        if item is None:
            return None
        item["images"] = _loads(item.get("images"), [])
        item["extra"] = _loads(item.get("extra"), {})
        c = self.db.execute("SELECT label, score, scores, explanation, model_version, classified_at "
                            "FROM classifications WHERE listing_id = ? AND version = ? ORDER BY id DESC LIMIT 1",
                            [listing_id, item["version"]]).fetchone()
        item["classification"] = None if c is None else {
            "label": c[0], "score": c[1], "scores": _loads(c[2], {}), "explanation": _loads(c[3], []),
            "model_version": c[4], "classified_at": c[5]}
        item["contacts"] = list(self.db.query(
            "SELECT c.type, c.value FROM listing_contacts lc JOIN contacts c ON c.id = lc.contact_id "
            "WHERE lc.listing_id = ? ORDER BY c.type, c.value", [listing_id]))
        item["seller_listings"] = list(self.db.query(
            "SELECT id, title, state, label, score FROM listings WHERE seller_id = ? AND id != ? "
            "ORDER BY score DESC, id LIMIT 50", [item["seller_id"], listing_id])) if item["seller_id"] else []
        item["contact_listings"] = list(self.db.query(
            "SELECT l.id, l.title, l.state, l.label, l.score, l.platform, group_concat(c.type || ' ' || c.value, ', ') "
            "AS shared FROM listing_contacts mine JOIN listing_contacts other ON other.contact_id = mine.contact_id "
            "AND other.listing_id != mine.listing_id JOIN listings l ON l.id = other.listing_id "
            "JOIN contacts c ON c.id = mine.contact_id WHERE mine.listing_id = ? "
            "GROUP BY l.id ORDER BY l.score DESC, l.id LIMIT 50", [listing_id]))
        item["other_platforms"] = other_platforms(self.db, listing_id, item["platform"])
        item["reviews"] = list(self.db.query(
            "SELECT reviewer, decision, category, reason, decided_at, bulk FROM reviews WHERE listing_id = ? "
            "ORDER BY id", [listing_id]))
        item["history"] = [{**h, "detail": _loads(h["detail"], {})} for h in self.db.query(
            "SELECT at, actor, action, detail FROM audit_log WHERE listing_id = ? ORDER BY id", [listing_id])]
        item["versions"] = self.db.execute("SELECT count(*) FROM listing_versions WHERE listing_id = ?",
                                           [listing_id]).fetchone()[0]
        item.update(self._takedown_records(listing_id))
        return item

    def _has(self, table: str, *columns: str) -> bool:
        """Tables of the takedown area may not exist yet on an older database."""
        t = self.db[table]
        return t.exists() and all(c in t.columns_dict for c in columns)

    def _takedown_records(self, listing_id: str) -> dict:
        out = {"evidence": [], "reports": [], "rechecks": [], "relisted_from": [], "relisted_as": []}
        if self._has("evidence", "listing_id", "screenshot_path"):
            out["evidence"] = list(self.db.query(
                "SELECT * FROM evidence WHERE listing_id = ? ORDER BY captured_at DESC, id DESC", [listing_id]))
        if self._has("reports") and self._has("report_listings", "report_id", "listing_id"):
            out["reports"] = list(self.db.query(
                "SELECT r.* FROM reports r JOIN report_listings rl ON rl.report_id = r.id "
                "WHERE rl.listing_id = ? ORDER BY r.id", [listing_id]))
        if self._has("rechecks", "listing_id", "checked_at"):
            out["rechecks"] = list(self.db.query(
                "SELECT * FROM rechecks WHERE listing_id = ? ORDER BY checked_at DESC LIMIT 20", [listing_id]))
        if self._has("relists", "listing_id", "relisted_from"):
            out["relisted_from"] = list(self.db.query(
                "SELECT relisted_from AS id, reason, linked_at FROM relists WHERE listing_id = ?", [listing_id]))
            out["relisted_as"] = list(self.db.query(
                "SELECT listing_id AS id, reason, linked_at FROM relists WHERE relisted_from = ?", [listing_id]))
        return out

    def screenshot(self, evidence_id: int) -> dict | None:
        """The screenshot path and recorded hash of one evidence capture."""
        if not self._has("evidence", "screenshot_path"):
            return None
        row = self.db.execute("SELECT screenshot_path, screenshot_sha256 FROM evidence WHERE id = ?",
                              [evidence_id]).fetchone()
        return {"path": row[0], "sha256": row[1]} if row and row[0] else None

    def seller(self, seller_id: str, limit: int = 500) -> dict | None:
        """A seller and their listings (at most ``limit``), those waiting for review first."""
        row = self.db.execute("SELECT id, platform, seller_id, name, url, first_seen, last_seen FROM sellers "
                              "WHERE id = ?", [seller_id]).fetchone()
        if row is None:
            return None
        seller = dict(zip(("id", "platform", "seller_id", "name", "url", "first_seen", "last_seen"), row))
        marks = ", ".join("?" * len(QUEUE_STATES))
        seller["listings"] = list(self.db.query(
            f"SELECT l.id, l.title, l.state, l.label, l.score, l.price, {_DECIDED} AS decided_category, "
            "(SELECT reviewer FROM claims c WHERE c.listing_id = l.id AND c.expires_at > ?) AS claimed_by, "
            f"l.state IN ({marks}) AS waiting FROM listings l WHERE l.seller_id = ? "
            "ORDER BY waiting DESC, l.score DESC, l.id LIMIT ?", [self._now(), *QUEUE_STATES, seller_id, limit]))
        return seller

    def audit_entries(self, listing_id: str | None = None, actor: str | None = None, before: int | None = None,
                      limit: int = 100) -> list[dict]:
        """The audit log, newest first, optionally for one listing or actor."""
        where, params = [], []
        for column, value in (("listing_id", listing_id), ("actor", actor)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if before:
            where.append("id < ?")
            params.append(before)
        sql = "SELECT id, at, actor, action, listing_id, detail FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = list(self.db.query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]))
        for row in rows:                  # a decision whose category is not the model's label is marked
            detail = _loads(row["detail"], {})
            detail = detail if isinstance(detail, dict) else {}
            model, category = detail.get("model_label"), detail.get("category")
            row["differs_from"] = model if category and model and category != model else None
        return rows


def _search_text(filters: dict) -> str:
    return (filters.get(SEARCH) or "").strip()[:MAX_SEARCH].lower()


def _clean(text: str | None, required: bool) -> str:
    text = " ".join((text or "").split())
    if required and not text:
        raise ReviewError("a reason is required")
    if len(text) > MAX_REASON:
        raise ReviewError(f"reason too long (at most {MAX_REASON} characters)")
    return text
