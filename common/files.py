"""Files created with their permissions from the first byte (``os.open``: no umask can widen them,
and there is no window in which a freshly created file is readable by others)."""
from __future__ import annotations

import os
from pathlib import Path


def create_with_mode(path: str | Path, mode: int) -> bool:
    """Create ``path`` empty with ``mode`` (narrowed further by the umask) unless it exists; True if created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    os.close(fd)
    return True
