"""`sweep classify`, `sweep train`, `sweep evaluate` and `sweep terms`: labelling listings, learning the model,
how good it is, and the jargon it should learn next."""
from __future__ import annotations

import json
from pathlib import Path

import click

from common.errors import SweepError
from store.db import open_db
from cli.options import db_option, existing_db_option, model_option

# What `sweep evaluate` marks met or not: issue #9's keep-targets (the tests' floors are what is met)
TARGETS = {"binary_f1": 0.97, "category_accuracy": 0.95, "hard_negative_fp": 0.02, "tactic_recall": 0.90}


@click.command()
@click.option("--in", "in_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSONL with at least title and description per line ('-' for stdin).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSONL output: the input plus label, score, flagged, scores, explanation.")
@model_option
@click.option("--workers", default=None, type=int, help="Processes (default: one per core).")
@click.option("--batch", default=256, show_default=True, help="Listings per batch.")
def classify(in_path, out_path, model_path, workers, batch):
    """Label listings from a JSONL file, streaming (bounded memory for any size).

    A malformed line (not JSON, nested too deeply, NaN/Infinity, not an object, no title or
    description) is reported with its line number on stderr and skipped; invalid UTF-8 is
    replaced with U+FFFD and reported. Exits 0 once every line was read, 1 if the input,
    output or model cannot be used.

    Example:

        sweep classify --in listings.jsonl --out labelled.jsonl
    """
    from classifier.artifact import DEFAULT_MODEL
    from classifier.stream import classify_stream

    from cli.progress import at_terminal, count_lines, lines_written, watch

    try:
        terminal = at_terminal() and out_path != "-"
        with watch("classifying", lines_written(out_path) if terminal else None,
                   total=count_lines(in_path) if terminal else None):
            counts = classify_stream(in_path, out_path, model_path or str(DEFAULT_MODEL), workers, batch,
                                     warn=lambda msg: click.echo(msg, err=True))
    except OSError as exc:          # --in missing or unreadable, --out not writable
        raise SweepError(f"{exc.filename or in_path}: {exc.strerror or exc}") from None
    click.echo(f"classified {counts['classified']} listings ({counts['flagged']} flagged); "
               f"{counts['malformed']} malformed lines skipped; {counts['repaired']} lines with invalid "
               f"Unicode repaired", err=True)


@click.command()
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, exists=True),
              help="Directory of labelled JSONL (default: classifier/corpus).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Artifact path (default: bundled).")
@click.option("--with-reviews", is_flag=True, help="Also learn from reviewers' decisions in --db.")
@click.option("--prevalence", default=0.01, show_default=True, type=click.FloatRange(0, 1, min_open=True),
              help="Share of harmful listings the crawl is expected to see; the threshold is chosen for it.")
@click.option("--target-precision", default=0.9, show_default=True, type=click.FloatRange(0, 1),
              help="Precision the flags must keep at --prevalence (from out-of-fold TPR and the FPR of the "
                   "corpus's public ordinary text).")
@click.option("--hard-negative-fpr", default=0.01, show_default=True, type=click.FloatRange(0, 1),
              help="Share of texts about the tools (news, victims, security work) the flags may take, out of fold.")
@db_option
def train(corpus_dir, out_path, with_reviews, prevalence, target_precision, hard_negative_fpr, db_path):
    """Train the classifier from the labelled corpus (and reviewer decisions) and write the artifact.

    Cross-validates on the training split (by listing) to choose the operating threshold: the
    lowest that keeps --target-precision at --prevalence and at most --hard-negative-fpr of the
    texts about the tools flagged; then scores the frozen test split (never tuned on).
    Reviewer decisions only ever join the training split.

    Example:

        sweep train --corpus classifier/corpus --with-reviews --db sweep.db --prevalence 0.01
    """
    from classifier.artifact import DEFAULT_MODEL
    from classifier.corpus import CORPUS_DIR
    from classifier.reviews import review_rows
    from classifier.train import train as do_train

    extra = []
    if with_reviews:
        if not Path(db_path).exists():
            raise SweepError(f"--with-reviews: no database at {db_path}")
        extra = review_rows(open_db(db_path))
        click.echo(f"{len(extra)} reviewer decisions added to the training split", err=True)
    from cli.progress import watch

    with watch("training") as say:      # at a terminal: a spinner naming the current step
        card = do_train(corpus_dir or CORPUS_DIR, out_path or DEFAULT_MODEL, extra_rows=extra, prevalence=prevalence,
                        prevalence_precision=target_precision, hard_negative_fpr=hard_negative_fpr,
                        log=lambda m: (say(f"training: {m}"), click.echo(m, err=True)))
    test = card["metrics"].get("frozen_test", {})
    click.echo(f"model {card['model_version']} written to {out_path or DEFAULT_MODEL}; flag threshold "
               f"{card['thresholds']['flag']}")
    if test:
        click.echo(f"frozen test: binary F1 {test['binary']['f1']}, category accuracy "
                   f"{test['category_accuracy_on_harmful']}, hard-negative FP rate {test['hard_negative_fp_rate']}")


