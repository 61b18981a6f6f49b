"""Sharing (关键数据共享): confirmed indicators as STIX 2.1 bundles, and importing other parties' bundles.

Export (``sweep indicators export``): what this database's reviewers confirmed — contact handles,
download links, seller accounts and MinHash text signatures — as one Indicator each, with a
Sighting carrying first and last seen and how many confirmed listings showed it. Patterns:

    contact    [user-account:account_type = 'qq' AND user-account:account_login = '123451234']
    seller     [user-account:account_type = 'sweep-seller' AND user-account:user_id = 'marketplace:shop9']
    link       [url:value = 'dl.example.com/tools/pool.apk']          (host + path, as banks match them)
    domain     [domain-name:value = 'dl.example.com']                  (imported, and the owning domains of
                                                                       endpoints confirmed bombers abuse: §3)
    signature  pattern_type 'sweep-minhash': datasketch affine32, seed 2018, 128 permutations over character
               3-grams of the folded title + description (takedown/relist.py)

Ids are UUIDv5 of (type, value), so the same indicator keeps its id across exports. Imported
indicators are never re-exported (what we share is what we confirmed).

Import (``sweep indicators import``): a bundle from anyone is untrusted input — parsed and validated
by the stix2 library, at most ``MAX_BYTES``; an object that is not one of the patterns above is
counted as skipped. Indicators go into ``indicators`` with their source; they feed the banks of the
check API (deciding at most ``[check.decisions] imported``) and put matching stored listings into
the review queue (``new`` → ``flagged``, an ``indicator_hits`` row naming the source) — never
confirmed: only a reviewer confirms.
"""
from __future__ import annotations

import json
import re
import uuid

from common.clock import SYSTEM
from precheck.banks import LOCAL, Banks, link_key, signature_text
from store.states import transition
from common.errors import SweepError

MAX_BYTES = 50_000_000
NAMESPACE = uuid.UUID("6f1c1d8e-2018-4b1e-9d8a-5ee95ee95ee9")
MINHASH_PATTERN = "sweep-minhash"
CONFIDENCE = {"contact": 90, "link": 90, "seller": 80, "domain": 70, "signature": 70}
ACTOR = "sweep-indicators"
_ACCOUNT = re.compile(r"^\[user-account:account_type = '([^'\\]+)' AND "
                      r"user-account:(account_login|user_id) = '((?:[^'\\]|\\.)+)'\]$")
_SIMPLE = re.compile(r"^\[(url|domain-name):value = '((?:[^'\\]|\\.)+)'\]$")


class IndicatorError(SweepError, ValueError):
    pass


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def pattern_for(kind: str, value: str) -> tuple[str, str]:
    """(pattern, pattern_type) of one bank entry."""
    if kind == "contact":
        ctype, _, handle = value.partition(":")
        return (f"[user-account:account_type = '{_quote(ctype)}' AND "
                f"user-account:account_login = '{_quote(handle)}']", "stix")
    if kind == "seller":
        return f"[user-account:account_type = 'sweep-seller' AND user-account:user_id = '{_quote(value)}']", "stix"
    if kind == "link":
        return f"[url:value = '{_quote(value)}']", "stix"
    if kind == "domain":
        return f"[domain-name:value = '{_quote(value)}']", "stix"
    return value, MINHASH_PATTERN


def parse_pattern(pattern: str, pattern_type: str) -> tuple[str, str] | None:
    """(type, value) of a pattern this module writes, else None."""
    if pattern_type == MINHASH_PATTERN:
        return ("signature", pattern) if re.fullmatch(r"[0-9a-f]{1,16}(?::[0-9a-f]{1,16}){127}", pattern) else None
    if pattern_type != "stix":
        return None
    m = _ACCOUNT.match(pattern)
    if m:
        account_type, value = _unquote(m.group(1)), _unquote(m.group(3))
        if account_type == "sweep-seller":
            return "seller", value
        return "contact", f"{account_type}:{value}"
    m = _SIMPLE.match(pattern)
    if m:
        value = _unquote(m.group(2))
        if m.group(1) == "url":
            key = link_key(value if "://" in value else f"http://{value}")
            return ("link", key) if key else None
        return "domain", value.lower()
    return None


def _iso(value) -> str:
    return (value or SYSTEM.now().isoformat()).replace("+00:00", "Z")


