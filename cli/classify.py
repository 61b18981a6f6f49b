"""`sweep evaluate` and `sweep terms`: how good the model is, and the jargon it should learn next."""
from __future__ import annotations

import json
from pathlib import Path

import click

from store.db import DEFAULT_DB

TARGETS = {"binary_f1": 0.95, "category_accuracy": 0.93, "hard_negative_fp": 0.03, "tactic_recall": 0.90}


@click.command()
@click.option("--in", "in_path", type=click.Path(dir_okay=False, exists=True),
              help="Labelled JSONL in the corpus format (title, description, label; optional kind, price, "
                   "tactics, hard_negative). Default: the corpus's frozen test split.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), help="Model artifact (default: bundled).")
@click.option("--json", "json_path", default="evaluation.json", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the JSON report.")
@click.option("--png", "png_path", default="evaluation.png", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the confusion-matrix / precision-recall plot.")
@click.option("--background", "background_path", type=click.Path(dir_okay=False, exists=True),
              help="Benign-only JSONL (title, description): false-positive rate with a Wilson 95 % interval and "
                   "the flagged rows; its FPR then feeds the precision-at-prevalence figures.")
@click.option("--dilute", is_flag=True,
              help="Also re-score the harmful rows with boilerplate added (0/100/250/500/1000 characters, "
                   "before/after/both): recall per added length.")
@click.option("--boilerplate", "boilerplate_path", type=click.Path(dir_okay=False, exists=True),
              help="Boilerplate bank for --dilute (JSONL of kind, text; default: classifier/eval/boilerplate.jsonl).")
def evaluate(in_path, model_path, json_path, png_path, background_path, dilute, boilerplate_path):
    """Score the model on labelled listings: per-label and binary P/R/F1, confusion matrix,
    false-positive rate per hard-negative type, recall per evasion tactic, and precision at
    1 % and 0.1 % prevalence from the measured TPR and FPR.

    Example:

        sweep evaluate --in labelled.jsonl --background ordinary.jsonl --dilute --json report.json
    """
    from classifier.artifact import DEFAULT_MODEL, ArtifactError
    from classifier.corpus import CorpusError, load_corpus, read_jsonl, split
    from classifier.evaluate import BOILERPLATE, open_world, predict_all
    from classifier.evaluate import evaluate as score
    from classifier.plots import save_report_png
    from classifier.predict import Classifier

    from cli.summary import print_evaluation, print_open_world

    try:
        rows = read_jsonl(Path(in_path)) if in_path else split(load_corpus())[1]
        model = Classifier.load(model_path or DEFAULT_MODEL)
    except (CorpusError, ArtifactError) as exc:
        raise click.ClickException(str(exc)) from None
    background = _read_background(background_path) if background_path else None
    bank = _read_jsonl_lenient(Path(boilerplate_path or BOILERPLATE), "boilerplate")[0] if dilute else None
    predictions = predict_all(model, rows)
    report = score(rows, predictions)
    report["source"] = in_path or "frozen test split of the bundled corpus"
    report["model_version"] = model.version
    report["threshold"] = model.threshold
    report["targets"] = TARGETS
    report.update(open_world(model, rows, predictions, background, bank))
    if background_path:
        report["background"]["source"] = background_path
    Path(json_path).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    save_report_png(report, [p["score"] for p in predictions], [r["label"] != "benign" for r in rows], png_path)
    print_evaluation(report, TARGETS)
    print_open_world(report)
    click.echo(f"report: {json_path}  plot: {png_path}")


def _read_jsonl_lenient(path: Path, what: str) -> tuple[list[dict], int]:
    """Rows of a JSONL file; a malformed line is reported with its number and skipped (and counted)."""
    from classifier.stream import parse_line

    rows, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if what == "boilerplate":
                try:
                    row = json.loads(line)
                    problem = None if isinstance(row, dict) and isinstance(row.get("text"), str) else \
                        f"line {number}: no string 'text'; skipped"
                except json.JSONDecodeError as exc:
                    row, problem = None, f"line {number}: not JSON ({exc.msg}); skipped"
            else:
                row, problem = parse_line(line, number)
            if problem:
                bad += 1
                click.echo(f"{path.name}: {problem}", err=True)
                continue
            rows.append(row)
    if not rows:
        raise click.ClickException(f"{path}: no usable {what} rows")
    return rows, bad


def _read_background(path: str) -> list[dict]:
    rows, bad = _read_jsonl_lenient(Path(path), "background")
    harmful = [r.get("id") or n for n, r in enumerate(rows, 1) if r.get("label") not in (None, "benign")]
    if harmful:
        raise click.ClickException(f"{path}: --background takes benign-only text; {len(harmful)} row(s) are "
                                   f"labelled harmful (first: {harmful[0]})")
    if bad:
        click.echo(f"{path}: {bad} malformed line(s) skipped", err=True)
    return rows


@click.group()
def terms():
    """Jargon discovery: terms frequent in confirmed listings but missing from the dictionary.

    Example:

        sweep terms propose --db sweep.db && sweep terms approve 卡机 --by alice
    """


def _db(path):
    from store.db import open_db

    if path != ":memory:" and not Path(path).exists():   # terms come from reviews: a new, empty file has none
        raise click.ClickException(f"no database at {path}: check --db (sweep crawl, run, demo or ingest create one)")
    return open_db(path)


@terms.command("propose")
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False))
@click.option("--min-count", default=3, show_default=True, help="Confirmed listings a term must appear in.")
@click.option("--limit", default=30, show_default=True, help="At most this many proposals.")
def terms_propose(db_path, min_count, limit):
    """Propose terms from reviewed listings for a reviewer to approve.

    Example:

        sweep terms propose --db sweep.db --min-count 3
    """
    from classifier.terms import propose

    proposed = propose(_db(db_path), min_count, limit)
    for p in proposed:
        click.echo(f"{p['term']}\tlog-odds {p['score']:+.2f}\tconfirmed {p['confirmed']}\tother {p['other']}")
    click.echo(f"{len(proposed)} term(s) proposed; approve with `sweep terms approve TERM... --by NAME`", err=True)


def _decide(db_path, words, by, status, terms_file=None):
    from classifier.terms import decide
    from classifier.tokenize import APPROVED_TERMS

    try:
        return decide(_db(db_path), list(words), status, by, Path(terms_file) if terms_file else APPROVED_TERMS)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@terms.command("approve")
@click.argument("words", nargs=-1, required=True)
@click.option("--by", required=True, help="Reviewer approving the terms (recorded).")
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False))
@click.option("--terms-file", type=click.Path(dir_okay=False),
              help="Where approved terms are exported (default: classifier/data/approved_terms.txt, "
                   "which `sweep train` loads).")
