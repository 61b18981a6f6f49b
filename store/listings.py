"""Reading and writing listings: the only place that knows how a crawl lands in the tables.

Every batch is one transaction, so a run killed at any point leaves whole listings or
nothing; rerunning continues (a listing already stored is recognised by its content hash).
"""
from __future__ import annotations

import json
import os

import sqlite_utils

from common.clock import SYSTEM, Clock, iso
from store.search import index_text, match_expression
from store.states import transition
from store.txn import write_first


def now_iso(clock: Clock = SYSTEM) -> str:
    return iso(clock.now())


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Store:
    def __init__(self, db: sqlite_utils.Database, clock: Clock = SYSTEM):
        self.db = db
        self.clock = clock         # runs' and platforms' times, and the classifier's state changes

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, platforms: list[str]) -> int:
        with write_first(self.db):
            return self.db["crawl_runs"].insert({"started_at": now_iso(self.clock), "outcome": "running",
                                                 "platforms": _dumps(platforms), "stats": "{}",
                                                 "pid": os.getpid()}).last_pk

    def finish_run(self, run_id: int, outcome: str, stats: dict) -> None:
        with write_first(self.db):
            self.db["crawl_runs"].update(run_id, {"finished_at": now_iso(self.clock), "outcome": outcome,
                                                  "stats": _dumps(stats)})

    def record_monitors(self, run_id: int, monitors: dict[str, list[dict]]) -> None:
        """Each platform's monitor results ({monitor, status, message}) for a run."""
        with write_first(self.db):
            self.db["monitor_results"].insert_all(
                [{"run_id": run_id, "platform": platform, "monitor": r["monitor"], "status": r["status"],
                  "message": r["message"]} for platform, rows in monitors.items() for r in rows])

    def register_platforms(self, profiles) -> None:
        with write_first(self.db):
            for p in profiles:
                self.db["platforms"].upsert({"name": p.name, "kind": p.kind, "base_url": p.base_url,
                                             "profile_path": p.path, "enabled": int(p.enabled)}, pk="name")
                self.db.execute("UPDATE platforms SET first_seen = coalesce(first_seen, ?) WHERE name = ?",
                                [now_iso(self.clock), p.name])

    # -- listings ----------------------------------------------------------------------------
    def known(self, listing_id: str) -> tuple[str, int] | None:
        """(content_hash, version) of a stored listing, or None."""
        row = self.db.execute("SELECT content_hash, version FROM listings WHERE id = ?", [listing_id]).fetchone()
        return (row[0], row[1]) if row else None

    def write_batch(self, listings: list, run_id: int | None) -> None:
        """Store a batch of pipeline-finished listings in one transaction."""
        if not listings:
            return
        conn = self.db.conn
        with self.db.atomic():
            for item in listings:
                if item.status == "seen":
                    conn.execute("UPDATE listings SET last_seen = ?, last_run_id = ? WHERE id = ?",
                                 [item.crawled_at, run_id, item.id])
                    if item.seller_id:
                        conn.execute("UPDATE sellers SET last_seen = ? WHERE id = ?",
                                     [item.crawled_at, f"{item.platform}:{item.seller_id}"])
                    continue
                self._write_listing(conn, item, run_id)

    def _write_listing(self, conn, item, run_id) -> None:
        seller_key = None
        if item.seller_id:
            seller_key = f"{item.platform}:{item.seller_id}"
            conn.execute(
                "INSERT INTO sellers (id, platform, seller_id, name, url, first_seen, last_seen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                "url = excluded.url, last_seen = excluded.last_seen",
                [seller_key, item.platform, item.seller_id, item.seller_name, item.seller_url,
                 item.crawled_at, item.crawled_at])
        c = item.classification or {}
        previous = conn.execute("SELECT state FROM listings WHERE id = ?", [item.id]).fetchone()
        conn.execute(
            "INSERT INTO listings (id, platform, platform_id, kind, url, title, description, price, price_text, "
            "currency, price_unit, seller_id, images, extra, content_hash, version, first_seen, last_seen, "
            "first_run_id, last_run_id, state, label, score, flagged) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET url = excluded.url, title = excluded.title, "
            "description = excluded.description, price = excluded.price, price_text = excluded.price_text, "
            "currency = excluded.currency, price_unit = excluded.price_unit, seller_id = excluded.seller_id, "
            "images = excluded.images, extra = excluded.extra, content_hash = excluded.content_hash, "
            "version = excluded.version, last_seen = excluded.last_seen, last_run_id = excluded.last_run_id, "
            "label = excluded.label, score = excluded.score, flagged = excluded.flagged",
            [item.id, item.platform, item.platform_id, item.kind, item.url, item.title, item.description,
             item.price, item.price_text, item.currency, item.price_unit, seller_key, _dumps(item.images),
             _dumps(item.extra), item.content_hash, item.version,
             item.crawled_at, item.crawled_at, run_id, run_id, "new", c.get("label"), c.get("score"),
             int(bool(c.get("flagged")))])
        self._follow_classification(conn, item, previous[0] if previous else "new", c)
        conn.execute(
            "INSERT OR IGNORE INTO listing_versions (listing_id, version, content_hash, title, description, price, "
            "price_text, currency, price_unit, seen_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [item.id, item.version, item.content_hash, item.title, item.description, item.price, item.price_text,
             item.currency, item.price_unit, item.crawled_at, run_id])
        if c:
            conn.execute(
                "INSERT INTO classifications (listing_id, version, model_version, label, score, flagged, scores, "
                "explanation, classified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [item.id, item.version, c.get("model_version"), c["label"], c["score"], int(c["flagged"]),
                 _dumps(c.get("scores", {})), _dumps(c.get("explanation", [])), item.crawled_at])
        conn.execute("DELETE FROM listing_contacts WHERE listing_id = ?", [item.id])
        for contact in item.contacts:
            conn.execute("INSERT OR IGNORE INTO contacts (type, value) VALUES (?, ?)",
                         [contact["type"], contact["value"]])
            conn.execute("INSERT OR IGNORE INTO listing_contacts (listing_id, contact_id) "
                         "SELECT ?, id FROM contacts WHERE type = ? AND value = ?",
                         [item.id, contact["type"], contact["value"]])
        # The index row shares the listing's rowid: FTS5 finds rows by rowid, not by an UNINDEXED column.
        rowid = conn.execute("SELECT rowid FROM listings WHERE id = ?", [item.id]).fetchone()[0]
        conn.execute("DELETE FROM listing_fts WHERE rowid = ?", [rowid])
        conn.execute("INSERT INTO listing_fts (rowid, listing_id, tokens) VALUES (?, ?, ?)",
                     [rowid, item.id, index_text(item.title, item.description)])

    def _follow_classification(self, conn, item, state: str, c: dict) -> None:
        """A (new version of a) listing the model flags enters review; one it clears leaves it."""
        reason = f"model {c.get('model_version')}: {c.get('label')} {c.get('score')}"
        if c.get("flagged") and state in ("new", "rejected"):
            transition(conn, item.id, "flagged", "classifier", reason, self.clock.now(), {"version": item.version})
        elif c and not c.get("flagged") and state == "flagged":
            transition(conn, item.id, "new", "classifier", reason, self.clock.now(), {"version": item.version})

    # -- queries -----------------------------------------------------------------------------
    def search(self, text: str, limit: int | None = None) -> list[dict]:
        expr = match_expression(text)
        if expr is None:
            return []
        sql = ("SELECT l.id, l.platform, l.title, l.label, l.score, l.flagged, l.url FROM listing_fts f "
               "JOIN listings l ON l.id = f.listing_id WHERE listing_fts MATCH ? ORDER BY l.score DESC, l.id")
        params = [expr]
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [dict(r) for r in self.db.query(sql, params)]

    def stats(self) -> list[dict]:
        """Listings and flags per platform and label."""
        # listing_counts is kept by triggers on listings (store/migrations/scale.py): no pass over the table.
        return list(self.db.query(
            "SELECT nullif(platform, '') AS platform, coalesce(nullif(label, ''), 'unclassified') AS label, "
            "sum(n) AS listings, sum(n * flagged) AS flagged FROM listing_counts GROUP BY 1, 2 HAVING sum(n) > 0 "
            "ORDER BY 1, 2"))


