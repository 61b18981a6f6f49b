"""Filing reports, the scheduler's step: withdraw, plan, send — one filer per database at a time.

    confirmed/escalated listings ──outbox.plan_reports──► reports (pending) ──delivery.send_pending──► sent
    reopened listings ──withdrawals.send_withdrawals──► withdrawn | unsupported (a person follows up)

What a report cites, where it goes and how it escalates is takedown/policy.py; the rows and their
exactly-once delivery are takedown/outbox.py and takedown/delivery.py. Only one filer runs at a time
(a lock file beside the database), so two schedulers cannot send the same row.

Evidence is the evidence step's (takedown/evidence.py, run before this in a cycle): a report cites
the newest evidence captured for each listing and never captures it again. Only a listing with no
evidence at all is captured here (``[reports] capture_evidence``), because ``require_evidence``
would otherwise hold its report; one still without evidence waits, listed as ``waiting_for_evidence``.

Configuration (all optional; the sandbox platforms work with none):

    [reporter]                     org, contact, domain — who the reports say they are from
    [reports]                      max_attempts = 8, backoff_seconds = 60, max_backoff_seconds = 21600,
                                   quick_retries = 2, capture_evidence = true, require_evidence = true
    [exports]                      dir = "<db dir>/exports" (XARF and 12321 files)
    [platforms.<name>]             channels = ["sandbox_intake", "email"], escalation = ["refile", "xarf",
                                   "csv_12321"], abuse_email, deadline_hours = 48, rate_limit_per_minute = 60,
                                   report_url, token_env
    [channels.smtp]                host, port, username, password_env, starttls, ssl, ca_file,
                                   allow_plaintext_auth, from_addr (see channels/email.py)
"""
from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

from common.clock import SYSTEM
from common.config import Config
from store.db import open_db
from takedown.delivery import send_pending
from takedown.escalation import count_needing_person
from takedown.evidence import capture_listings, without_evidence
from takedown.outbox import outbox_settings, plan_reports
from takedown.withdrawals import send_withdrawals

TO_FILE = ("confirmed", "escalated")          # the states plan_reports files


@contextlib.contextmanager
def filer_lock(db_path):
    """One filer per database; released by the OS if the process dies. Yields False when busy."""
    path = Path(str(db_path) + ".report.lock")
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def file_confirmed(db_path, config: Config | None = None, clock=SYSTEM) -> dict:
    """Scheduler hook: capture evidence a listing has none of, withdraw, plan reports for
    confirmed/escalated listings, send what is due.

    Returns counts: ``captured``, ``planned``, ``sent``, ``recovered`` (found already sent after
    a crash), ``retrying``, ``failed``, ``cancelled``, plus ``not_configured`` channels and
    ``busy`` if another filer holds the lock.
    """
    config = config or Config()
    summary: dict = {"captured": 0, "planned": 0, "sent": 0, "recovered": 0, "retrying": 0, "failed": 0}
    with filer_lock(db_path) as locked:
        if not locked:
            summary["busy"] = True
            return summary
        if outbox_settings(config)["capture_evidence"]:
            _capture_missing(db_path, config, clock, summary)
        db = open_db(db_path)
        try:
            summary.update({k: v for k, v in send_withdrawals(db, config, clock, db_path).items() if v})
            notes: dict = {}
            summary["planned"] = plan_reports(db, config, clock, db_path, notes)
            summary.update(notes)
            send_pending(db, config, clock, db_path, summary)
            summary["needs_person"] = count_needing_person(db)
        finally:
            db.close()
    return summary


def _capture_missing(db_path, config: Config, clock, summary: dict) -> None:
    """Capture only listings to file that have no evidence at all (else require_evidence holds them);
    one with older evidence is filed with it — a new version is the evidence step's to capture."""
    db = open_db(db_path)
    try:
        needing = without_evidence(db, TO_FILE)
    finally:
        db.close()
    if needing:
        result = capture_listings(db_path, config, clock, listing_ids=needing)
        summary["captured"] = len(result.captured)
        if result.errors:
            summary["evidence_errors"] = result.errors
