"""Withdrawals: take a sent report back for a listing a reviewer reopened.

Through the channel where it can (``Withdraw``, e.g. a platform intake), else recorded as
unsupported so a person contacts the platform. Both end in the audit log; a transient failure
(or a channel not configured now) is tried again next run.
"""
from __future__ import annotations

from common.clock import SYSTEM, iso
from common.config import Config
from store.states import audit
from takedown.channels import CHANNELS, Channel, NotConfigured, PermanentError, TransientError, Withdraw, build_channel
from takedown.outbox import ACTOR, load_report
from takedown.platforms import platform_settings
from store.txn import immediate

UNSUPPORTED = "withdrawal not supported by this channel — contact the platform"


def send_withdrawals(db, config: Config, clock=SYSTEM, db_path=None) -> dict:
    """Withdraw sent reports for listings a reviewer reopened: through the channel where it can
    (``Withdraw``), else recorded as unsupported so a person contacts the platform. Both end
    in the audit log; a transient failure is tried again next run."""
    done = {"withdrawn": 0, "unsupported": 0, "withdraw_errors": 0}
    pending = db.execute("SELECT w.id, w.report_id, w.listing_id, w.reason, r.channel, r.platform, r.receipt, l.url "
                         "FROM withdrawals w JOIN reports r ON r.id = w.report_id "
                         "JOIN listings l ON l.id = w.listing_id "
                         "WHERE w.state = 'pending' ORDER BY w.id").fetchall()
    for wid, report_id, lid, reason, channel_name, platform, receipt, url in pending:
        state, note = "unsupported", UNSUPPORTED
        if issubclass(CHANNELS.get(channel_name, Channel), Withdraw):
            try:
                channel = build_channel(channel_name, platform_settings(db, config, platform), config, db_path)
                try:
                    channel.withdraw(load_report(db, report_id, db_path, config), receipt or "", [url], reason or "")
                finally:
                    channel.close()
                state, note = "withdrawn", f"withdrawn via {channel_name} (receipt {receipt})"
            except (NotConfigured, TransientError) as exc:
                done["withdraw_errors"] += 1
                with immediate(db) as conn:
                    conn.execute("UPDATE withdrawals SET error = ? WHERE id = ?", [str(exc)[:500], wid])
                continue
            except PermanentError as exc:
                state, note = "failed", f"{channel_name} refused the withdrawal: {exc}"[:500]
        with immediate(db) as conn:
            conn.execute("UPDATE withdrawals SET state = ?, done_at = ?, error = ? WHERE id = ?",
                         [state, iso(clock.now()), None if state == "withdrawn" else note, wid])
            audit(conn, ACTOR, f"report:withdrawal_{state}", lid,
                  {"report_id": report_id, "channel": channel_name, "reason": note}, clock.now())
        done[state if state in ("withdrawn", "unsupported") else "withdraw_errors"] += 1
    return done