def flagged_by_label(db: sqlite_utils.Database, platform: str, run_id: int) -> dict[str, int]:
    """Listings of ``platform`` the run ``run_id`` saw and flagged, counted by label (`sweep run`'s table)."""
    return {r["label"]: r["n"] for r in db.query(
        "SELECT label, count(*) AS n FROM listings WHERE platform = ? AND last_run_id = ? AND flagged = 1 "
        "GROUP BY label", [platform, run_id])}


def flags(db: sqlite_utils.Database):
    """Every listing's id, flag and label (to compare the queue with a known answer)."""
    return db.query("SELECT id, flagged, label FROM listings")


def run_rows(db: sqlite_utils.Database, limit: int | None = None, run_id: int | None = None) -> list[dict]:
    """Crawl runs, newest first, with their stats parsed and their monitor checks (`sweep runs`)."""
    sql, params = "SELECT * FROM crawl_runs", []
    if run_id is not None:
        sql, params = sql + " WHERE id = ?", [run_id]
    sql += " ORDER BY id DESC" + (" LIMIT ?" if limit else "")
    params += [limit] if limit else []
    out = []
    for row in db.query(sql, params):
        monitors = [dict(m) for m in db.query("SELECT platform, monitor, status, message FROM monitor_results "
                                              "WHERE run_id = ? ORDER BY id", [row["id"]])]
        out.append({**row, "stats": json.loads(row["stats"] or "{}"),
                    "platforms": json.loads(row["platforms"] or "[]"), "monitors": monitors})
    return out
