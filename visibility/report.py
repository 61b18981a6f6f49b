"""What the audit found, per platform: the table, ``--json``, and a dated HTML compliance report.

The compliance report (查处清理情况) puts the audit beside the takedown figures the dashboard
already computes (store/metrics.py): listings found (flagged), reported, removed, median
hours to removal, relists — and search visibility: the share of queries whose results still
hold harmful listings, and on the first page. Every value from crawled or searched text is
escaped by Jinja2's autoescape, bidi controls shown as markers.
"""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, select_autoescape

from common.bidi import neutralise as _bidi
from common.clock import SYSTEM
from store.metrics import platform_rows


def latest_audit(db) -> int | None:
    row = db.execute("SELECT max(id) FROM search_audits WHERE finished_at IS NOT NULL").fetchone()
    return row[0] if row else None


def platform_summary(db, audit_id: int, worst: int = 5) -> list[dict]:
    out = []
    platforms = [r[0] for r in db.execute("SELECT DISTINCT platform FROM search_audit_queries WHERE audit_id = ? "
                                          "ORDER BY platform", [audit_id])]
    for platform in platforms:
        rows = list(db.query("SELECT keyword, variant, query, results, harmful, harmful_first_page, error "
                             "FROM search_audit_queries WHERE audit_id = ? AND platform = ? ORDER BY id",
                             [audit_id, platform]))
        run = [r for r in rows if r["error"] is None]
        visible = [r for r in run if r["harmful"]]
        by_kind: dict[str, list[int]] = {}
        for r in run:
            tried_visible = by_kind.setdefault(r["variant"], [0, 0])
            tried_visible[0] += 1
            tried_visible[1] += bool(r["harmful"])
        out.append({"platform": platform, "queries": len(rows), "run": len(run), "errors": len(rows) - len(run),
                    "visible": len(visible), "first_page": sum(1 for r in run if r["harmful_first_page"]),
                    "visibility": len(visible) / len(run) if run else None,
                    "by_variant": {k: {"tried": v[0], "visible": v[1]} for k, v in by_kind.items()},
                    "worst": sorted(visible,
                                    key=lambda r: (-r["harmful_first_page"], -r["harmful"], r["query"]))[:worst],
                    "rows": rows})
    return out


def visibility_over_time(db) -> dict[str, list[dict]]:
    """{platform: [{at, queries, visible, rate}] oldest first}, for the dashboard."""
    out: dict[str, list[dict]] = {}
    for at, platform, run, visible in db.execute(
            "SELECT a.started_at, q.platform, count(*), sum(q.harmful > 0) FROM search_audit_queries q "
            "JOIN search_audits a ON a.id = q.audit_id WHERE q.error IS NULL GROUP BY a.id, q.platform "
            "ORDER BY a.id"):
        out.setdefault(platform, []).append({"at": at, "queries": run, "visible": visible,
                                             "rate": visible / run if run else None})
    return out


_TEMPLATE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>查处清理情况 {{ platform }} {{ date }}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:.2em .5em;text-align:left}td.n{text-align:right}</style></head><body>
<h1>查处清理情况 / Compliance report: {{ platform }}</h1>
<p>Date: {{ date }} · prepared by {{ org }} with Sweep · search audit #{{ audit_id }} ({{ audit_at }})</p>
<h2>查处清理 — takedown</h2>
<table><tr><th>Found (flagged)</th><th>Confirmed</th><th>Reported</th><th>Removed</th><th>Removal rate</th>
<th>Median hours to removal</th><th>Relists</th></tr>
<tr><td class="n">{{ t.flagged }}</td><td class="n">{{ t.confirmed }}</td><td class="n">{{ t.reported }}</td>
<td class="n">{{ t.removed }}</td><td class="n">{{ pct(t.removal_rate) }}</td>
<td class="n">{{ hours(t.median_hours) }}</td>
<td class="n">{{ t.relisted }}</td></tr></table>
<h2>搜不到 — search visibility</h2>
<p>{{ s.run }} queries run ({{ s.errors }} could not be fetched): {{ s.visible }} still return harmful listings
({{ pct(s.visibility) }}), {{ s.first_page }} on the first page of results.</p>
<table><tr><th>Spelling</th><th>Queries</th><th>Still showing harmful listings</th></tr>
{% for kind, v in s.by_variant.items() %}<tr><td>{{ kind }}</td><td class="n">{{ v.tried }}</td>
<td class="n">{{ v.visible }}</td></tr>{% endfor %}</table>
<h3>Queries returning harmful listings</h3>
<table><tr><th>Keyword</th><th>Spelling</th><th>Query</th><th>Results</th><th>Harmful</th>
<th>Harmful on page 1</th></tr>
{% for r in s.rows if r.harmful %}<tr><td>{{ bidi(r.keyword) }}</td><td>{{ r.variant }}</td>
<td>{{ bidi(r.query) }}</td>
<td class="n">{{ r.results }}</td><td class="n">{{ r.harmful }}</td><td class="n">{{ r.harmful_first_page }}</td></tr>
{% endfor %}</table>
</body></html>
"""


def render_reports(db, out_dir: str | Path, org: str = "Sweep", audit_id: int | None = None,
                   today: str | None = None) -> list[Path]:
    """One ``compliance-<platform>-<date>.html`` per audited platform; returns the paths written."""
    audit_id = audit_id or latest_audit(db)
    if audit_id is None:
        return []
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(_TEMPLATE)
    date = today or SYSTEM.now().date().isoformat()
    audit_at = db.execute("SELECT started_at FROM search_audits WHERE id = ?", [audit_id]).fetchone()[0]
    takedown = {r["platform"]: r for r in platform_rows(db)}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in platform_summary(db, audit_id):
        t = takedown.get(s["platform"]) or {"flagged": 0, "confirmed": 0, "reported": 0, "removed": 0,
                                            "removal_rate": None, "median_hours": None, "relisted": 0}
        path = out_dir / f"compliance-{s['platform']}-{date}.html"
        path.write_text(template.render(platform=s["platform"], date=date, org=org, audit_id=audit_id,
                                        audit_at=audit_at, t=t, s=s, bidi=_bidi,
                                        pct=lambda v: "–" if v is None else f"{v:.0%}",
                                        hours=lambda v: "–" if v is None else f"{v:.1f}"), encoding="utf-8")
        paths.append(path)
    return paths
