"""Load the model once and label listings, with explanations mapped to spans of the original text."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from . import HARMFUL
from . import artifact
from .explain import explain


def decide(proba: np.ndarray, classes: list[str], threshold: float) -> tuple[str, float, bool]:
    """label, score (P not benign), flagged — the one decision rule training and prediction share."""
    benign = classes.index("benign")
    score = float(1.0 - proba[benign])
    flagged = score >= threshold
    if flagged:
        best = max((i for i, c in enumerate(classes) if c in HARMFUL), key=lambda i: proba[i])
        return classes[best], score, True
    return "benign", score, False


class Classifier:
    def __init__(self, pipeline, card: dict):
        self.pipeline = pipeline
        self.card = card
        self.classes = [str(c) for c in pipeline.classes_]
        self.threshold = float(card["thresholds"]["flag"])
        self.version = card["model_version"]

    @classmethod
    def load(cls, path: str | Path = artifact.DEFAULT_MODEL) -> "Classifier":
        pipeline, card = artifact.load(Path(path))
        from .tokenize import tokenizer

        tokenizer()      # pay jieba's start-up once, at load
        return cls(pipeline, card)

    def predict(self, records: list[dict], explain_top: int = 6, explain_benign: bool = True) -> list[dict]:
        """One result per record: label, score, flagged, scores, explanation, model_version.

        ``explain_benign=False`` explains only flagged listings (what reviewers see); the crawl uses it.
        """
        if not records:
            return []
        prepare, union, clf = (step for _, step in self.pipeline.steps)
        docs = prepare.transform(records)
        X = union.transform(docs)
        probas = clf.predict_proba(X)
        out = []
        for i, record in enumerate(records):
            label, score, flagged = decide(probas[i], self.classes, self.threshold)
            result = {"label": label, "score": round(score, 4), "flagged": flagged,
                      "scores": {c: round(float(p), 4) for c, p in zip(self.classes, probas[i])},
                      "model_version": self.version}
            if explain_top and (flagged or explain_benign):
                result["explanation"] = explain(self, record, docs[i], X[i], label, explain_top)
            else:
                result["explanation"] = []
            out.append(result)
        return out


@functools.lru_cache(maxsize=4)
def shared(path: str = str(artifact.DEFAULT_MODEL)) -> Classifier:
    """One Classifier per process and path (pipelines of several spiders share it)."""
    return Classifier.load(path)
