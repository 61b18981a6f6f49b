"""The hand-written labelled corpus: loading, checking, hashing and the frozen test split."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from . import LABELS
from common.errors import SweepError

CORPUS_DIR = Path(__file__).parent / "corpus"
TACTICS = ("plain", "spacing", "pinyin", "homophone", "traditional", "fullwidth", "emoji", "euphemism",
           "contact_only", "english")
HARD_NEGATIVES = ("news", "victim", "anti_harassment", "security_dev", "legit_hardware", "word_collision",
                  "legit_sms")
KINDS = ("ecommerce", "appstore", "forum", "code", "social")
TEST_SHARE = 5    # 1 in 5 rows, chosen by id hash, is the frozen test split


class CorpusError(SweepError, ValueError):
    pass


def check_row(row: dict, where: str) -> None:
    for key in ("id", "label", "kind", "title", "description"):
        if not isinstance(row.get(key), str):
            raise CorpusError(f"{where}: field {key!r} missing or not a string")
    if row["label"] not in LABELS:
        raise CorpusError(f"{where}: unknown label {row['label']!r}")
    if row["kind"] not in KINDS:
        raise CorpusError(f"{where}: unknown kind {row['kind']!r}")
    bad = set(row.get("tactics") or []) - set(TACTICS)
    if bad:
        raise CorpusError(f"{where}: unknown tactics {sorted(bad)}")
    for key in ("register", "category"):          # optional free-form tags for slicing evaluations
        if row.get(key) is not None and not isinstance(row[key], str):
            raise CorpusError(f"{where}: field {key!r} must be a string")
    hn = row.get("hard_negative")
    if hn is not None and (hn not in HARD_NEGATIVES or row["label"] != "benign"):
        raise CorpusError(f"{where}: hard_negative {hn!r} not allowed here")


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path.name}:{n}: not JSON: {exc.msg}") from None
        check_row(row, f"{path.name}:{n}")
        rows.append(row)
    return rows


def load_corpus(directory: Path | str = CORPUS_DIR) -> list[dict]:
    rows, seen = [], set()
    for path in sorted(Path(directory).glob("*.jsonl")):
        for row in read_jsonl(path):
            if row["id"] in seen:
                raise CorpusError(f"{path.name}: duplicate id {row['id']!r}")
            seen.add(row["id"])
            rows.append(row)
    if not rows:
        raise CorpusError(f"no labelled rows in {directory}")
    return rows


def corpus_hash(rows: list[dict]) -> str:
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r["id"]):
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def is_frozen_test(row_id: str) -> bool:
    """Stable by id alone, so adding rows never moves an old row between splits."""
    return int(hashlib.sha1(row_id.encode("utf-8")).hexdigest(), 16) % TEST_SHARE == 0


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    train = [r for r in rows if not is_frozen_test(r["id"])]
    test = [r for r in rows if is_frozen_test(r["id"])]
    return train, test
