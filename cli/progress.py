"""Progress for the CLI's long steps (evidence, report, recheck, classify, train), at a terminal only.

The steps themselves stay unaware of it: a thread counts what the step has written so far (rows
in the database, lines in the output file) a few times a second and moves a rich bar. Through a
pipe or from cron nothing is shown (``watch`` is then a plain no-op), so cron output stays quiet.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from pathlib import Path


def at_terminal() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def watch(description: str, count: Callable[[], int] | None = None, total: int | None = None,
          interval: float = 0.5):
    """Show ``description`` with ``count()`` of ``total`` (a bar) or of an unknown total (a spinner).
    Yields a function that replaces the description (for steps that say what they are doing)."""
    if not at_terminal():
        yield lambda text: None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn)

    columns = [SpinnerColumn(), TextColumn("{task.description}", markup=False)]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    elif count is not None:
        columns += [TextColumn("{task.completed:.0f} done")]
    bar = Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True))
    task = bar.add_task(description, total=total)
    stop = threading.Event()

    def poll():
        while not stop.wait(interval):
            try:
                bar.update(task, completed=count())
            except Exception:       # noqa: BLE001 — a count that cannot be read this time is shown next time
                pass

    poller = threading.Thread(target=poll, daemon=True) if count is not None else None
    with bar:
        if poller:
            poller.start()
        try:
            yield lambda text: bar.update(task, description=text)
        finally:
            stop.set()
            if poller:
                poller.join()
            with contextlib.suppress(Exception):
                if count is not None:
                    bar.update(task, completed=count())


def rows_added(db_path, what: str) -> Callable[[], int]:
    """A counter of what ``what`` (a key of store.metrics.progress_counts) has grown by since now."""
    from store.metrics import progress_counts

    start = progress_counts(db_path)[what]
    return lambda: progress_counts(db_path)[what] - start


def lines_written(path) -> Callable[[], int]:
    """A counter of the lines a file being written holds so far (reads only what was added)."""
    state = {"offset": 0, "lines": 0}

    def read() -> int:
        with open(path, "rb") as fh:
            fh.seek(state["offset"])
            data = fh.read()
        state["offset"] += len(data)
        state["lines"] += data.count(b"\n")
        return state["lines"]

    return read


def count_lines(path) -> int | None:
    """Lines in a regular file (the total for a bar), None for stdin or a pipe."""
    if path == "-" or not Path(path).is_file():
        return None
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