def export_bundle(db, org: str = "Sweep") -> tuple[str, dict]:
    """A STIX 2.1 bundle (JSON text) of this database's confirmed indicators, and counts per type."""
    import stix2

    banks = Banks.load(db)
    seen = {r["id"]: r for r in db.query("SELECT id, first_seen, last_seen, label FROM listings")}
    identity = stix2.Identity(id=f"identity--{uuid.uuid5(NAMESPACE, 'identity:' + org)}", name=org,
                              identity_class="organization")
    objects, counts = [identity], {}

    def emit(kind: str, value: str, origins: list[dict]):
        origins = [o for o in origins if o.get("source") == LOCAL and o.get("listing_id") in seen]
        if not origins:
            return
        rows = [seen[o["listing_id"]] for o in origins]
        first = min(r["first_seen"] or "" for r in rows) or None
        last = max(r["last_seen"] or "" for r in rows) or None
        pattern, ptype = pattern_for(kind, value)
        labels = sorted({r["label"] for r in rows if r["label"]}) or ["harassment-tool"]
        ind = stix2.Indicator(id=f"indicator--{uuid.uuid5(NAMESPACE, f'{kind}:{value}')}", pattern=pattern,
                              pattern_type=ptype, valid_from=_iso(first), indicator_types=["malicious-activity"],
                              labels=labels, confidence=CONFIDENCE[kind], created_by_ref=identity.id,
                              name=("domain of endpoints abused by confirmed bomber tools" if kind == "domain"
                                    else f"{kind} seen in confirmed harassment-tool listings"), allow_custom=True,
                              x_sweep_type=kind)
        objects.append(ind)
        objects.append(stix2.Sighting(id=f"sighting--{uuid.uuid5(NAMESPACE, f'sighting:{kind}:{value}')}",
                                      sighting_of_ref=ind.id, first_seen=_iso(first), last_seen=_iso(last),
                                      count=len({r['id'] for r in rows}), created_by_ref=identity.id))
        counts[kind] = counts.get(kind, 0) + 1

    for kind in ("contact", "link", "seller", "domain"):      # domain: owning domains of abused endpoints
        for value, origins in sorted(banks.entries[kind].items()):
            emit(kind, value, origins)
    for _key, (mh, origin) in sorted(banks.signatures.items()):
        emit("signature", signature_text(mh), [origin])
    return stix2.Bundle(objects, allow_custom=True).serialize(pretty=False), counts


def import_bundle(db, text: str | bytes, source: str, clock=None) -> dict:
    """Store a bundle's indicators under ``source`` and queue matching listings for review."""
    import stix2
    from stix2.exceptions import STIXError

    if not re.fullmatch(r"[A-Za-z0-9_.@:-]{1,100}", source or "") or source == LOCAL:
        raise IndicatorError(f"--source {source!r}: name the party (letters, digits, _.@:-), not {LOCAL!r}")
    if len(text) > MAX_BYTES:
        raise IndicatorError(f"the bundle is over {MAX_BYTES} bytes")
    try:
        bundle = stix2.parse(text, allow_custom=True)
    except (STIXError, ValueError, TypeError, KeyError) as exc:
        raise IndicatorError(f"not a valid STIX 2.1 bundle: {str(exc)[:300]}") from None
    if getattr(bundle, "type", None) != "bundle":
        raise IndicatorError("not a STIX bundle (its type is not 'bundle')")
    objects = list(getattr(bundle, "objects", []) or [])
    sightings = {}
    for obj in objects:
        if obj.get("type") == "sighting":
            sightings[obj["sighting_of_ref"]] = obj
    now = (clock() if clock else SYSTEM.now()).isoformat(timespec="seconds")
    counts = {"imported": 0, "skipped": 0, "queued": 0}
    with db.conn:
        for obj in objects:
            if obj.get("type") != "indicator":
                continue
            parsed = parse_pattern(obj.get("pattern", ""), obj.get("pattern_type", ""))
            if parsed is None:
                counts["skipped"] += 1
                continue
            kind, value = parsed
            s = sightings.get(obj["id"])
            first = str(s.get("first_seen") if s and s.get("first_seen") else obj.get("valid_from"))
            last = str(s.get("last_seen") if s and s.get("last_seen") else first)
            label = ",".join(obj.get("labels", []) or [])[:200]
            db.conn.execute(
                "INSERT INTO indicators (type, value, source, confidence, first_seen, last_seen, stix_id, label, "
                "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (type, value, source) DO UPDATE SET "
                "confidence = excluded.confidence, first_seen = min(first_seen, excluded.first_seen), "
                "last_seen = max(last_seen, excluded.last_seen), label = excluded.label, "
                "imported_at = excluded.imported_at",
                [kind, value, source, int(obj.get("confidence", 50) or 0), first, last, obj["id"], label, now])
            counts["imported"] += 1
    counts["queued"] = queue_matches(db, source, now)
    return counts


def queue_matches(db, source: str, now: str) -> int:
    """Stored listings not yet decided that match ``source``'s indicators: an ``indicator_hits`` row
    each, and ``new`` ones go to ``flagged`` so a reviewer sees them. Nothing is confirmed here."""
    banks = Banks.load(db)
    queued = 0
    rows = list(db.query("SELECT id, platform, seller_id, title, description, state FROM listings "
                         "WHERE state IN ('new', 'flagged', 'relisted')"))
    for row in rows:
        hits = [m for m in banks.match({**row, "seller_key": row["seller_id"]}) if m.get("source") == source]
        if not hits:
            continue
        with db.conn:
            fresh = 0
            for m in hits:
                cur = db.conn.execute("INSERT OR IGNORE INTO indicator_hits (listing_id, indicator_id, source, "
                                      "matched_at) VALUES (?, ?, ?, ?)", [row["id"], m["indicator_id"], source, now])
                fresh += cur.rowcount
            if fresh and row["state"] == "new":
                transition(db.conn, row["id"], "flagged", ACTOR, f"matches indicators shared by {source}",
                           detail={"source": source, "matches": [f"{m['type']}:{m['value']}" for m in hits][:10]})
            queued += bool(fresh)
    return queued


def load_text(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise IndicatorError(f"{path} is over {MAX_BYTES} bytes")
    return data


def dumps_counts(counts: dict) -> str:
    return json.dumps(counts, sort_keys=True)
