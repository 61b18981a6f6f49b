"""`sweep indicators export|import`: confirmed indicators shared as STIX 2.1 bundles (precheck/indicators.py)."""
from __future__ import annotations

import sys

import click

from cli.options import config_option, db_option


@click.group()
def indicators():
    """Share confirmed contact handles, download links, seller ids and text signatures as STIX 2.1.

    Example:

        sweep indicators export --out sweep-indicators.json --db sweep.db
    """


@indicators.command("export")
@db_option
@click.option("--out", "out_path", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Bundle file ('-' for stdout).")
@click.option("--org", default=None, help="Name of the sharing organisation (default: [reporter] org).")
@config_option
def export(db_path, out_path, org, config_path):
    """Write a STIX 2.1 bundle of what reviewers confirmed (imported indicators are not re-shared).

    Example:

        sweep indicators export --out sweep-indicators.json --db sweep.db
    """
    from common.config import load_config
    from store.db import open_db
    from precheck.indicators import export_bundle

    org = org or load_config(config_path).section("reporter").get("org") or "Sweep"
    text, counts = export_bundle(open_db(db_path), org)
    if out_path == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(out_path, "w", encoding="utf-8") as fh:
            fh.write(text)
    click.echo("exported " + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing"), err=True)


@indicators.command("import")
@click.argument("bundle", type=click.Path(dir_okay=False, exists=True))
@click.option("--source", required=True, help="Who shared the bundle (kept with every indicator).")
@db_option
def import_(bundle, source, db_path):
    """Import a STIX 2.1 bundle: its indicators feed the check API's banks and queue matching
    listings for review, marked with --source. Nothing is confirmed by an import.

    Example:

        sweep indicators import partner.json --source partner-ts --db sweep.db
    """
    from store.db import open_db
    from precheck.indicators import import_bundle, load_text

    counts = import_bundle(open_db(db_path), load_text(bundle), source)
    click.echo(f"imported {counts['imported']} indicators from {source} ({counts['skipped']} skipped: not a "
               f"pattern Sweep reads); {counts['queued']} stored listings queued for review")


COMMANDS = (indicators,)
