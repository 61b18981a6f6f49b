"""Plain helpers shared by test modules (fixtures live in conftest.py and the fixtures_*.py plugins).

- ``wait_for``: poll a condition with a deadline — the one way a test waits for something.
- ``sweep`` (the CLI in a subprocess: one Twisted reactor per crawl), ``start_sweep`` (the same, running
  beside the test) and ``invoke`` (in process, click's CliRunner) for commands that start no reactor.
- ``fetch`` / ``post_json``: plain urllib requests that return error statuses instead of raising.
- ``free_port`` and ``serving`` (an ASGI app under real uvicorn in a thread).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> T:
    """Call ``condition`` until it returns something truthy and return that; fail after ``timeout`` seconds.

    ``condition`` may raise to stop early (e.g. ``assert proc.poll() is None``): waiting on a dead
    process should fail at once, not at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g}s for {what or getattr(condition, '__name__', 'a condition')}")
        time.sleep(interval)


def sweep(*args: str, check: bool = True, timeout: float = 600, env: dict | None = None, log: Path | None = None,
          **kwargs) -> subprocess.CompletedProcess:
    """Run the real `sweep` CLI in a subprocess (one Twisted reactor per crawl); ``env`` is added to this
    process's environment, ``log`` keeps stdout and stderr for a failed test's post-mortem."""
    proc = subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=_env(env), text=True,
                          capture_output=True, timeout=timeout, **kwargs)
    if log is not None:
        Path(log).write_text(proc.stdout + proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"sweep {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}")
    return proc


def start_sweep(*args: str, log: Path | None = None, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """Start `sweep` in its own session (``os.killpg`` stops it with its children). With ``log``, stdout and
    stderr go to that file — never a pipe, which fills up and stalls a long crawl — read back by ``output``."""
    if log is not None:
        kwargs.update(stdout=open(log, "w+"), stderr=subprocess.STDOUT, text=True)
    proc = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT, start_new_session=True, env=_env(env),
                            **kwargs)
    proc.log = kwargs.get("stdout") if log is not None else None
    return proc


def output(proc: subprocess.Popen) -> str:
    """What a ``start_sweep(..., log=...)`` process has written so far."""
    proc.log.seek(0)
    return proc.log.read()


def _env(extra: dict | None) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **(extra or {})}


def invoke(*args: str, **kwargs):
    """Run a `sweep` command in this process (click's CliRunner); returns the click Result."""
    from click.testing import CliRunner

    from cli.main import cli

    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def base_url_args(urls: dict[str, str]) -> list[str]:
    return [arg for name, url in urls.items() for arg in ("--base-url", f"{name}={url}")]


def read_jsonl(path: Path) -> list[dict]:
    text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def fetch(url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 10):
    """(status, headers, body); an HTTP error status is returned, not raised."""
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def post_json(url: str, payload: dict):
    """(status, decoded JSON body)."""
    status, _, body = fetch(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    return status, json.loads(body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app):
    """Serve ``app`` as `sweep review` does (real uvicorn, in a thread) on a free loopback port; yields its URL."""
    import uvicorn

    from review.web.app import server_config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError("the server thread ended before it started serving")
        return server.started

    try:
        wait_for(started, timeout=20, what="the server to start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def cli_commands() -> list[tuple]:
    """Every `sweep` command and subcommand as ("users add", command), sorted; hidden ones included."""
    import click

    from cli.main import cli

    def walk(group: click.Group, prefix: str = ""):
        for name, command in group.commands.items():
            yield f"{prefix}{name}", command
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")

    return sorted(walk(cli), key=lambda c: c[0])


@contextmanager
def html_page(html: str, asked: list | None = None):
    """Serve ``html`` for every GET on a free loopback port, appending each path asked for to
    ``asked``; yields the base URL (no trailing slash)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if asked is not None:
                asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
