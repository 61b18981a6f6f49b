"""Score the offer, not the page: a listing is cut into segments and the strongest one decides.

A listing is harmful when some part of it offers a tool; shop terms, spec sheets and forum
sign-offs around it are noise that a whole-page bag of words averages the offer away in.

- **Units**: the title, then the description cut at sentence ends and line breaks (。！？!?；;),
  short sentences packed together up to ``MIN_UNIT`` characters, long ones cut at clause marks
  (，、 and spaces) so no unit exceeds ``MAX_UNIT``. Each unit keeps its field and offsets, so an
  explanation points at the seller's own words.
- **Segments** (what the model scores): the title alone; the *head* — the title with as many
  leading description units as fit in ``MAX_SEGMENT`` characters (the whole listing when it is
  short); every window of two neighbouring description units, so an offer sentence is read
  with its neighbour; and the title joined to each description unit. A 2,000-character page is
  ~100 segments of <= 160 characters each.
- **Speed**: every unit is normalised, segmented by jieba and hashed once; a segment's counts are
  the sum of its units' counts (a sparse matrix product), then weighted (TF-IDF) and scored in
  one batch with the segments of every other listing.
- **Context**: each segment gets its own units' contact cues; the whole listing (all units summed,
  all cues) is one more row, ``doc``, which the listing model reads for register and category.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .features import STRUCTURAL_NAMES, context, hashed, prepare_text
from .normalize import MAX_CHARS

MIN_UNIT = 24        # sentences shorter than this are packed with their neighbours
MAX_UNIT = 80        # no unit is longer (a clause cut, or a hard cut in unpunctuated text)
MAX_SEGMENT = 160    # head and windows stay below this many characters
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
_CLAUSE = re.compile(r"[^，,、\s]+[，,、\s]*")


@dataclass(frozen=True)
class Unit:
    field: str          # "title" or "description"
    start: int          # offsets in the original field
    end: int
    text: str


def _pack(pieces, min_len: int, max_len: int):
    """Greedily join (start, end) pieces while the current run is short and the join fits."""
    out: list[list[int]] = []
    for a, b in pieces:
        if out and out[-1][1] - out[-1][0] < min_len and b - out[-1][0] <= max_len:
            out[-1][1] = b
        else:
            out.append([a, b])
    return out


def _cut(text: str, a: int, b: int):
    """Pieces of text[a:b] no longer than MAX_UNIT: clause marks first, then hard cuts."""
    if b - a <= MAX_UNIT:
        return [(a, b)]
    out = []
    for m in _CLAUSE.finditer(text, a, b):
        s, e = m.span()
        out += [(i, min(i + MAX_UNIT, e)) for i in range(s, e, MAX_UNIT)]
    return _pack(out, MAX_UNIT, MAX_UNIT)


def units(record: dict) -> list[Unit]:
    """The title (one unit, cut if very long) then the description's units, in order."""
    out, room = [], MAX_CHARS            # the same cut as normalize(): 20,000 characters per listing
    for field in ("title", "description"):
        text = record.get(field) or ""
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text[:MAX_CHARS * 4]).decode("utf-8", "replace")
        elif not isinstance(text, str):
            text = str(text)
        text = text[:room]
        room -= len(text)
        pieces = [p for m in _SENTENCE.finditer(text) for p in _cut(text, *m.span())]
        spans = _pack(pieces, MAX_UNIT if field == "title" else MIN_UNIT, MAX_UNIT)
        out += [Unit(field, a, b, text[a:b]) for a, b in spans if text[a:b].strip()]
    return out


def segments(listing_units: list[Unit]) -> list[tuple[int, ...]]:
    """Unit indices of each segment (title, head, neighbour windows), without duplicates."""
    n_title = sum(u.field == "title" for u in listing_units)
    desc = list(range(n_title, len(listing_units)))
    found: list[tuple[int, ...]] = []
    if n_title:
        found.append(tuple(range(n_title)))
    head, size = list(range(n_title)), sum(len(listing_units[i].text) for i in range(n_title))
    for i in desc:
        if head and size + len(listing_units[i].text) > MAX_SEGMENT:
            break
        head.append(i)
        size += len(listing_units[i].text)
    if head:
        found.append(tuple(head))
    found += [(i, i + 1) for i in desc[:-1]] or [(i,) for i in desc]
    if n_title:                        # the product name read with each sentence: the offer may be in either
        found += [(*range(n_title), i) for i in desc]
    seen: set = set()
    return [s for s in found if not (s in seen or seen.add(s))]


