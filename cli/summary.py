"""Terminal tables for `sweep run`, `sweep demo`, `sweep stats` and `sweep search`."""
from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from classifier import HARMFUL

from common.bidi import neutralise, neutralise_json
from store.db import open_db
from store.listings import Store, flagged_by_label, flags


def cell(value) -> str:
    """Text from the database as a table cell: rich markup escaped, bidi controls made visible."""
    return escape(neutralise("" if value is None else str(value)))


def print_summary(db_path: str, result) -> None:
    db = open_db(db_path)
    console = Console(width=max(Console().width, 160))
    table = Table(title=f"Run {result.run_id}: {result.outcome}")
    for col in ("platform", "pages", "listings", "new", "changed", "flagged", *HARMFUL):
        table.add_column(col, justify="left" if col == "platform" else "right", no_wrap=True)
    for name, p in result.platforms.items():
        by_label = flagged_by_label(db, name, result.run_id)
        table.add_row(cell(name), str(p["pages"]), str(p["listings"]), str(p["new"]), str(p["changed"]),
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
        table.add_row(cell(r["platform"]), cell(r["label"]), str(r["listings"]), str(r["flagged"] or 0))
    Console().print(table)


def print_search(rows: list[dict], as_json: bool = False) -> None:
    """`sweep search` lines: ⚑ id label title, or one JSON object per listing (bidi controls escaped)."""
    for row in rows:
        if as_json:
            click.echo(neutralise_json(json.dumps(row, ensure_ascii=False)))
        else:
            mark = "⚑" if row["flagged"] else " "
            click.echo(neutralise(f"{mark} {row['id']:<22} {row['label'] or '-':<16} {row['title']}"))
    if not as_json:
        click.echo(f"{len(rows)} listing(s)", err=True)


def _mark(ok: bool) -> str:
    return "[green]✓[/green]" if ok else "[red]✗[/red]"


def print_evaluation(report: dict, targets: dict) -> None:
    """The `sweep evaluate` tables, with each quality target marked met or not."""
    console = Console(width=max(Console().width, 110))
    b = report["binary"]
    console.print(f"[bold]{report['n']} listings[/bold] ({report.get('source', '')}), "
                  f"model {report.get('model_version')}")
    head = Table(title="Targets")
    for col in ("measure", "value", "target", ""):
        head.add_column(col)
    cat = report["category_accuracy_on_harmful"] or 0.0
    worst = min((v["recall"] for v in report["recall_by_tactic"].values()), default=1.0)
    for name, value, target, ok in [
        ("binary F1 (harmful vs benign)", b["f1"], f"≥ {targets['binary_f1']}", b["f1"] >= targets["binary_f1"]),
        ("category accuracy on harmful", cat, f"≥ {targets['category_accuracy']}", cat >= targets["category_accuracy"]),
        ("false-positive rate, hard negatives", report["hard_negative_fp_rate"], f"≤ {targets['hard_negative_fp']}",
         report["hard_negative_fp_rate"] <= targets["hard_negative_fp"]),
        ("lowest recall over tactics", worst, f"≥ {targets['tactic_recall']}", worst >= targets["tactic_recall"]),
    ]:
        head.add_row(name, f"{value:.4f}", target, _mark(ok))
    console.print(head)
    labels = Table(title=f"Per label (binary P {b['precision']:.4f} R {b['recall']:.4f} F1 {b['f1']:.4f})")
    for col in ("label", "precision", "recall", "F1", "n"):
        labels.add_column(col, justify="left" if col == "label" else "right")
    for label, m in report["per_label"].items():
        labels.add_row(label, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", str(m["support"]))
    console.print(labels)
    grid = Table(title="Hard negatives (false-positive rate) and tactics (recall)")
    for col in ("hard-negative type", "n", "FP rate", "tactic", "n ", "recall"):
        grid.add_column(col, justify="right" if col.strip() in ("n", "FP rate", "recall") else "left")
    fps, tactics = list(report["fp_rate_by_hard_negative"].items()), list(report["recall_by_tactic"].items())
    for i in range(max(len(fps), len(tactics))):
        f = fps[i] if i < len(fps) else ("", {"n": "", "rate": None})
        t = tactics[i] if i < len(tactics) else ("", {"n": "", "recall": None})
        grid.add_row(f[0], str(f[1]["n"]), "" if f[1]["rate"] is None else f"{f[1]['rate']:.4f}",
                     t[0], str(t[1]["n"]), "" if t[1]["recall"] is None else f"{t[1]['recall']:.4f}")
    console.print(grid)
    cm = Table(title="Confusion matrix (rows: true, columns: predicted)")
    cm.add_column("")
    short = [label[:8] for label in report["labels"]]
    for s in short:
        cm.add_column(s, justify="right")
    for label, row in zip(report["labels"], report["confusion_matrix"]):
        cm.add_row(label, *[str(v) for v in row])
    console.print(cm)


def queue_quality(db_path: str, truth: dict[str, str]) -> dict:
    """How the flagged queue compares with a known answer (the sandbox's ground truth).

    ``truth`` maps listing id to its true label; listings it does not name count as benign.
    """
    tp = fp = fn = right_label = n = 0
    for row in flags(open_db(db_path)):
        n += 1
        harmful = truth.get(row["id"], "benign") != "benign"
        if row["flagged"]:
            tp += harmful
            fp += not harmful
            right_label += harmful and truth[row["id"]] == row["label"]
        else:
            fn += harmful
    return {"listings": n, "harmful": tp + fn, "flagged": tp + fp, "true_positives": tp, "false_positives": fp,
            "missed": fn, "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None, "category_accuracy": right_label / tp if tp else None}


def print_queue_quality(q: dict) -> None:
    """One paragraph: what share of the review queue is really harmful, at the sandbox's prevalence."""
    def pct(x):
        return "n/a" if x is None else f"{x:.1%}"

    Console().print(
        f"review queue vs the sandbox's ground truth: {q['flagged']} flagged of {q['listings']} listings "
        f"({q['harmful']} truly harmful, 1 in {q['listings'] // max(1, q['harmful'])}); "
        f"precision {pct(q['precision'])} ({q['false_positives']} false alarms), recall {pct(q['recall'])} "
        f"({q['missed']} missed), category right on {pct(q['category_accuracy'])} of true hits")


def print_open_world(report: dict) -> None:
    """The open-world part of `sweep evaluate`: background FPR, diluted recall, precision at prevalence."""
    console = Console(width=max(Console().width, 110))
    for key, title in (("background", "Background (benign-only text)"), ("ordinary", "Ordinary benign rows")):
        if key not in report:
            continue
        bg = report[key]
        lo, hi = bg["ci95"]
        console.print(f"[bold]{title}[/bold]: {bg['flagged']} of {bg['n']} flagged, FPR {bg['fpr']:.4%} "
                      f"(Wilson 95 % {lo:.4%}–{hi:.4%})")
        for ex in bg["examples"][:20]:
            console.print(f"  {ex['score']:.3f} {ex['label']:<16} {escape(ex['text'])}", highlight=False)
    if "dilution" in report:
        table = Table(title="Diluted recall (boilerplate added around the harmful rows)")
        for col in ("added characters", "position", "n", "recall"):
            table.add_column(col, justify="right")
        for key, v in report["dilution"].items():
            length, _, position = key.partition("/")
            table.add_row(length, position or "all", str(v["n"]), f"{v['recall']:.4f}")
        console.print(table)
    p = report["at_prevalence"]
    console.print(f"[bold]Precision at prevalence[/bold] (TPR {p['tpr']:.4f}, FPR {p['fpr']:.4%} from "
                  f"{p['fpr_source']}): " + ", ".join(f"{float(k):.1%}: {v:.4f}" for k, v in p["precision"].items()))
