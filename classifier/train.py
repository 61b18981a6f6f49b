"""Train, cross-validate, choose the operating threshold, score the frozen split, write the artifact."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from . import HARMFUL, artifact
from .corpus import CORPUS_DIR, corpus_hash, load_corpus, split
from .evaluate import evaluate
from .features import prepare
from .model import build_pipeline
from .predict import Classifier, decide
from .tokenize import dictionary_version

# Operating point: flag where out-of-fold precision is at least this (chosen by cross-validation on
# the training split; the frozen test split is only scored, never tuned on).
PRECISION_TARGET = 0.975


def choose_threshold(scores: np.ndarray, harmful: np.ndarray, precision: float) -> float:
    """The lowest score threshold whose flags keep ``precision`` on out-of-fold predictions."""
    order = np.argsort(-scores)
    s, h = scores[order], harmful[order]
    tp = np.cumsum(h)
    prec = tp / np.arange(1, len(s) + 1)
    ok = np.nonzero(prec >= precision)[0]
    if len(ok) == 0:
        return 0.5
    # Last position where the running precision still holds; ties broken towards stricter.
    return float(max(0.05, min(0.95, s[ok[-1]])))


def per_label_thresholds(proba: np.ndarray, classes: list[str], y: list[str], precision: float) -> dict:
    y = np.asarray(y)
    return {label: round(choose_threshold(proba[:, classes.index(label)], y == label, precision), 4)
            for label in HARMFUL}


def train(corpus_dir: Path | str = CORPUS_DIR, out: Path | str = artifact.DEFAULT_MODEL,
          extra_rows: list[dict] = (), precision: float = PRECISION_TARGET, folds: int = 5, log=print) -> dict:
    rows = load_corpus(corpus_dir)
    train_rows, test_rows = split(rows)
    train_rows += list(extra_rows)        # reviewer decisions only ever train; the frozen split stays the corpus's
    y = [r["label"] for r in train_rows]
    log(f"corpus: {len(rows)} rows ({len(train_rows)} train, {len(test_rows)} frozen test)")

    pipeline = build_pipeline()
    docs = prepare(train_rows)
    inner = Pipeline(pipeline.steps[1:])
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    log(f"cross-validating ({folds} folds) to choose the operating threshold")
    oof = cross_val_predict(inner, docs, y, cv=cv, method="predict_proba")
    classes = sorted(set(y))
    harmful = np.asarray([label != "benign" for label in y])
    threshold = choose_threshold(1.0 - oof[:, classes.index("benign")], harmful, precision)
    cv_pred = [dict(zip(("label", "score", "flagged"), decide(p, classes, threshold))) for p in oof]
    cv_metrics = evaluate(train_rows, cv_pred)

    log("fitting the final model on the training split")
    pipeline.fit(train_rows, y)
    for calibrated in pipeline[-1].calibrated_classifiers_:
        # Most hashed columns are unused: a sparse weight matrix is ~4x smaller. Kept as CSC so that
        # decision_function's X @ coef_.T is CSR @ CSR (a CSR coef_ was converted on every call).
        calibrated.estimator.sparsify()
        calibrated.estimator.coef_ = calibrated.estimator.coef_.tocsc()
    card = {
        "model_version": f"{dt.date.today():%Y%m%d}-{corpus_hash(rows + list(extra_rows))[:8]}",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "corpus_hash": corpus_hash(rows + list(extra_rows)),
        "dictionary": dictionary_version(),
        "n_train": len(train_rows), "n_test": len(test_rows), "n_extra": len(extra_rows),
        "thresholds": {"flag": round(threshold, 4), "precision_target": precision,
                       "per_label": per_label_thresholds(oof, classes, y, precision)},
        "metrics": {"cross_validation": cv_metrics},
    }
    if test_rows:
        model = Classifier(pipeline, card)
        card["metrics"]["frozen_test"] = evaluate(test_rows, model.predict(test_rows, explain_top=0))
    return artifact.save(pipeline, card, Path(out))
