"""The database's schema as ONE ordered list of steps, applied in this order to every database.

A fresh database and one made by an older Sweep run the same steps in the same order (before,
each ``schema_*`` module registered its steps when imported, so the order was the import order).
Each step is a plain function in the module named for what it adds, run and recorded by its name
in ``_sqlite_migrations`` through sqlite-utils' ``Migrations`` (set ``sweep``) — so a name never
changes once shipped, whatever its naming scheme. Add a step by appending it to ``STEPS``; never
edit, rename or reorder one that has shipped.

A database recording a step this list does not know was migrated by a newer Sweep; it is refused
(:class:`UnknownMigration`) before anything is written, rather than migrated on top of a schema
this version has never seen.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import sqlite_utils
from sqlite_utils.migrations import Migrations

from store.migrations import checks, endpoints, listings, operations, reviews, scale, takedowns, terms

SET = "sweep"


class Step(NamedTuple):
    fn: Callable[[sqlite_utils.Database], None]
    transactional: bool = True        # False: the step commits on its own (see its docstring)

    @property
    def name(self) -> str:
        return self.fn.__name__


STEPS: tuple[Step, ...] = (
    Step(listings.m001_initial),
    Step(listings.m002_run_tracking),
    Step(listings.m003_states_and_audit),
    Step(listings.m004_price_as_shown),
    Step(terms.m100_terms),
    Step(reviews.review_001_users_reviews_claims),
    Step(reviews.review_002_accounts_to_their_own_file, transactional=False),
    Step(takedowns.takedown_001_evidence_reports_rechecks),
    Step(takedowns.takedown_002_withdrawals),
    Step(operations.ops_001_locks),
    Step(operations.ops_002_monitor_results),
    Step(checks.levers_001_check_decisions_indicators),
    Step(checks.levers_002_search_audits),
    Step(endpoints.endpoints_001_sightings_domains),      # references reports (takedown_001)
    Step(scale.scale_001_indexes_and_counters),           # indexes reviews, reported_at, relists
    Step(scale.scale_002_relist_counts),
    Step(scale.scale_003_audit_action),
    Step(scale.scale_004_removals_by_platform),
)


class UnknownMigration(Exception):
    """The database records steps this version of Sweep does not have."""


def build(steps: tuple[Step, ...] = STEPS, name: str = SET) -> Migrations:
    """A sqlite-utils migration set holding ``steps`` in their order."""
    out = Migrations(name)
    for step in steps:
        out(name=step.name, transactional=step.transactional)(step.fn)
    return out


migrations = build()


def unknown(db: sqlite_utils.Database) -> list[str]:
    """Names the database records as applied that are not in STEPS (read-only)."""
    known = {step.name for step in STEPS}
    return [m.name for m in migrations.applied(db) if m.name not in known]


def apply(db: sqlite_utils.Database) -> None:
    """Run the steps ``db`` lacks, in STEPS order; raise UnknownMigration, writing nothing, for a newer database."""
    extra = unknown(db)
    if extra:
        raise UnknownMigration(f"it was migrated by a newer Sweep: it records schema step(s) this version does "
                               f"not know ({', '.join(extra)}); upgrade Sweep or point --db at another file")
    migrations.apply(db)
