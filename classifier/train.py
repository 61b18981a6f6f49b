"""Train at segment level, choose the operating threshold for real prevalence, score the frozen split.

Multiple-instance training (a listing is harmful when *some* segment offers a tool):
- negatives: every segment of every benign listing;
- positives: per harmful listing, the whole listing when it is short, and the segment a first-pass
  model (trained on benign segments against harmful listings' heads) scores highest — for a long
  listing that is the offer, not the boilerplate around it. Other segments of harmful listings
  are left out: they may be shop terms.

Listing context: on whole listings (one row per listing, all units summed) a report-register model
(benign hard negatives against everything else), its views (legitimate documentation, writing about
the tools, offer against hard negatives: estimator.VIEWS) and a category model, and a logistic
stacker over the strongest segment, the registers and their interactions, fitted on out-of-fold
scores of the training listings plus one padded copy of each harmful one (ordinary training text
around the offer), so the context overrules a lone sentence of a report but not an offer inside
boilerplate.

The threshold is the lowest listing score (stacked, out-of-fold) at which all three hold:
- precision >= ``precision`` on the corpus's own mix;
- precision >= ``prevalence_precision`` at ``prevalence`` — TPR·π / (TPR·π + FPR·(1−π)) — because a
  crawl sees far fewer than half harmful. FPR is a smooth tail estimate (threshold.py) over the
  corpus's *real* ordinary text: the public corpora rows (those with a ``source``), not the
  hand-written ordinary rows, many of which were written as close pairs of offers (out of fold
  they are flagged 10–26 times as often as held-out real streams; they stay in the corpus-mix
  rule). A corpus without public rows falls back to its plain ordinary rows;
- at most ``hard_negative_fpr`` of the hard negatives (news, victims, security work, legitimate
  hardware) flagged — half the issue's 2 % limit, since sets written apart run higher than out of
  fold (the frozen split ~1.5x).
Thresholds stay within [0.05, 0.95]; when the targets cannot be met below 0.95 the card says so.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from . import HARMFUL, artifact
from .corpus import CORPUS_DIR, corpus_hash, load_corpus, split
from .estimator import VIEWS, ListingContext
from .evaluate import evaluate, prevalence_table, wilson
from .model import build_pipeline
from .predict import MIN_EVIDENCE, SHORT_PRIOR, Classifier, decide, shrink, strongest
from .segment import batch
from .threshold import (OrdinaryTail, choose_threshold, flag_rate, hard_negative_threshold, prevalence_threshold,
                        rates)
from .tokenize import dictionary_version

PRECISION_TARGET = 0.975        # out-of-fold precision on the corpus mix
PREVALENCE = 0.01               # 1 harmful listing in 100 ...
PREVALENCE_PRECISION = 0.9      # ... and 9 flags in 10 right, FPR measured on real ordinary text
HARD_NEGATIVE_FPR = 0.01        # texts about the tools flagged, out of fold (the limit: 2 %)
SECOND_INSTANCE = 0.5           # first-pass score from which more segments of a harmful listing are positives


def is_plain_ordinary(row: dict) -> bool:
    """Ordinary benign text as a crawl meets it: no hard negative, no evasion tactics. The corpus's
    deliberately disguised ordinary rows ("收老相机 懂的来 QQ …", written so that spelling alone is no
    signal) stay in training and in the corpus-mix precision, not in the stream's FPR estimate."""
    return row["label"] == "benign" and not row.get("hard_negative") and not row.get("tactics")


def is_real_ordinary(row: dict) -> bool:
    """Plain ordinary text from a public corpus (its ``source`` names the package and file): text as
    a crawl meets it, written by nobody who was looking at the offers."""
    return is_plain_ordinary(row) and bool(row.get("source"))


def per_label_thresholds(proba: np.ndarray, classes: list[str], y: list[str], precision: float) -> dict:
    y = np.asarray(y)
    return {label: round(choose_threshold(proba[:, classes.index(label)], y == label, precision), 4)
            for label in HARMFUL}


def listing_weights(groups: np.ndarray) -> np.ndarray:
    """1/sqrt(rows of the listing) per row: a news article's twenty sentences about 呼死你 must not
    outvote the one offer sentence a harmful listing contributes (they made 呼死你 itself a benign
    word), yet a long ordinary page still teaches more than a one-liner."""
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return 1.0 / np.sqrt(counts[inverse])


