"""Jargon discovery: terms that weigh heavily in confirmed listings but are not in the dictionary.

Sellers coin new words faster than anyone edits a keyword list. We compare how often each
candidate (a jieba word, or a 2–4 character sequence jieba splits apart) appears in listings
reviewers confirmed against listings they rejected or the model cleared, rank by smoothed
log-odds, and propose the best for a reviewer to approve. Approved terms are versioned
(`term_versions`) and exported to data/approved_terms.txt, which the tokenizer loads at the
next training; the model card records the dictionary version.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

from common.clock import SYSTEM

from .normalize import normalize
from .tokenize import APPROVED_TERMS, USER_DICT, words

_CJK_RUN = re.compile(r"[\u3400-\u9fff]{2,}")
CONFIRMED_STATES = ("confirmed", "reported", "still_live", "escalated", "removed")


def _dictionary() -> set[str]:
    known = set()
    for path in (USER_DICT, APPROVED_TERMS):
        if path.exists():
            known |= {ln.split()[0] for ln in path.read_text(encoding="utf-8").splitlines()
                      if ln.strip() and not ln.startswith("#")}
    return known


def candidates(text: str) -> set[str]:
    """jieba words and 2–4 character sequences, within each whitespace-separated chunk: normalising
    the whole text would glue neighbouring words into n-grams nobody wrote ("卡机 池子" -> 卡机池子)."""
    found = set()
    for chunk in text.split():
        norm = normalize(chunk)
        found.update(w for w in words(norm) if len(w) >= 2)
        for run in _CJK_RUN.findall(norm):
            for n in (2, 3, 4):
                found.update(run[i:i + n] for i in range(len(run) - n + 1))
    return found


def score_terms(confirmed: list[str], others: list[str], min_count: int = 3) -> list[tuple[str, float, int, int]]:
    """(term, log-odds, confirmed docs, other docs), best first; known dictionary terms excluded."""
    dc, do = Counter(), Counter()
    for text in confirmed:
        dc.update(candidates(text))
    for text in others:
        do.update(candidates(text))
    known = _dictionary()
    n_c, n_o = max(1, len(confirmed)), max(1, len(others))
    scored = []
    for term, c in dc.items():
        if c < min_count or term in known or term.isdigit():
            continue
        o = do.get(term, 0)
        log_odds = math.log((c + 0.5) / (n_c - c + 0.5)) - math.log((o + 0.5) / (n_o - o + 0.5))
        scored.append((term, round(log_odds, 3), c, o))
    scored.sort(key=lambda t: (-t[1], -len(t[0])))
    # A shorter term whose every confirmed use sits inside a longer proposed one adds nothing.
    kept: list[tuple[str, float, int, int]] = []
    for t in scored:
        if not any(t[0] in k[0] and t[2] == k[2] for k in kept):
            kept.append(t)
    return kept


def _texts(db, states: tuple[str, ...]) -> list[str]:
    marks = ",".join("?" * len(states))
    return [f"{r['title']}\n{r['description']}" for r in
            db.query(f"SELECT title, description FROM listings WHERE state IN ({marks})", list(states))]


def propose(db, min_count: int = 3, limit: int = 30) -> list[dict]:
    """Score terms from the database's reviewed listings and record the top ones as proposed."""
    confirmed = _texts(db, CONFIRMED_STATES)
    others = _texts(db, ("rejected", "new"))
    now = SYSTEM.now().isoformat(timespec="seconds")
    out = []
    with db.atomic():
        for term, score, c, o in score_terms(confirmed, others, min_count)[:limit]:
            existing = db.execute("SELECT status FROM terms WHERE term = ?", [term]).fetchone()
            if existing and existing[0] != "proposed":
                continue                       # a reviewer already decided
            db["terms"].upsert({"term": term, "score": score, "confirmed_count": c, "other_count": o,
                                "status": "proposed", "proposed_at": now}, pk="term")
            out.append({"term": term, "score": score, "confirmed": c, "other": o})
    return out


def decide(db, terms: list[str], status: str, by: str, export_to: Path = APPROVED_TERMS) -> int | None:
    """Approve or reject proposed terms; an approval makes a new dictionary version. Returns it."""
    if status not in ("approved", "rejected"):
        raise ValueError(f"status must be approved or rejected, not {status!r}")
    now = SYSTEM.now().isoformat(timespec="seconds")
    with db.atomic():
        unknown = [t for t in terms if not db.execute("SELECT 1 FROM terms WHERE term = ?", [t]).fetchone()]
        if unknown:
            raise ValueError(f"not proposed: {', '.join(unknown)} (run `sweep terms propose` first)")
        version = None
        if status == "approved":
            version = (db.execute("SELECT max(version) FROM term_versions").fetchone()[0] or 0) + 1
        for t in terms:
            db.execute("UPDATE terms SET status = ?, decided_by = ?, decided_at = ?, version = ? WHERE term = ?",
                       [status, by, now, version, t])
        if version is None:
            return None
        approved = [r[0] for r in db.execute("SELECT term FROM terms WHERE status = 'approved' ORDER BY term")]
        db["term_versions"].insert({"version": version, "created_at": now, "created_by": by,
                                    "terms": json.dumps(approved, ensure_ascii=False)})
    export(approved, version, export_to)
    return version


def export(approved: list[str], version: int, path: Path = APPROVED_TERMS) -> None:
    """jieba user-dictionary format, with the version on the first line (read into the model card)."""
    path = Path(path)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"# version {version}\n" + "".join(f"{t} 20 n\n" for t in approved), encoding="utf-8")
    tmp.replace(path)


def list_terms(db, status: str | None = None) -> list[dict]:
    """Terms with their status, dictionary version and score (`sweep terms list`)."""
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    return list(db.query(f"SELECT * FROM terms {where} ORDER BY status, score DESC", params))
