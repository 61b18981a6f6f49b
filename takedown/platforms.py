"""A platform's takedown settings, loaded: what takedown/policy.py decides from, read once from where it lives.

The platforms table (the base URL it was crawled at), ``[platforms.<name>]``, the profile's removal
signals and outbound rule (takedown/fetch_policy.py), and for an endpoint-abuse "platform"
(``endpoint:<domain>``) the security contact found for the domain (takedown/endpoints/store.py).
Recheck, relist and the outbox all call this; none of them reads another's copy.
"""
from __future__ import annotations

from common.config import Config
from takedown.channels import PlatformSettings
from takedown.endpoints.store import owner_contact
from takedown.fetch_policy import platform_policy, profile_rule
from takedown.policy import make_settings

ENDPOINT_PREFIX = "endpoint:"


def platform_settings(db, config: Config, name: str) -> PlatformSettings:
    """A platform's channels, deadline and limits: [platforms.<name>] over sandbox defaults."""
    sect = config.section(f"platforms.{name}")
    row = db.execute("SELECT base_url, profile_path FROM platforms WHERE name = ?", [name]).fetchone()
    removed = None if sect.get("removed") else dict(profile_rule(name, row[1] if row else None).removed)
    owner = owner_contact(db, name[len(ENDPOINT_PREFIX):]) if name.startswith(ENDPOINT_PREFIX) else None
    return make_settings(name, sect, base_url=row[0] if row else None, abuse_email=owner, removed=removed,
                         policy=platform_policy(db, config, name).policy)