@click.command()
@click.option("--in", "in_path", type=click.Path(dir_okay=False, exists=True),
              help="Labelled JSONL in the corpus format (title, description, label; optional kind, price, "
                   "tactics, hard_negative). Default: the corpus's frozen test split.")
@model_option
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
    from classifier.artifact import DEFAULT_MODEL
    from classifier.corpus import load_corpus, read_jsonl, split
    from classifier.evaluate import BOILERPLATE, open_world, predict_all
    from classifier.evaluate import evaluate as score
    from classifier.plots import save_report_png
    from classifier.predict import Classifier

    from cli.summary import print_evaluation, print_open_world

    rows = read_jsonl(Path(in_path)) if in_path else split(load_corpus())[1]
    model = Classifier.load(model_path or DEFAULT_MODEL)
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
        raise SweepError(f"{path}: no usable {what} rows")
    return rows, bad


def _read_background(path: str) -> list[dict]:
    rows, bad = _read_jsonl_lenient(Path(path), "background")
    harmful = [r.get("id") or n for n, r in enumerate(rows, 1) if r.get("label") not in (None, "benign")]
    if harmful:
        raise SweepError(f"{path}: --background takes benign-only text; {len(harmful)} row(s) are "
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


@terms.command("propose")
@existing_db_option
@click.option("--min-count", default=3, show_default=True, help="Confirmed listings a term must appear in.")
@click.option("--limit", default=30, show_default=True, help="At most this many proposals.")
def terms_propose(db_path, min_count, limit):
    """Propose terms from reviewed listings for a reviewer to approve.

    Example:

        sweep terms propose --db sweep.db --min-count 3
    """
    from classifier.terms import propose

    proposed = propose(open_db(db_path), min_count, limit)
    for p in proposed:
        click.echo(f"{p['term']}\tlog-odds {p['score']:+.2f}\tconfirmed {p['confirmed']}\tother {p['other']}")
    click.echo(f"{len(proposed)} term(s) proposed; approve with `sweep terms approve TERM... --by NAME`", err=True)


def _decide(db_path, words, by, status, terms_file=None):
    from classifier.terms import decide
    from classifier.tokenize import APPROVED_TERMS

    try:
        return decide(open_db(db_path), list(words), status, by, Path(terms_file) if terms_file else APPROVED_TERMS)
    except ValueError as exc:       # a term that was never proposed, or already decided
        raise SweepError(str(exc)) from None


@terms.command("approve")
@click.argument("words", nargs=-1, required=True)
@click.option("--by", required=True, help="Reviewer approving the terms (recorded).")
@existing_db_option
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
@existing_db_option
def terms_reject(words, by, db_path):
    """Reject proposed terms so they are not proposed again.

    Example:

        sweep terms reject 包邮 --by alice
    """
    _decide(db_path, words, by, "rejected")
    click.echo(f"{len(words)} term(s) rejected")


@terms.command("list")
@click.option("--status", type=click.Choice(["proposed", "approved", "rejected"]), help="Only this status.")
@existing_db_option
def terms_list(status, db_path):
    """List terms with their status and dictionary version.

    Example:

        sweep terms list --status approved
    """
    from classifier.terms import list_terms

    for r in list_terms(open_db(db_path), status):
        click.echo(f"{r['term']}\t{r['status']}\tv{r['version'] or '-'}\t{r['score']:+.2f}\t{r['decided_by'] or ''}")


COMMANDS = (classify, train, evaluate, terms)
