"""Quality report for labelled predictions: returns numbers, prints nothing."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

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


# ---------------------------------------------------------------- the open world: prevalence, background, dilution
BOILERPLATE = Path(__file__).parent / "eval" / "boilerplate.jsonl"   # evaluation only: never in training
PREVALENCES = (0.01, 0.001)
DILUTE_LENGTHS = (0, 100, 250, 500, 1000)
DILUTE_POSITIONS = ("before", "after", "both")


def boilerplate_bank(path: Path = BOILERPLATE) -> list[dict]:
    """The bundled boilerplate bank ({"text", "kind"} per line) that dilute() pads with. `sweep evaluate
    --boilerplate` reads a user's bank leniently instead (bad lines skipped and counted)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95 % by default); sane at k = 0, unlike the normal one."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def precision_at_prevalence(tpr: float, fpr: float, prevalence: float) -> float:
    """Precision of the flags on a stream where ``prevalence`` of the listings are harmful."""
    flagged = tpr * prevalence + fpr * (1 - prevalence)
    return tpr * prevalence / flagged if flagged else 1.0


def prevalence_table(tpr: float, fpr: float, prevalences=PREVALENCES) -> dict:
    return {f"{p:g}": round(precision_at_prevalence(tpr, fpr, p), 4) for p in prevalences}


def background(rows: list[dict], predicted: list[dict], examples: int = 20) -> dict:
    """False-positive rate on a benign-only stream, with its Wilson 95 % interval and the flagged rows."""
    flagged = [(p["score"], r, p) for r, p in zip(rows, predicted) if p["flagged"]]
    flagged.sort(key=lambda t: -t[0])
    lo, hi = wilson(len(flagged), len(rows))
    return {"n": len(rows), "flagged": len(flagged), "fpr": round(len(flagged) / max(1, len(rows)), 5),
            "ci95": [round(lo, 5), round(hi, 5)],
            "examples": [{"id": r.get("id"), "label": p["label"], "score": p["score"],
                          "text": f"{r.get('title') or ''} | {r.get('description') or ''}"[:160]}
                         for _, r, p in flagged[:examples]]}


def _padding(bank: list[dict], kind: str, length: int, rng) -> str:
    """Boilerplate of at least ``length`` characters, snippets of the listing's kind first."""
    same = [b["text"] for b in bank if b.get("kind") == kind] or [b["text"] for b in bank]
    out: list[str] = []
    pool: list[str] = []
    while sum(map(len, out)) < length:
        if not pool:
            pool = rng.sample(same, len(same))
        out.append(pool.pop())
    return "\n".join(out)


def dilute(rows: list[dict], bank: list[dict], lengths=DILUTE_LENGTHS, positions=DILUTE_POSITIONS,
           seed: int = 0) -> list[tuple[int, str, dict]]:
    """Harmful ``rows`` re-written with boilerplate added around the description: (length, position, row).

    Only harmful rows: dilution measures whether the offer survives, ``background`` measures FPR.
    """
    import random

    rng = random.Random(seed)
    out = []
    for row in rows:
        if row["label"] == "benign":
            continue
        for length in lengths:
            for position in (positions if length else ("none",)):
                if position == "both":
                    before, after = (_padding(bank, row.get("kind"), length // 2, rng),
                                     _padding(bank, row.get("kind"), length - length // 2, rng))
                elif position == "before":
                    before, after = _padding(bank, row.get("kind"), length, rng), ""
                else:
                    before, after = "", _padding(bank, row.get("kind"), length, rng) if length else ""
                description = "\n".join(x for x in (before, row.get("description") or "", after) if x)
                out.append((length, position, {**row, "description": description}))
    return out


def dilution_report(diluted: list[tuple[int, str, dict]], predicted: list[dict]) -> dict:
    """Recall per added length (all positions together) and per length x position."""
    hits: dict = defaultdict(lambda: [0, 0])
    for (length, position, _), p in zip(diluted, predicted):
        for key in (str(length), f"{length}/{position}") if length else (str(length),):
            hits[key][0] += bool(p["flagged"])
            hits[key][1] += 1
    return {k: {"n": n, "recall": round(h / n, 4)} for k, (h, n) in
            sorted(hits.items(), key=lambda kv: (int(kv[0].split("/")[0]), kv[0]))}


def predict_all(model, rows: list[dict], size: int = 256) -> list[dict]:
    out: list[dict] = []
    for i in range(0, len(rows), size):
        out += model.predict(rows[i:i + size], explain_top=0)
    return out


def open_world(model, rows: list[dict], predicted: list[dict], background_rows: list[dict] | None = None,
               bank: list[dict] | None = None, lengths=DILUTE_LENGTHS) -> dict:
    """Background FPR, diluted recall and precision at 1 % / 0.1 % prevalence for ``model``.

    FPR comes from ``background_rows`` when given, else from the ordinary (not hard-negative)
    benign rows of the labelled set; TPR is the labelled set's binary recall.
    """
    out: dict = {}
    harmful = [p for r, p in zip(rows, predicted) if r["label"] != "benign"]
    tpr = sum(bool(p["flagged"]) for p in harmful) / len(harmful) if harmful else 0.0
    if background_rows is not None:
        out["background"] = background(background_rows, predict_all(model, background_rows))
        fpr, source = out["background"]["fpr"], "background"
    else:
        pairs = [(r, p) for r, p in zip(rows, predicted) if r["label"] == "benign" and not r.get("hard_negative")]
        ordinary = background([r for r, _ in pairs], [p for _, p in pairs])
        out["ordinary"] = ordinary
        fpr, source = ordinary["fpr"], "ordinary benign rows of the labelled set"
    if bank:
        diluted = dilute(rows, bank, lengths)
        out["dilution"] = dilution_report(diluted, predict_all(model, [d[2] for d in diluted]))
    out["at_prevalence"] = {"tpr": round(tpr, 4), "fpr": fpr, "fpr_source": source,
                            "precision": prevalence_table(tpr, fpr)}
    return out
