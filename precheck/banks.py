"""Banks: what reviewers already confirmed, matched before a listing is published.

Like hash banks in content moderation, beside the model: the contact handles, download links,
seller accounts and near-duplicate text signatures (MinHash over the normalised text, the
signature takedown/relist.py links relists with) of every confirmed listing — confirmed,
reported, still live, escalated or removed — plus indicators imported from other parties
(table ``indicators``, marked with their source). So a relist is caught even when it reads
as benign to the model.

Banks are built once from the database and rebuilt when ``stale`` (``[check] bank_refresh_seconds``).
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from crawler.contacts import find_contacts

from takedown.relist import minhash

CONFIRMED = ("confirmed", "reported", "still_live", "escalated", "removed")
LOCAL = "local"                         # the source of entries made from this database's reviews
_URL = re.compile(r"https?://[^\s<>\"'，。、）)】]+", re.I)


def link_key(url: str) -> str | None:
    """A download link as banked: host (lower case, no ``www.``) + path, without query or fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    return f"{host}{parts.path.rstrip('/')}"


def find_links(text: str) -> list[str]:
    return [m.group(0) for m in _URL.finditer(text or "")]


def listing_handles(listing: dict) -> dict[str, set[str]]:
    """What a listing is matched on: contact handles, link keys and its seller key."""
    text = f"{listing.get('title') or ''}\n{listing.get('description') or ''}"
    contacts = {f"{c['type']}:{c['value']}" for c in find_contacts(text)}
    for given in listing.get("contacts") or ():
        if isinstance(given, dict):
            contacts.add(f"{given.get('type')}:{given.get('value')}")
        else:                                       # "QQ 123451234" or a bare handle: read it like text
            found = find_contacts(str(given))
            contacts.update(f"{c['type']}:{c['value']}" for c in found)
    links = {k for k in map(link_key, [*find_links(text), *(listing.get("links") or ())]) if k}
    seller = listing.get("seller_key") or (
        f"{listing['platform']}:{listing['seller']}" if listing.get("platform") and listing.get("seller") else None)
    return {"contact": contacts, "link": links, "seller": {seller} if seller else set()}


class Banks:
    def __init__(self, num_perm: int = 128, text_threshold: float = 0.6):
        from datasketch import MinHashLSH

        self.num_perm, self.text_threshold = num_perm, text_threshold
        self.entries: dict[str, dict[str, list[dict]]] = {"contact": {}, "link": {}, "seller": {}, "domain": {}}
        self.lsh = MinHashLSH(threshold=text_threshold, num_perm=num_perm)
        self.signatures: dict[str, tuple] = {}          # key → (MinHash, origin)
        self.built_at = time.monotonic()

    def add(self, kind: str, value: str, origin: dict) -> None:
        self.entries[kind].setdefault(value, []).append(origin)

    def add_signature(self, key: str, mh, origin: dict) -> None:
        if key not in self.signatures:
            self.lsh.insert(key, mh)
            self.signatures[key] = (mh, origin)

    @classmethod
    def load(cls, db, num_perm: int = 128, text_threshold: float = 0.6) -> Banks:
        from datasketch import LeanMinHash
        import numpy as np

        banks = cls(num_perm, text_threshold)
        states = ", ".join("?" * len(CONFIRMED))
        rows = list(db.query(f"SELECT id, platform, seller_id, title, description, label FROM listings "
                             f"WHERE state IN ({states})", list(CONFIRMED)))
        for row in rows:
            origin = {"source": LOCAL, "listing_id": row["id"], "label": row["label"]}
            for kind, values in listing_handles({**row, "seller_key": row["seller_id"]}).items():
                for value in values:
                    banks.add(kind, value, origin)
            banks.add_signature(f"listing:{row['id']}", minhash(f"{row['title']} {row['description']}", num_perm),
                                origin)
        contact_rows = db.query(f"SELECT lc.listing_id, c.type, c.value FROM listing_contacts lc "
                                f"JOIN contacts c ON c.id = lc.contact_id JOIN listings l ON l.id = lc.listing_id "
                                f"WHERE l.state IN ({states})", list(CONFIRMED))
        for r in contact_rows:
            banks.add("contact", f"{r['type']}:{r['value']}", {"source": LOCAL, "listing_id": r["listing_id"]})
        if "endpoint_sightings" in db.table_names():     # owning domains of endpoints confirmed bombers abuse
            for r in db.query(f"SELECT DISTINCT s.domain, s.listing_id, l.label FROM endpoint_sightings s "
                              f"JOIN listings l ON l.id = s.listing_id WHERE l.state IN ({states})", list(CONFIRMED)):
                banks.add("domain", r["domain"], {"source": LOCAL, "listing_id": r["listing_id"], "label": r["label"],
                                                  "abused_endpoint": True})
        for ind in db.query("SELECT id, type, value, source, confidence, label FROM indicators"):
            origin = {"source": ind["source"], "indicator_id": ind["id"], "confidence": ind["confidence"],
                      "label": ind["label"]}
            if ind["type"] == "signature":
                try:
                    values = np.array([int(v, 16) for v in ind["value"].split(":")], dtype=np.uint64)
                except ValueError:
                    continue
                if len(values) != num_perm:
                    continue
                banks.add_signature(f"indicator:{ind['id']}",
                                    LeanMinHash(seed=2018, hashvalues=values, scheme="affine32"), origin)
            elif ind["type"] in banks.entries:
                banks.add(ind["type"], ind["value"], origin)
        return banks

    def match(self, listing: dict) -> list[dict]:
        """Every bank entry the listing hits: {type, value, source, listing_id | indicator_id[, similarity]}."""
        out = []
        handles = listing_handles(listing)
        for kind in ("contact", "link", "seller"):
            for value in sorted(handles[kind]):
                for origin in self.entries[kind].get(value, ())[:3]:
                    out.append({"type": kind, "value": value, **origin})
        for key in sorted(handles["link"]):
            labels = key.split("/", 1)[0].split(".")
            for i in range(len(labels) - 1):          # the link's host and each parent domain
                name = ".".join(labels[i:])
                for origin in self.entries["domain"].get(name, ())[:3]:
                    out.append({"type": "domain", "value": name, **origin})
        if self.signatures:
            mh = minhash(f"{listing.get('title') or ''} {listing.get('description') or ''}", self.num_perm)
            best = None
            for key in self.lsh.query(mh):
                sim = mh.jaccard(self.signatures[key][0])
                if sim >= self.text_threshold and (best is None or sim > best[0]):
                    best = (sim, self.signatures[key][1])
            if best:
                out.append({"type": "signature", "value": f"{best[0]:.2f}", "similarity": round(best[0], 3),
                            **best[1]})
        return out


def signature_text(mh) -> str:
    """A MinHash signature as shared in indicators: its hash values in hex, ``:``-joined."""
    return ":".join(format(int(v), "x") for v in mh.hashvalues)
