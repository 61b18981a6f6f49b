"""Relists: a taken-down listing coming back — same seller, a shared contact, or the same text.

Candidates are listings in ``new`` or ``flagged`` first seen in a later crawl than a listing
already taken to takedown (``reported``, ``still_live``, ``escalated``, ``removed``). One is
linked when it has the same seller account, shares a contact handle or download entity (QQ,
QQ group, WeChat, Telegram, phone, cloud-drive link, release file name — across platforms and
kinds too, see ``store/entities.py``), or its text is a near-duplicate: MinHash over character
3-grams of the normalised title and description, looked up in an LSH index
(datasketch) and kept when the estimated Jaccard similarity reaches ``text_threshold``.

A linked listing goes to ``relisted`` with a row in ``relists`` (the best match and every
reason) and jumps the queue: reviewers see relisted first, evidence is captured for it
first and its report is sent first. A listing the model cleared is never linked on text
similarity alone (a benign listing that reuses a phrase is not a relist); seller or contact is needed.

Incremental (issue #15): each run costs what changed, not the history.
- The LSH index is persistent: a signature per taken-down listing (``relist_signatures``) and its
  band hashes (``relist_bands``, indexed), added as listings are taken down; the whole index is
  rebuilt only when ``num_perm``/``text_threshold`` change.
- A run reads only what changed since the last one (``relist_progress`` keeps the audit-log and
  listing-version ids it read up to): listings with a new version, listings that entered ``new``/
  ``flagged``, and listings newly taken down (whose earlier look-alikes are found by seller and
  contact). Seller, contact and band look-ups are index probes; nothing loads the whole table.

    [relist]  text_threshold = 0.6, num_perm = 128, same_seller = true, shared_contact = true
"""
from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from common.clock import SYSTEM, iso, parse_iso
from common.config import Config
from store.states import transition
from store.txn import immediate

ACTOR = "sweep-relist"
TAKEN_DOWN = ("reported", "still_live", "escalated", "removed")
_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def shingles(text: str, k: int = 3) -> set[str]:
    """Character k-grams of text folded for comparison (NFKC, lower case, no spaces or punctuation)."""
    folded = _NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())
    if len(folded) <= k:
        return {folded} if folded else set()
    return {folded[i:i + k] for i in range(len(folded) - k + 1)}


@functools.lru_cache(maxsize=4)
def _template(num_perm: int):
    return MinHash(num_perm=num_perm, seed=2018)


def minhash(text: str, num_perm: int = 128):
    """The MinHash of ``text``'s shingles. The permutations are made once per ``num_perm`` and the
    shingles hashed in one vectorised batch: the same signature, 4x faster (the check API computes
    one per listing)."""
    template = _template(num_perm)
    m = MinHash(num_perm=num_perm, seed=2018, permutations=template.permutations, scheme=template.scheme)
    grams = shingles(text)
    if grams:
        m.update_batch([gram.encode("utf-8") for gram in grams])
    return m


def _later(candidate, origin) -> bool:
    """Was the candidate first seen in a later crawl than the origin?"""
    if candidate["first_run_id"] is not None and origin["first_run_id"] is not None:
        return candidate["first_run_id"] > origin["first_run_id"]
    a, b = parse_iso(candidate["first_seen"]), parse_iso(origin["first_seen"])
    return a is not None and b is not None and a > b


_COLS = "l.id, l.platform, l.seller_id, l.title, l.description, l.first_seen, l.first_run_id, l.reported_at, " \
        "l.state, l.flagged, l.label, l.version"
_TAKEN = f"({', '.join(repr(s) for s in TAKEN_DOWN)})"
CHUNK = 500


class _Index:
    """The stored MinHash LSH index of taken-down listings (bands of ``rows`` hash values each)."""

    def __init__(self, conn, num_perm: int, threshold: float):
        self.conn, self.num_perm, self.threshold = conn, num_perm, threshold
        self.bands, self.rows = _optimal_param(threshold, num_perm, 0.5, 0.5)
        self.params = f"minhash-3gram-seed2018:{num_perm}:{threshold}:{self.bands}x{self.rows}"

    def band_hashes(self, values) -> list[tuple[int, int]]:
        return [(b, int.from_bytes(hashlib.blake2b(values[b * self.rows:(b + 1) * self.rows].tobytes(),
                                                   digest_size=8).digest(), "little", signed=True))
                for b in range(self.bands)]

    def add(self, listing_id: str, version, text: str) -> None:
        values = minhash(text, self.num_perm).hashvalues.astype("<u4")
        self.conn.execute("DELETE FROM relist_bands WHERE listing_id = ?", [listing_id])
        self.conn.execute("INSERT OR REPLACE INTO relist_signatures (listing_id, params, version, signature) "
                          "VALUES (?, ?, ?, ?)", [listing_id, self.params, version, values.tobytes()])
        self.conn.executemany("INSERT INTO relist_bands (band, hash, listing_id) VALUES (?, ?, ?)",
                              [(b, h, listing_id) for b, h in self.band_hashes(values)])

    def query(self, text: str) -> dict[str, float]:
        """{taken-down listing id: estimated Jaccard similarity >= threshold} for ``text``."""
        values = minhash(text, self.num_perm).hashvalues.astype("<u4")
        pairs = self.band_hashes(values)
        where = " OR ".join("(band = ? AND hash = ?)" for _ in pairs)
        hits = {r[0] for r in self.conn.execute(f"SELECT DISTINCT listing_id FROM relist_bands WHERE {where}",
                                                [x for pair in pairs for x in pair])}
        out = {}
        for oid in sorted(hits):
            row = self.conn.execute("SELECT signature FROM relist_signatures WHERE listing_id = ?", [oid]).fetchone()
            if row:
                sim = float(np.count_nonzero(np.frombuffer(row[0], dtype="<u4") == values)) / self.num_perm
                if sim >= self.threshold:
                    out[oid] = sim
        return out


