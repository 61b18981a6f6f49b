"""The step adding abused endpoints (issue #11 §3; listed in __init__.py).

- ``endpoint_sightings`` — one abused endpoint (owning domain, host, path, the tool's description)
  as one repository listing's config files name it: the listing versions and times it was seen in.
  Never a header, token, cookie or request body: the extractor keeps none (takedown/endpoints/extract.py).
- ``endpoint_domains`` — per owning domain: the security contact found (or configured), when and
  why the lookup failed, the endpoint-abuse report filed through the outbox, and its acknowledgement.
"""
from __future__ import annotations

import sqlite_utils



def endpoints_001_sightings_domains(db: sqlite_utils.Database) -> None:
    db["endpoint_sightings"].create({"id": int, "domain": str, "host": str, "path": str, "description": str,
                                     "listing_id": str, "first_version": int, "last_version": int,
                                     "first_seen": str, "last_seen": str}, pk="id",
                                    not_null={"domain", "host", "path", "listing_id"},
                                    foreign_keys=[("listing_id", "listings", "id")])
    db["endpoint_sightings"].create_index(["listing_id", "host", "path"], unique=True)
    db["endpoint_sightings"].create_index(["domain"])
    db["endpoint_domains"].create({"domain": str, "contact": str, "contact_source": str, "contact_checked_at": str,
                                   "contact_error": str, "report_id": int, "filed_at": str, "acknowledged_at": str,
                                   "ack_note": str}, pk="domain", foreign_keys=[("report_id", "reports", "id")])
