"""Terminal tables for `sweep run`, `sweep demo` and `sweep stats`."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from classifier import HARMFUL

from .db import open_db
from .store import Store


def print_summary(db_path: str, result) -> None:
    db = open_db(db_path)
    console = Console(width=max(Console().width, 130))
    table = Table(title=f"Run {result.run_id}: {result.outcome}")
    for col in ("platform", "pages", "listings", "new", "changed", "flagged", *HARMFUL):
        table.add_column(col, justify="left" if col == "platform" else "right", no_wrap=True)
    for name, p in result.platforms.items():
        by_label = {r["label"]: r["n"] for r in db.query(
            "SELECT label, count(*) AS n FROM listings WHERE platform = ? AND last_run_id = ? AND flagged = 1 "
            "GROUP BY label", [name, result.run_id])}
        table.add_row(name, str(p["pages"]), str(p["listings"]), str(p["new"]), str(p["changed"]),
                      str(sum(by_label.values())), *[str(by_label.get(label, 0)) for label in HARMFUL])
    console.print(table)
    for failure in result.failures:
        console.print(f"[red]failed:[/red] {failure}")


def print_stats(db_path: str) -> None:
    rows = Store(open_db(db_path)).stats()
    table = Table(title="Listings by platform and label")
    for col in ("platform", "label", "listings", "flagged"):
        table.add_column(col, justify="left" if col in ("platform", "label") else "right")
    for r in rows:
        table.add_row(r["platform"], r["label"], str(r["listings"]), str(r["flagged"] or 0))
    Console().print(table)
