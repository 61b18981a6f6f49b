"""Evidence and export files: written once and read-only, named relative to the database.

Evidence capture (takedown/evidence.py) and the file channels (XARF, 12321 CSV) write through
``write_once``, so nothing Sweep has archived or handed over is ever replaced in place; paths stored
in the database are relative to its directory (``stored_path``/``resolve_path``) so the two move together.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from common.config import Config


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# -- where evidence lives ---------------------------------------------------------------------
def evidence_dir(db_path: str | Path, config: Config | None = None) -> Path:
    configured = config.section("evidence").get("dir") if config else None
    return Path(configured) if configured else Path(db_path).resolve().parent / "evidence"


def stored_path(path: Path, db_path: str | Path) -> str:
    """Relative to the database's directory when inside it, so the two move together."""
    base = Path(db_path).resolve().parent
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path.resolve())


def resolve_path(db_path: str | Path, stored: str) -> Path:
    """The file an ``evidence.*_path`` value names."""
    p = Path(stored)
    return p if p.is_absolute() else Path(db_path).resolve().parent / p


def write_once(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data`` atomically; an existing file is never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        os.link(tmp, path)          # fails with FileExistsError rather than overwrite
    finally:
        os.unlink(tmp)