def _fit(model: Pipeline, X, y, groups, folds: int) -> Pipeline:
    """Fit weights + classifier; calibration folds keep a listing's overlapping segments together."""
    model.set_params(clf__cv=list(GroupKFold(folds).split(X, y, groups)))
    model.fit(X, y, clf__sample_weight=listing_weights(groups))
    model.set_params(clf__cv=folds)          # the artifact stores the number, not the index arrays
    return model


def select_instances(b, y_rows: np.ndarray, first_pass: Pipeline, classes: list[str]) -> np.ndarray:
    """Training rows: all segments of benign listings; for harmful ones the whole (short) listing, the
    segment the first-pass model finds most harmful, and any other it scores >= SECOND_INSTANCE (an
    offer stated twice, or read with each neighbour)."""
    keep = y_rows == "benign"
    keep |= (y_rows != "benign") & b.whole
    harmful_rows = np.nonzero(y_rows != "benign")[0]
    if len(harmful_rows):
        p = first_pass.predict_proba(b.X[harmful_rows])
        p = shrink(p, b.evidence[harmful_rows], classes.index("benign"))
        keep[harmful_rows[strongest(p, _dense(b.owner[harmful_rows]), classes.index("benign"))]] = True
        keep[harmful_rows[p[:, classes.index("benign")] <= 1.0 - SECOND_INSTANCE]] = True
    return keep


def padded_copies(train_rows: list[dict], rng, lengths=(100, 1000)) -> tuple[list[dict], np.ndarray]:
    """Each harmful training listing once more, with ``lengths`` (low, high) characters of plain ordinary
    training text (shop pages, posts) before, after or around its description.

    The listing context learns from these that an offer inside ordinary text is still an offer;
    without them it learned "long → benign" from the corpus's few long harmful pages (diluted
    recall at 250 characters fell to 0.59). Pads come from the training split only, never from
    ``classifier/eval/``."""
    pool = [r.get("description") or "" for r in train_rows if is_plain_ordinary(r) and r.get("description")]
    out, of = [], []
    for i, row in enumerate(train_rows):
        if row["label"] == "benign" or not pool:
            continue
        length = int(rng.integers(*lengths))
        pad = ""
        while len(pad) < length:
            pad += pool[int(rng.integers(len(pool)))] + "\n"
        pad = pad[:length]
        desc = row.get("description") or ""
        where = rng.integers(3)
        cut = length // 2
        desc = (pad + "\n" + desc if where == 0 else desc + "\n" + pad if where == 1
                else pad[:cut] + "\n" + desc + "\n" + pad[cut:])
        out.append({**row, "id": f"{row.get('id')}~padded", "description": desc})
        of.append(i)
    return out, np.asarray(of, dtype=int)


def _dense(owner: np.ndarray) -> np.ndarray:
    return np.unique(owner, return_inverse=True)[1]


def _heads(b, y_rows: np.ndarray) -> np.ndarray:
    """Per harmful listing its head (title + leading description: the whole listing when short)."""
    head = np.zeros(len(y_rows), dtype=bool)
    seen = set()
    for row, (owner, seg) in enumerate(zip(b.owner, b.segments)):
        if y_rows[row] != "benign" and owner not in seen and (b.whole[row] or (0 in seg and len(seg) > 1)):
            head[row] = True
            seen.add(owner)
    return head


