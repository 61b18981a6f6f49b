"""Quality report for labelled predictions: returns numbers, prints nothing."""
from __future__ import annotations

from collections import Counter, defaultdict

from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from . import HARMFUL, LABELS


def evaluate(truth: list[dict], predicted: list[dict]) -> dict:
    """``truth`` rows carry label/tactics/hard_negative; ``predicted`` rows carry label/flagged/score."""
    y_true = [t["label"] for t in truth]
    y_pred = [p["label"] for p in predicted]
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=list(LABELS), zero_division=0)
    per_label = {label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                         "f1": round(float(f[i]), 4), "support": int(support[i])} for i, label in enumerate(LABELS)}
    b_true = [t != "benign" for t in y_true]
    b_pred = [bool(x["flagged"]) for x in predicted]
    bp, br, bf, _ = precision_recall_fscore_support(b_true, b_pred, average="binary", zero_division=0)
    harmful_idx = [i for i, t in enumerate(y_true) if t in HARMFUL]
    category_acc = (sum(y_pred[i] == y_true[i] for i in harmful_idx) / len(harmful_idx)) if harmful_idx else None
    fp_by_type, n_by_type = Counter(), Counter()
    hits_by_tactic, n_by_tactic = Counter(), Counter()
    for t, x in zip(truth, predicted):
        if t["label"] == "benign":
            hn = t.get("hard_negative") or "ordinary"
            n_by_type[hn] += 1
            fp_by_type[hn] += bool(x["flagged"])
        else:
            for tactic in t.get("tactics") or ["plain"]:
                n_by_tactic[tactic] += 1
                hits_by_tactic[tactic] += bool(x["flagged"])
    hard = [k for k in n_by_type if k != "ordinary"]
    hard_fp = sum(fp_by_type[k] for k in hard) / max(1, sum(n_by_type[k] for k in hard))
    errors = defaultdict(list)
    for t, x in zip(truth, predicted):
        if t["label"] != x["label"]:
            errors[f"{t['label']}->{x['label']}"].append(t.get("id"))
    return {
        "n": len(truth),
        "binary": {"precision": round(float(bp), 4), "recall": round(float(br), 4), "f1": round(float(bf), 4)},
        "category_accuracy_on_harmful": None if category_acc is None else round(category_acc, 4),
        "hard_negative_fp_rate": round(hard_fp, 4),
        "per_label": per_label,
        "fp_rate_by_hard_negative": {k: {"n": n_by_type[k], "fp": fp_by_type[k],
                                         "rate": round(fp_by_type[k] / n_by_type[k], 4)} for k in sorted(n_by_type)},
        "recall_by_tactic": {k: {"n": n_by_tactic[k], "hits": hits_by_tactic[k],
                                 "recall": round(hits_by_tactic[k] / n_by_tactic[k], 4)} for k in sorted(n_by_tactic)},
        "labels": list(LABELS),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=list(LABELS)).tolist(),
        "errors": {k: v[:20] for k, v in sorted(errors.items())},
    }
