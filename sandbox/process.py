"""Start the sandbox as a child process (for the demo, tests and benchmarks) and stop it again."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys


class SandboxProcess:
    """``with SandboxProcess() as sb: sb.urls["marketplace"]`` — the sandbox on free loopback ports;
    ``sb.endpoint_host``: the endpoint host's URL (``sb.endpoint_hits()``: what it recorded)."""

    def __init__(self, seed: int = 2018, port_base: int = 0, rate_limit: float = 1000.0,
                 takedown_delay: float = 5.0, startup_timeout: float = 60.0, faults: bool = False):
        self.args = [sys.executable, "-m", "sandbox", "--port-base", str(port_base), "--seed", str(seed),
                     "--rate-limit", str(rate_limit), "--takedown-delay", str(takedown_delay)]
        if faults:            # the /faults/ pages (sandbox/faults.py); off for the normal catalogue
            self.args.append("--faults")
        self.seed = seed
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.urls: dict[str, str] = {}
        self.endpoint_host: str | None = None

    def start(self) -> SandboxProcess:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(self.startup_timeout):
            self.stop()
            raise RuntimeError(f"sandbox did not start within {self.startup_timeout:.0f}s")
        line = self.proc.stdout.readline()
        try:
            ready = json.loads(line)
            self.urls, self.endpoint_host = ready["urls"], ready["endpoint_host"]
        except (json.JSONDecodeError, KeyError):
            self.stop()
            raise RuntimeError(f"sandbox failed to start: {line!r}") from None
        return self

    def endpoint_hits(self) -> dict:
        """{"hits": [[method, host, path], ...], "lookups": [domain, ...]} recorded by the endpoint host."""
        import urllib.request

        with urllib.request.urlopen(f"{self.endpoint_host}/_sandbox/hits", timeout=10) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
