"""Entity clusters: listings joined, directly or through each other, by a shared contact.

A seller who moves between platforms keeps what buyers need to reach them or the tool — a QQ
or WeChat handle, a Telegram channel, a QQ group, a cloud-drive link, a release file name
(``crawler/contacts.py`` finds and normalises them; the store keeps them in ``contacts`` and
``listing_contacts``). Following those links transitively gives the cluster of one operation:
a repository, the channel that sells its keys and the shop listing that points to the channel.
The review page shows the cluster's listings on other platforms; relist detection links a new
listing to a taken-down one through the same entities (``takedown/relist.py``).
"""
from __future__ import annotations

# Entities too common to join listings by: one that hundreds of listings share is boilerplate
# (a platform's own support group), not an operation.
MAX_SHARED = 50


def contact_cluster(db, listing_id: str, max_listings: int = 200) -> list[dict]:
    """Every other listing reachable from ``listing_id`` through shared contacts, nearest first:
    {id, platform, kind, title, state, label, score, via} where ``via`` names the entity that
    reached it (``type value``), and ``hops`` how many entities away it is."""
    conn = getattr(db, "conn", db)
    seen_listings = {listing_id: None}
    frontier, out, hops = [listing_id], [], 0
    while frontier and len(out) < max_listings:
        hops += 1
        marks = ", ".join("?" * len(frontier))
        rows = conn.execute(
            f"SELECT lc.contact_id, c.type, c.value, other.listing_id FROM listing_contacts lc "
            f"JOIN contacts c ON c.id = lc.contact_id "
            f"JOIN listing_contacts other ON other.contact_id = lc.contact_id AND other.listing_id != lc.listing_id "
            f"WHERE lc.listing_id IN ({marks}) AND (SELECT count(*) FROM (SELECT 1 FROM listing_contacts x "
            f"WHERE x.contact_id = lc.contact_id LIMIT {MAX_SHARED + 1})) <= {MAX_SHARED} "   # bounded index probe
            f"ORDER BY c.type, c.value, other.listing_id",
            frontier).fetchall()
        frontier = []
        for _, ctype, value, other in rows:
            if other in seen_listings:
                continue
            seen_listings[other] = f"{ctype} {value}"
            frontier.append(other)
            out.append({"id": other, "via": f"{ctype} {value}", "hops": hops})
            if len(out) >= max_listings:
                break
    if not out:
        return []
    marks = ", ".join("?" * len(out))
    info = {r[0]: r for r in conn.execute(
        f"SELECT id, platform, kind, title, state, label, score FROM listings WHERE id IN ({marks})",
        [o["id"] for o in out])}
    cluster = []
    for o in out:
        r = info.get(o["id"])
        if r is not None:
            cluster.append({**o, "platform": r[1], "kind": r[2], "title": r[3], "state": r[4], "label": r[5],
                            "score": r[6]})
    return cluster


def other_platforms(db, listing_id: str, platform: str) -> dict[str, list[dict]]:
    """The cluster's listings on platforms other than ``platform``, by platform."""
    by_platform: dict[str, list[dict]] = {}
    for row in contact_cluster(db, listing_id):
        if row["platform"] != platform:
            by_platform.setdefault(row["platform"], []).append(row)
    return dict(sorted(by_platform.items()))
