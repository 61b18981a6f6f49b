"""`sweep endpoints`: abused endpoints by owning domain, and notifying the owners (takedown/endpoints/)."""
from __future__ import annotations

import json

import click

from common.errors import SweepError
from cli.options import config_option, db_option


@click.command("endpoints")
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of the table.")
@click.option("--notify", is_flag=True, help="Find each new domain's security contact and file one "
                                            "endpoint-abuse report per domain in the outbox.")
@click.option("--ack", "ack_domain", metavar="DOMAIN", help="Record that DOMAIN's owner acknowledged the report.")
@click.option("--note", default="", help="With --ack: what the owner said.")
@config_option
def endpoints(db_path, as_json, notify, ack_domain, note, config_path):
    """Endpoints that bomber repositories abuse, grouped by owning domain: endpoints, repositories
    citing it, first/last seen, notified, acknowledged, still listed after the notice. Reads the
    config files the crawl attached to code-host listings; never sends a request to an endpoint.

    Example:

        sweep endpoints --notify --db sweep.db && sweep report --db sweep.db
    """
    from common.config import load_config
    from store.db import open_db
    from takedown.endpoints.notify import notify as file_reports
    from takedown.endpoints.store import acknowledge, collect, domains

    db = open_db(db_path)
    if ack_domain:
        if not acknowledge(db, ack_domain, note):
            raise SweepError(f"no abused endpoints recorded for {ack_domain}")
        click.echo(f"acknowledged: {ack_domain}", err=True)
    counts = collect(db)
    click.echo(f"read {counts['files']} config files of {counts['listings']} bomber repositories "
               f"({counts['unreadable']} unreadable)", err=True)
    if notify:
        settings = load_config(config_path).section("endpoints")
        filed = file_reports(db, settings)
        click.echo("notify: " + (", ".join(f"{n} {k}" for k, n in sorted(filed.items())) or "nothing new"), err=True)
    rows = domains(db)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    click.echo(f"{'domain':<28} {'endpoints':>9} {'repos':>5}  {'first seen':<10} {'last seen':<10} "
               f"{'notified':<10} {'ack':<10} {'still listed':>12}")
    for r in rows:
        notified = (r["notified_at"] or "")[:10] or ("filed" if r["report_id"] else
                                                      ("no contact" if r["contact_error"] else "-"))
        still = "-" if r["still_listed"] is None else str(r["still_listed"])
        click.echo(f"{r['domain']:<28} {r['endpoints']:>9} {r['repositories']:>5}  {(r['first_seen'] or '')[:10]:<10} "
                   f"{(r['last_seen'] or '')[:10]:<10} {notified:<10} {(r['acknowledged_at'] or '-')[:10]:<10} "
                   f"{still:>12}")


COMMANDS = (endpoints,)
