"""Worker processes that exit when the process that started them dies, even by SIGKILL.

A ProcessPoolExecutor worker blocks reading its task pipe. Forked siblings inherit that pipe's
write end, so when the parent is killed the read never ends, and each worker — holding its
own copy of the model, ~340 MB — lives on as an orphan. Called first in a worker (the pool's
initializer), :func:`die_with_parent` asks Linux to SIGKILL it when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and also starts a thread that exits the process once its parent
has changed (reparented to init or a subreaper) — for other kernels, and for the case where the
parent *thread* that forked it ends, which is what PDEATHSIG actually watches. Both pools here
are created and first used on the main thread, so that case does not arise.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def _pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, interval: float) -> None:
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            os._exit(1)             # no cleanup to do: the parent that wanted the results is gone


def die_with_parent(parent_pid: int | None = None, interval: float = 1.0) -> None:
    """Make this process exit when its parent does. ``parent_pid``: the pid that created the pool
    (checked, so a parent that died before this ran is noticed too)."""
    parent = os.getppid()
    _pdeathsig(signal.SIGKILL)
    if (parent_pid is not None and parent != parent_pid) or os.getppid() != parent:
        os._exit(1)                 # the parent died before the request to follow it took effect
    threading.Thread(target=_watch, args=(parent, interval), name="die-with-parent", daemon=True).start()
