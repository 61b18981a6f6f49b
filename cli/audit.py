"""`sweep audit-search`: what each platform's search still shows (visibility/)."""
from __future__ import annotations

import json

import click

from common.errors import SweepError
from cli.options import config_option, db_option, profile_options


@click.command("audit-search")
@db_option
@profile_options
@click.option("--per-kind", default=2, show_default=True, help="Variants per spelling kind and keyword.")
@click.option("--max-pages", default=2, show_default=True, help="Result pages read per query.")
@click.option("--report-dir", type=click.Path(file_okay=False),
              help="Also write a dated HTML compliance report per platform here.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-platform summary as JSON.")
@config_option
def audit_search(db_path, platforms, profiles_dir, base_urls, keywords, per_kind, max_pages, report_dir, as_json,
                 config_path):
    """Run the keyword list and its evasive spellings (spacing, pinyin and initials, homophones,
    traditional, full-width) through each platform's search and classify what comes back.

    Example:

        sweep audit-search --db sweep.db --report-dir reports/
    """
    from classifier.artifact import DEFAULT_MODEL
    from classifier.predict import Classifier
    from crawler.profile import PROFILE_DIR, load_profiles

    from common.bidi import neutralise
    from common.config import load_config
    from store.db import open_db
    from visibility.audit import run_audit
    from visibility.report import platform_summary, render_reports

    config = load_config(config_path)
    profiles = load_profiles(profiles_dir or PROFILE_DIR, list(platforms) or None)
    profiles = [p.rebase(base_urls[p.name]) if p.name in base_urls else p for p in profiles if p.seeds.get("search")]
    if not profiles:
        raise SweepError("no platform profile with a search seed (seeds.search) to audit")
    db = open_db(db_path)
    audit_id = run_audit(db, profiles, Classifier.load(DEFAULT_MODEL),
                         [k.strip() for k in keywords.split(",") if k.strip()] if keywords else None,
                         per_kind, max_pages, config.section("crawl").get("contact"),
                         progress=lambda m: click.echo(m, err=True))
    summary = platform_summary(db, audit_id)
    if as_json:
        click.echo(json.dumps({"audit_id": audit_id, "platforms": [
            {k: v for k, v in s.items() if k != "rows"} for s in summary]}, ensure_ascii=False))
    else:
        click.echo(f"{'platform':<14}{'queries':>8}{'harmful':>9}{'page 1':>8}{'rate':>7}  worst queries")
        for s in summary:
            worst = ", ".join(f"{neutralise(r['query'])} ({r['harmful']})" for r in s["worst"][:3]) or "-"
            rate = "-" if s["visibility"] is None else f"{s['visibility']:.0%}"
            click.echo(f"{s['platform']:<14}{s['run']:>8}{s['visible']:>9}{s['first_page']:>8}{rate:>7}  {worst}")
    if report_dir:
        org = config.section("reporter").get("org") or "Sweep"
        for path in render_reports(db, report_dir, org, audit_id):
            click.echo(f"report: {path}", err=True)


COMMANDS = (audit_search,)
