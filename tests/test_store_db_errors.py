"""A database that cannot be used — read-only, in a read-only directory, random bytes — is one line
on stderr and a non-zero exit from every command that opens it, with the file left as it was."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from store.db import open_db
from tests.conftest import ROOT

# Root ignores file modes through CAP_DAC_OVERRIDE; the CLI runs without it, so a 0444 file is read-only
# to it as to any user. (The venv's interpreter lives under /root, so running as `nobody` is not possible.)
DROP = "-dac_override,-fowner"
UNPRIVILEGED = ["setpriv", f"--bounding-set={DROP}", f"--inh-caps={DROP}"] if os.geteuid() == 0 else []


def _unprivileged_ok() -> bool:
    if not UNPRIVILEGED:
        return True
    if not shutil.which("setpriv"):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe"
        probe.write_text("x")
        probe.chmod(0o444)
        proc = subprocess.run([*UNPRIVILEGED, "sh", "-c", f"echo y >> {probe}"], capture_output=True)
        return proc.returncode != 0 and probe.read_text() == "x"


needs_modes = pytest.mark.skipif(not _unprivileged_ok(), reason="cannot drop CAP_DAC_OVERRIDE (setpriv) here")


def _sweep(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*UNPRIVILEGED, sys.executable, "-m", "cli", *args], cwd=ROOT, env=env,
                          text=True, capture_output=True, timeout=300)


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


COMMANDS = {
    "stats": ["stats"],
    "crawl": ["crawl", "--platform", "marketplace", "--base-url", "marketplace=http://127.0.0.1:9"],
}


def _assert_one_line_refusal(proc, expected: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    assert expected in lines[0]


@pytest.fixture
def folder():
    # Not pytest's tmp_path: its parent is private to root, and the CLI must reach the file by its mode alone.
    path = Path(tempfile.mkdtemp(prefix="sweep-dberr-"))
    path.chmod(0o755)
    yield path
    path.chmod(0o755)
    shutil.rmtree(path)


@needs_modes
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_read_only_database_is_one_line_and_left_untouched(folder, command):
    db_path = folder / "sweep.db"
    open_db(db_path).close()
    db_path.chmod(0o444)
    before = _snapshot(folder)
    proc = _sweep(*COMMANDS[command], "--db", str(db_path))
    _assert_one_line_refusal(proc, f"Error: cannot write {db_path}: the file is read-only (check its permissions)")
    assert _snapshot(folder) == before          # no -wal, no -shm, same bytes


@needs_modes
def test_a_read_only_directory_is_one_line(folder):
    db_path = folder / "sweep.db"
    folder.chmod(0o555)
    # one that creates a database (stats refuses a missing one)
    proc = _sweep(*COMMANDS["crawl"], "--db", str(db_path))
    _assert_one_line_refusal(proc, f"its directory {folder} is read-only")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_file_of_random_bytes_is_one_line_and_left_untouched(folder, command):
    db_path = folder / "sweep.db"
    db_path.write_bytes(os.urandom(64 * 1024))
    before = _snapshot(folder)
    proc = _sweep(*COMMANDS[command], "--db", str(db_path))
    _assert_one_line_refusal(proc, f"Error: {db_path} is not a SQLite database or is corrupted "
                                   f"(restore it from a backup or point --db elsewhere)")
    assert _snapshot(folder) == before
