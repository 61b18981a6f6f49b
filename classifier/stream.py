"""`sweep classify`: stream JSONL through the model on every core, in order, in bounded memory."""
from __future__ import annotations

import collections
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from .die_with_parent import die_with_parent
from .predict import Classifier

_model: Classifier | None = None
OUTPUT_FIELDS = ("label", "score", "flagged", "scores", "explanation")


def _init(model_path: str) -> None:
    global _model
    _model = Classifier.load(model_path)


def _init_worker(model_path: str, parent_pid: int) -> None:
    die_with_parent(parent_pid)       # `sweep classify` killed: its workers go too
    _init(model_path)


def _predict(records: list[dict]) -> list[dict]:
    return _model.predict(records)


@contextmanager
def _open(path: str, mode: str):
    # surrogateescape both ways: bytes that are not UTF-8 pass through untouched instead of crashing.
    if path == "-":
        stream = sys.stdin if "r" in mode else sys.stdout
        stream.reconfigure(encoding="utf-8", errors="surrogateescape")
        yield stream
    else:
        with open(path, mode, encoding="utf-8", errors="surrogateescape") as fh:
            yield fh


def dump_line(record: dict) -> str:
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:      # a lone surrogate from a JSON escape: keep it, escaped
        line = json.dumps(record)
    return line + "\n"


def parse_line(line: str, number: int) -> tuple[dict | None, str | None]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"line {number}: not JSON ({exc.msg}); skipped"
    if not isinstance(record, dict):
        return None, f"line {number}: not a JSON object; skipped"
    for key in ("title", "description"):
        if not isinstance(record.get(key), str):
            return None, f"line {number}: {key!r} missing or not a string; skipped"
    return record, None


def _batches(fh, size: int, counts: dict, warn):
    batch = []
    for number, line in enumerate(fh, 1):
        if not line.strip():
            continue
        record, problem = parse_line(line, number)
        if problem:
            counts["malformed"] += 1
            warn(problem)
            continue
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def classify_stream(in_path: str, out_path: str, model_path: str, workers: int | None = None, batch: int = 256,
                    warn=print) -> dict:
    counts = {"classified": 0, "flagged": 0, "malformed": 0}
    workers = workers or os.cpu_count() or 1
    Classifier.load(model_path) if workers > 1 else _init(model_path)   # a bad artifact fails here, clearly

    def write(out, records, results):
        for record, result in zip(records, results):
            counts["classified"] += 1
            counts["flagged"] += bool(result["flagged"])
            record.update({k: result[k] for k in OUTPUT_FIELDS})
            out.write(dump_line(record))

    with _open(in_path, "r") as src, _open(out_path, "w") as out:
        if workers == 1:
            for records in _batches(src, batch, counts, warn):
                write(out, records, _predict(records))
            return counts
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(model_path, os.getpid())) as pool:
            in_flight: collections.deque = collections.deque()
            for records in _batches(src, batch, counts, warn):
                in_flight.append((records, pool.submit(_predict, records)))
                while len(in_flight) > 2 * workers:      # bounded memory: at most 2 batches per worker queued
                    done, future = in_flight.popleft()
                    write(out, done, future.result())
            while in_flight:
                done, future = in_flight.popleft()
                write(out, done, future.result())
    return counts