def train(corpus_dir: Path | str = CORPUS_DIR, out: Path | str = artifact.DEFAULT_MODEL,
          extra_rows: list[dict] = (), precision: float = PRECISION_TARGET, prevalence: float = PREVALENCE,
          prevalence_precision: float = PREVALENCE_PRECISION, hard_negative_fpr: float = HARD_NEGATIVE_FPR,
          folds: int = 5, seed: int = 0, log=print) -> dict:
    rows = load_corpus(corpus_dir)
    train_rows, test_rows = split(rows)
    train_rows += list(extra_rows)        # reviewer decisions only ever train; the frozen split stays the corpus's
    y = np.asarray([r["label"] for r in train_rows])
    log(f"corpus: {len(rows)} rows ({len(train_rows)} train, {len(test_rows)} frozen test)")
    n = len(train_rows)
    padded, padded_of = padded_copies(train_rows, np.random.default_rng(seed))
    source = np.r_[np.arange(n), padded_of].astype(int)     # the training listing each row is (a copy of)
    y_all = y[source]

    pipeline = build_pipeline(calibration_folds=folds)
    pipeline[:2].fit(train_rows[:1])       # normalising and hashing learn nothing
    b = batch(train_rows + padded, pipeline.named_steps["counts"])
    y_rows = y_all[b.owner]
    original = b.owner < n                 # padded copies train the listing context only
    classes = sorted(set(y))
    benign = classes.index("benign")
    log(f"segments: {b.X.shape[0]} from {len(train_rows)} listings and {len(padded)} padded copies")

    def fit(mask):
        return _fit(clone(Pipeline(pipeline.steps[2:])), b.X[mask], y_rows[mask], b.owner[mask], folds)

    log("first pass: benign segments against harmful listings' heads")
    first = fit(((y_rows == "benign") | _heads(b, y_rows)) & original)
    keep = select_instances(b, y_rows, first, classes) & original
    log(f"training rows: {int(keep.sum())} ({int((keep & (y_rows != 'benign')).sum())} harmful instances)")

    log(f"cross-validating ({folds} folds, by listing) to choose the operating threshold")
    n_cats, n_all = len(classes) - 1, len(y_all)
    seg_oof = np.zeros((n_all, len(classes)))     # the strongest segment's probabilities
    seg_d, doc_d = np.zeros((n_all, n_cats)), np.zeros((n_all, n_cats))
    context_p = np.zeros((n_all, 1 + len(VIEWS)))   # the report register, then each view
    hard_negative = np.asarray([(r["label"] == "benign" and r.get("hard_negative")) or "" for r in train_rows + padded])
    for fold_train, fold_test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(train_rows, y):
        in_train = np.isin(source[b.owner], fold_train)
        model = fit(keep & in_train)
        test_rows_mask = np.nonzero(~in_train)[0]
        p = shrink(model.predict_proba(b.X[test_rows_mask]), b.evidence[test_rows_mask], benign)
        best = strongest(p, _dense(b.owner[test_rows_mask]), benign)
        fold_test, fold_train = np.nonzero(np.isin(source, fold_test))[0], np.nonzero(np.isin(source, fold_train))[0]
        seg_oof[fold_test] = p[best]
        weights = model[0]
        seg_d[fold_test] = model[-1].decision(weights.transform(b.X[test_rows_mask[best]]))
        views = ListingContext(cv=folds).fit_views(weights.transform(b.doc[fold_train]), y_all[fold_train],
                                                   hard_negative[fold_train], fold_train < n)
        X_doc = weights.transform(b.doc[fold_test])
        context_p[fold_test] = views.context(X_doc)
        doc_d[fold_test] = views.decision(X_doc)

    log("fitting the final model on the training split, then the listing context on out-of-fold scores")
    final = fit(keep)
    seg_p = 1.0 - seg_oof[:, benign]
    listing = ListingContext(cv=folds).fit_views(final[0].transform(b.doc), y_all, hard_negative,
                                                 np.arange(n_all) < n)
    listing.fit_stack(seg_p, context_p, y_all != "benign")
    final[-1].listing_ = listing
    oof = final[-1].assemble(listing.harmful(seg_p, context_p), listing.category(seg_d, doc_d))
    coef = listing.stack_.coef_.ravel()
    log(f"stacker: {dict(zip(listing.feature_names(len(coef)), np.round(coef, 3).tolist()))}, "
        f"intercept {listing.stack_.intercept_[0]:.3f}")
    scores, oof = 1.0 - oof[:n, benign], oof[:n]         # the threshold is chosen on the corpus's own listings
    harmful = y != "benign"
    plain = np.asarray([is_plain_ordinary(r) for r in train_rows])
    real = np.asarray([is_real_ordinary(r) for r in train_rows])
    has_real = bool(real.any())
    ordinary = real if has_real else plain              # the stream FPR is estimated on this
    hard = hard_negative[:n] != ""                      # the benign hard negatives of the training listings
    t_mix = choose_threshold(scores, harmful, precision)
    t_prev = prevalence_threshold(scores, harmful, ordinary, prevalence, prevalence_precision)
    t_hard = hard_negative_threshold(scores, hard, hard_negative_fpr)
    threshold = max(t_mix, t_prev, t_hard)
    tpr, fpr = rates(scores, harmful, ordinary, threshold)
    fpr_tail = OrdinaryTail(scores[ordinary])(threshold)
    log(f"threshold {threshold:.4f} (corpus mix {t_mix:.4f}, prevalence {prevalence:g} {t_prev:.4f}, "
        f"hard negatives {hard_negative_fpr:g} {t_hard:.4f}); out-of-fold TPR {tpr:.4f}, "
        f"{'real' if has_real else 'plain'} ordinary FPR {fpr:.4f} counted, {fpr_tail:.4f} tail estimate")
    cv_pred = [dict(zip(("label", "score", "flagged"), decide(p, classes, threshold))) for p in oof]
    cv_metrics = evaluate(train_rows, cv_pred)
    fp = int(round(fpr * ordinary.sum()))

    def point(t: float) -> dict:
        """Flag rates at ``t``: harmful, the stream FPR's ordinary rows, the hand-written ordinary rows
        (many written as close pairs) and the hard negatives, as counted."""
        return {"t": t, "tpr": round(flag_rate(scores, harmful, t), 5),
                "fpr_ordinary": round(flag_rate(scores, ordinary, t), 5),
                "fpr_plain_ordinary": round(flag_rate(scores, plain, t), 5),
                "fpr_hard_negative": round(flag_rate(scores, hard, t), 5)}

    here = point(threshold)
    cv_metrics["at_prevalence"] = {"tpr": round(tpr, 4), "fpr_ordinary": round(fpr, 5),
                                   "fpr_ordinary_tail": round(fpr_tail, 5), "n_ordinary": int(ordinary.sum()),
                                   "ordinary_source": "public corpora" if has_real else "plain ordinary rows",
                                   "fpr_ci95": [round(v, 5) for v in wilson(fp, int(ordinary.sum()))],
                                   "precision": prevalence_table(tpr, fpr_tail),
                                   "fpr_plain_ordinary": here["fpr_plain_ordinary"],
                                   "fpr_hard_negative": here["fpr_hard_negative"],
                                   # the trade-off the threshold was picked from, and what to write data against
                                   "curve": [point(t) for t in (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)],
                                   "ordinary_flagged": [{"id": train_rows[i]["id"], "score": round(float(scores[i]), 4)}
                                                        for i in np.argsort(-scores) if plain[i]
                                                        and scores[i] >= threshold][:20]}

    pipeline = Pipeline([*pipeline.steps[:2], *final.steps])
    pipeline[-1].sparsify()
    card = {
        "model_version": f"{dt.date.today():%Y%m%d}-{corpus_hash(rows + list(extra_rows))[:8]}",
        # Wall time on purpose (not common/clock.py): when this file was built, whatever --now a command ran on.
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "corpus_hash": corpus_hash(rows + list(extra_rows)),
        "dictionary": dictionary_version(),
        "n_train": len(train_rows), "n_test": len(test_rows), "n_extra": len(extra_rows),
        "n_segments": int(original.sum()), "n_padded_copies": len(padded), "n_training_instances": int(keep.sum()),
        "thresholds": {"flag": round(threshold, 4), "precision_target": precision, "prevalence": prevalence,
                       "prevalence_precision": prevalence_precision, "corpus_mix": round(t_mix, 4),
                       "at_prevalence": round(t_prev, 4), "hard_negative_fpr": hard_negative_fpr,
                       "at_hard_negative": round(t_hard, 4), "min_evidence": MIN_EVIDENCE,
                       "short_prior": SHORT_PRIOR,
                       "per_label": per_label_thresholds(oof, classes, list(y), precision)},
        "metrics": {"cross_validation": cv_metrics},
        # what the listing's score is made of: its views, and the stacker's weights on them
        "listing_context": {"views": list(listing.views_),
                            "stacker": dict(zip(listing.feature_names(len(coef)), np.round(coef, 4).tolist())),
                            "intercept": round(float(listing.stack_.intercept_[0]), 4)},
    }
    if test_rows:
        model = Classifier(pipeline, card)
        card["metrics"]["frozen_test"] = evaluate(test_rows, model.predict(test_rows, explain_top=0))
    return artifact.save(pipeline, card, Path(out))
