"""`sweep classify`: stream JSONL through the model on every core, in order, in bounded memory."""
from __future__ import annotations

import collections
import json
import math
import os
import re
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
    # Input is read as bytes so each line is decoded (and repaired) on its own; output is strict UTF-8.
    if path == "-":
        if "r" in mode:
            yield sys.stdin.buffer
        else:
            sys.stdout.reconfigure(encoding="utf-8", errors="strict")
            yield sys.stdout
    elif "r" in mode:
        with open(path, "rb") as fh:
            yield fh
    else:
        with open(path, mode, encoding="utf-8") as fh:
            yield fh


def dump_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"


class _NotFinite(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NotFinite(name)                # NaN, Infinity, -Infinity: Python's json accepts them, JSON does not


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):          # 1e400 parses as inf: it must not reach the output either
        raise _NotFinite(text[:20])
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _repair_surrogates(record: dict) -> dict | None:
    """The record with lone surrogates (a ``\\ud800`` escape alone) as U+FFFD; None if it had none."""
    text = json.dumps(record, ensure_ascii=False)
    try:
        text.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return json.loads(text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace"))


def decode_line(raw: bytes, number: int) -> tuple[str, str | None]:
    """A raw input line as text; invalid UTF-8 becomes U+FFFD, with a note saying so."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return (raw.decode("utf-8", "replace"),
                f"line {number}: invalid UTF-8 at byte {exc.start + 1}; replaced with U+FFFD")


def parse_line(line: str, number: int) -> tuple[dict | None, str | None]:
    """(record, None) for a usable line; (None, why) for one to skip; (record, note) for a repaired one."""
    try:
        record = json.loads(line, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NotFinite as exc:
        return None, f"line {number}: {exc} is not a finite JSON number; skipped"
    except json.JSONDecodeError as exc:
        return None, f"line {number}: not JSON ({exc.msg}); skipped"
    except RecursionError:
        return None, f"line {number}: nested too deeply to read; skipped"
    except ValueError as exc:             # e.g. an integer longer than Python's 4,300-digit limit
        return None, f"line {number}: not readable JSON ({str(exc)[:80]}); skipped"
    if not isinstance(record, dict):
        return None, f"line {number}: not a JSON object; skipped"
    for key in ("title", "description"):
        if not isinstance(record.get(key), str):
            return None, f"line {number}: {key!r} missing or not a string; skipped"
    if _SURROGATE_ESCAPE.search(line) and (repaired := _repair_surrogates(record)) is not None:
        return repaired, f"line {number}: lone surrogate escape (not Unicode); replaced with U+FFFD"
    return record, None


def _batches(fh, size: int, counts: dict, warn):
    batch = []
    for number, raw in enumerate(fh, 1):
        if not raw.strip():
            continue
        line, note = decode_line(raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw, number)
        record, problem = parse_line(line, number)
        if record is None:
            counts["malformed"] += 1
            warn(problem)
            continue
        if note or problem:
            counts["repaired"] += 1
            warn("; ".join(filter(None, (note, problem))))
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def classify_stream(in_path: str, out_path: str, model_path: str, workers: int | None = None, batch: int = 256,
                    warn=print) -> dict:
    counts = {"classified": 0, "flagged": 0, "malformed": 0, "repaired": 0}
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