def _refresh_index(db, index: _Index, prev: dict, top_audit: int) -> set[str]:
    """Add listings taken down since the last run (audit rows after ``prev['audit_id']``) to the stored
    index, or rebuild it from the state index when its parameters changed; returns the ids added."""
    conn = db.conn
    if prev.get("params") != index.params:
        conn.execute("DELETE FROM relist_bands")
        conn.execute("DELETE FROM relist_signatures")
        ids = [r[0] for r in conn.execute(f"SELECT id FROM listings WHERE state IN {_TAKEN}")]
    else:
        ids = sorted({r[0] for r in conn.execute(
            "SELECT listing_id FROM audit_log WHERE id > ? AND id <= ? AND listing_id IS NOT NULL AND ("
            + " OR ".join("action LIKE ?" for _ in TAKEN_DOWN) + ")",
            [int(prev.get("audit_id", 0)), top_audit, *[f"state:%->{s}" for s in TAKEN_DOWN]])})
    taken: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        for lid, version, title, description in conn.execute(
                f"SELECT id, version, title, description FROM listings WHERE id IN ({', '.join('?' * len(part))}) "
                f"AND state IN {_TAKEN}", part).fetchall():
            stored = conn.execute("SELECT version FROM relist_signatures WHERE listing_id = ?", [lid]).fetchone()
            if stored is None or stored[0] != version:
                index.add(lid, version, f"{title} {description}")
            taken.add(lid)
    return taken


def _changed(conn, prev: dict, top_audit: int, top_version: int, taken: set[str], sect: dict) -> list[str]:
    """Candidate ids: a new version since the last run, entered new/flagged since, or (for a newly taken-down
    listing) sharing its seller or a contact. Each is a rowid range or an index probe."""
    if "version_id" not in prev:                        # never run: every waiting listing, once
        return [r[0] for r in conn.execute("SELECT id FROM listings WHERE state IN ('new', 'flagged') ORDER BY id")]
    ids = {r[0] for r in conn.execute("SELECT listing_id FROM listing_versions WHERE id > ? AND id <= ?",
                                      [int(prev["version_id"]), top_version])}
    ids.update(r[0] for r in conn.execute(
        "SELECT listing_id FROM audit_log WHERE id > ? AND id <= ? AND listing_id IS NOT NULL AND "
        "(action LIKE 'state:%->new' OR action LIKE 'state:%->flagged')", [int(prev.get("audit_id", 0)), top_audit]))
    for oid in sorted(taken):                           # earlier look-alikes of a newly taken-down listing
        if sect.get("same_seller", True):
            ids.update(r[0] for r in conn.execute(
                "SELECT o.id FROM listings l JOIN listings o ON o.seller_id = l.seller_id WHERE l.id = ?", [oid]))
        if sect.get("shared_contact", True):
            ids.update(r[0] for r in conn.execute(
                "SELECT other.listing_id FROM listing_contacts mine JOIN listing_contacts other "
                "ON other.contact_id = mine.contact_id WHERE mine.listing_id = ?", [oid]))
    return sorted(ids)


def _scan(db, config: Config | None) -> tuple[list[dict], dict]:
    """(links, the progress marks to store once they are linked)."""
    sect = (config or Config()).section("relist")
    conn = db.conn
    index = _Index(conn, int(sect.get("num_perm", 128)), float(sect.get("text_threshold", 0.6)))
    prev = dict(conn.execute("SELECT name, value FROM relist_progress").fetchall())
    top_audit = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    top_version = conn.execute("SELECT coalesce(max(id), 0) FROM listing_versions").fetchone()[0]
    with db.atomic():                                   # the index follows the takedowns, whatever is linked
        taken = _refresh_index(db, index, prev, top_audit)
        conn.execute("INSERT OR REPLACE INTO relist_progress (name, value) VALUES ('params', ?)", [index.params])
    marks = {"params": index.params, "audit_id": str(top_audit), "version_id": str(top_version)}
    if not conn.execute(f"SELECT 1 FROM listings WHERE state IN {_TAKEN} LIMIT 1").fetchone():
        return [], marks
    ids = _changed(conn, prev, top_audit, top_version, taken, sect)
    origin_rows: dict[str, dict | None] = {}

    def origin(oid: str) -> dict | None:
        if oid not in origin_rows:
            row = next(db.query(f"SELECT {_COLS} FROM listings l WHERE l.id = ? AND l.state IN {_TAKEN}", [oid]), None)
            origin_rows[oid] = dict(row) if row else None
        return origin_rows[oid]

    links = []
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        for c in list(db.query(f"SELECT {_COLS} FROM listings l WHERE l.id IN ({', '.join('?' * len(part))}) "
                               "AND l.state IN ('new', 'flagged') AND NOT EXISTS (SELECT 1 FROM relists x "
                               "WHERE x.listing_id = l.id) ORDER BY l.id", part)):
            link = _match(conn, dict(c), sect, index, origin)
            if link:
                links.append(link)
    return links, marks


