"""The one error type the command line reports without a traceback.

A library raises a ``SweepError`` (or a subclass) when it cannot go on for a reason the operator
can fix: the message says what and what to do; ``exit_code`` is what `sweep` exits with. The CLI
turns it into one line on stderr in one place (cli/main.py ``SweepGroup``); anything else is a bug
and keeps its traceback.
"""
from __future__ import annotations

EX_FAILURE = 1          # the default: the command could not do its job
EX_TEMPFAIL = 75        # sysexits' "temporarily refused": try again later (e.g. another cycle holds the lock)


class SweepError(Exception):
    exit_code = EX_FAILURE

    def __init__(self, message: str = "", exit_code: int | None = None):
        super().__init__(message)
        self.message = str(message)
        if exit_code is not None:
            self.exit_code = exit_code
