"""Session fixtures of the distributed-crawl area (loaded by tests/conftest.py through pytest_plugins).

A real ``redis-server`` (Debian's) on 127.0.0.1, a free port and a temporary directory, with
append-only persistence as a deployment would run it; shut down at the end of the session.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import free_port, wait_for

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """``extra`` arguments (e.g. --requirepass, --user, --tls-port); ``password`` is the default user's."""

    def __init__(self, directory: Path, extra: list[str] | None = None, password: str | None = None):
        self.directory = directory
        self.port = free_port()
        self.extra = list(extra or [])
        self.password = password
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "yes",
             "--logfile", str(self.directory / "redis.log"), *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=20, what="redis-server to answer PING")
        return self

    def _answers(self) -> bool:
        try:
            return self.client().ping()
        except Exception:
            if self.proc.poll() is not None:
                log = (self.directory / "redis.log").read_text()
                raise RuntimeError(f"redis-server exited: {log[-2000:]}") from None
            return False

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, password=self.password)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    if not Path(REDIS_SERVER).exists():
        pytest.fail("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The session's Redis, emptied for this test."""
    redis_server.client().flushall()
    return redis_server.url