def terms_approve(words, by, db_path, terms_file):
    """Approve proposed terms: a new dictionary version, used at the next `sweep train`.

    Example:

        sweep terms approve 卡机 池子 --by alice
    """
    version = _decide(db_path, words, by, "approved", terms_file)
    click.echo(f"dictionary version {version}: {len(words)} term(s) approved; retrain with `sweep train`")


@terms.command("reject")
@click.argument("words", nargs=-1, required=True)
@click.option("--by", required=True, help="Reviewer rejecting the terms (recorded).")
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False))
def terms_reject(words, by, db_path):
    """Reject proposed terms so they are not proposed again.

    Example:

        sweep terms reject 包邮 --by alice
    """
    _decide(db_path, words, by, "rejected")
    click.echo(f"{len(words)} term(s) rejected")


@terms.command("list")
@click.option("--status", type=click.Choice(["proposed", "approved", "rejected"]), help="Only this status.")
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False))
def terms_list(status, db_path):
    """List terms with their status and dictionary version.

    Example:

        sweep terms list --status approved
    """
    db = _db(db_path)
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    for r in db.query(f"SELECT * FROM terms {where} ORDER BY status, score DESC", params):
        click.echo(f"{r['term']}\t{r['status']}\tv{r['version'] or '-'}\t{r['score']:+.2f}\t{r['decided_by'] or ''}")


def register(cli: click.Group) -> None:
    cli.add_command(evaluate)
    cli.add_command(terms)