@dataclass
class Batch:
    """The segments of a batch of listings, ready for the model's weighting and classifier steps."""
    X: sparse.csr_matrix              # segment rows: summed unit counts + the listing's context columns
    owner: np.ndarray                 # listing index of each segment row
    segments: list[tuple[int, ...]]   # unit indices (into that listing's units) per segment row
    units: list[list[Unit]]           # per listing
    unit_docs: list[list[dict]]       # per listing, per unit: the prepared text (norm, words, pinyin)
    evidence: np.ndarray              # characters of normalised text per segment (for short-text shrinking)
    whole: np.ndarray                 # True where the segment is the entire listing
    doc: sparse.csr_matrix            # one row per listing: all its units' counts + all its contact cues
    doc_evidence: np.ndarray          # characters of normalised text per listing


def batch(records: list[dict], counts) -> Batch:
    """Every segment of ``records``; ``counts`` is the fitted Pipeline's "counts" FeatureUnion."""
    all_units, all_docs, cols, indptr, unit_rows = [], [], [], [0], []
    owner, segs, evidence, whole, doc_evidence = [], [], [], [], []
    # A unit text seen before in the batch (shop boilerplate, a seller's sign-off) is prepared and
    # hashed once: its row in U is shared. jieba's cut of each han block is shared the same way.
    row_of: dict[str, int] = {}
    flat: list[dict] = []
    chars: list[int] = []            # per distinct unit: normalised characters, summed per segment
    blocks: dict = {}
    for n, record in enumerate(records):
        us = units(record)
        rows = []
        for u in us:
            r = row_of.get(u.text)
            if r is None:
                r = row_of[u.text] = len(flat)
                flat.append(d := prepare_text(u.text, blocks))
                chars.append(len(d["norm"]) - d["norm"].count(" "))
            rows.append(r)
        all_units.append(us)
        all_docs.append([flat[r] for r in rows])
        found = segments(us) or [()]    # empty listing: one empty segment, so it still gets a score
        for seg in found:
            cols += [rows[i] for i in seg]
            indptr.append(len(cols))
            evidence.append(sum(chars[rows[i]] for i in seg))
            whole.append(len(seg) == len(us))
        owner += [n] * len(found)
        segs += found
        unit_rows += rows
        doc_evidence.append(sum(chars[r] for r in rows))
    channels = [t for name, t in counts.transformer_list if name != "struct"]
    struct = dict(counts.transformer_list)["struct"]
    width = sum(t.n_features for t in channels)
    # Per unit: hashed counts (U) and structure flags (C, the contact cues it carries). A segment's row is
    # its units' counts summed (S @ U), then its flags: its units' summed and capped at 1 (a segment
    # has a cue when one of its units has it; the same rows as structural() of the cues' union).
    U = sparse.hstack([hashed(t, flat) for t in channels], format="csr") if flat else sparse.csr_matrix((0, width))
    C = (struct.transform([context({}, d["cues"]) for d in flat]) if flat
         else sparse.csr_matrix((0, len(STRUCTURAL_NAMES))))
    S = sparse.csr_matrix((np.ones(len(cols)), cols, indptr), shape=(len(indptr) - 1, len(flat)))
    D = sparse.csr_matrix((np.ones(len(unit_rows)), unit_rows, np.cumsum([0] + [len(us) for us in all_units])),
                          shape=(len(records), len(flat)))
    # A text twice in a segment or listing is two entries of one column in S or D: the product sums them.
    X = sparse.hstack([S @ U, _capped(S @ C)], format="csr")
    doc = sparse.hstack([D @ U, _capped(D @ C)], format="csr")
    return Batch(X, np.asarray(owner), segs, all_units, all_docs, np.asarray(evidence), np.asarray(whole),
                 doc, np.asarray(doc_evidence))


def _capped(X: sparse.csr_matrix) -> sparse.csr_matrix:
    X.data = np.minimum(X.data, 1.0)
    return X


def segment_doc(b: Batch, row: int) -> dict:
    """One segment's prepared text (for explanations): its units' tokens joined."""
    docs = [b.unit_docs[b.owner[row]][i] for i in b.segments[row]]
    return {"norm": "。".join(d["norm"] for d in docs), "words": [w for d in docs for w in d["words"]],
            "pinyin": [p for d in docs for p in d["pinyin"]], "pinyin_units": [d["pinyin"] for d in docs]}