def _match(conn, c: dict, sect: dict, index: _Index, origin) -> dict | None:
    reasons: dict[str, list[str]] = {}
    if sect.get("same_seller", True) and c["seller_id"]:
        for (oid,) in conn.execute(f"SELECT id FROM listings WHERE seller_id = ? AND state IN {_TAKEN} ORDER BY id",
                                   [c["seller_id"]]):
            reasons.setdefault(oid, []).append("same_seller")
    if sect.get("shared_contact", True):
        for oid, ctype, value in conn.execute(
                "SELECT o.id, ct.type, ct.value FROM listing_contacts mine JOIN contacts ct ON ct.id = mine.contact_id "
                "JOIN listing_contacts other ON other.contact_id = mine.contact_id "
                f"JOIN listings o ON o.id = other.listing_id AND o.state IN {_TAKEN} "
                "WHERE mine.listing_id = ? ORDER BY ct.type || ':' || ct.value, o.id", [c["id"]]):
            reasons.setdefault(oid, []).append(f"contact:{ctype}:{value}")
    similarity = index.query(f"{c['title']} {c['description']}")
    for oid, sim in similarity.items():
        reasons.setdefault(oid, []).append(f"text:{sim:.2f}")
    cleared = not c["flagged"] and c["label"] is not None        # the model read it as benign
    matches = [oid for oid in reasons if oid != c["id"] and origin(oid) is not None and _later(c, origin(oid))
               and not (cleared and all(r.startswith("text:") for r in reasons[oid]))]
    if not matches:
        return None
    best = max(matches, key=lambda oid: (len(reasons[oid]), similarity.get(oid, 0),
                                         origin(oid)["reported_at"] or "", oid))
    return {"listing_id": c["id"], "relisted_from": best, "reason": ",".join(reasons[best]),
            "score": round(similarity.get(best, 0.0), 3)}


def build_index(db, config: Config | None = None) -> int:
    """Bring the stored index of taken-down listings up to date (all of them after a parameter change) without
    matching anything; returns how many listings it indexed. ``link_relists`` does this itself."""
    sect = (config or Config()).section("relist")
    conn = db.conn
    index = _Index(conn, int(sect.get("num_perm", 128)), float(sect.get("text_threshold", 0.6)))
    prev = dict(conn.execute("SELECT name, value FROM relist_progress").fetchall())
    top_audit = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    with db.atomic():
        taken = _refresh_index(db, index, prev, top_audit)
        conn.executemany("INSERT OR REPLACE INTO relist_progress (name, value) VALUES (?, ?)",
                         [("params", index.params), ("audit_id", str(top_audit))])
    return len(taken)


def find_relists(db, config: Config | None = None) -> list[dict]:
    """Proposed links {listing_id, relisted_from, reason, score}, best origin per candidate, among the
    listings changed since the last ``link_relists`` (the stored index is brought up to date first)."""
    return _scan(db, config)[0]


def _save_progress(db, marks: dict) -> None:
    with db.atomic():
        db.conn.executemany("INSERT OR REPLACE INTO relist_progress (name, value) VALUES (?, ?)", sorted(marks.items()))


def link_relists(db, config: Config | None = None, clock=SYSTEM) -> int:
    """Link every relist found: state ``relisted`` + a ``relists`` row, one transaction each."""
    made = 0
    links, marks = _scan(db, config)
    for link in links:
        now = clock.now()
        with immediate(db) as conn:
            state = conn.execute("SELECT state FROM listings WHERE id = ?", [link["listing_id"]]).fetchone()
            if state is None or state[0] not in ("new", "flagged"):
                continue
            transition(conn, link["listing_id"], "relisted", ACTOR,
                       f"relist of {link['relisted_from']}: {link['reason']}", at=now,
                       detail={"relisted_from": link["relisted_from"]})
            conn.execute("INSERT INTO relists (listing_id, relisted_from, reason, linked_at) VALUES (?, ?, ?, ?)",
                         [link["listing_id"], link["relisted_from"], link["reason"], iso(now)])
            made += 1
    _save_progress(db, marks)            # read up to here: the next run starts after it
    return made
