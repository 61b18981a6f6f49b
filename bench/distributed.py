"""Distributed crawl benchmark: pages/s with 1 and 2 `sweep worker`s against the sandbox, and the ratio.

    python bench/distributed.py [--platform NAME ...]

One sandbox and one redis-server (a temporary directory, a free port) for the whole run. For
each worker count: Redis emptied, the workers and one `sweep ingest` started together, timed
until every worker has exited (crawl pages/s: pages fetched by all workers / that time) and
until ingest has stored the last listing (end to end). A single-process `sweep crawl` of the
same platforms runs first as the reference. The crawl time includes a worker's wait for the
others before it exits (up to 5 s: Scrapy's engine heartbeat re-checks an idle spider), so the
end-to-end time is the fairer comparison. Every figure comes from this run; on a machine with
2 cores the workers, Chromium, ingest, its classifier and the sandbox all share them, so the
ratio says how far a second worker helps *here*, not on a second machine.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(directory: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--bind", "127.0.0.1", "--port",
                             str(port), "--dir", str(directory), "--save", "", "--appendonly", "yes"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            return proc, f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            time.sleep(0.05)
    sys.exit("redis-server did not start")


def sweep(*args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT, env=ENV, text=True,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)


def stored(db: Path) -> int:
    try:
        return sqlite3.connect(db).execute("SELECT count(*) FROM listings").fetchone()[0]
    except sqlite3.Error:          # not created yet
        return 0


def run_single(work: Path, urls: list[str], platforms: list[str]) -> dict:
    db = work / "single.db"
    start = time.perf_counter()
    proc = sweep("crawl", "--db", str(db), *platforms, *urls, log=work / "single.log")
    if proc.wait() != 0:
        sys.exit(f"sweep crawl failed:\n{(work / 'single.log').read_text()[-3000:]}")
    elapsed = time.perf_counter() - start
    pages = sum(int(n) for n in re.findall(r"done \[\w+\] (\d+) pages", (work / "single.log").read_text()))
    return {"pages": pages, "seconds": elapsed, "listings": stored(db)}


def run_distributed(work: Path, redis_url: str, urls: list[str], platforms: list[str], workers: int) -> dict:
    import redis

    redis.Redis.from_url(redis_url).flushall()
    db = work / f"workers{workers}.db"
    start = time.perf_counter()
    procs = [sweep("worker", "--redis", redis_url, *platforms, *urls, log=work / f"w{workers}-{n}.log")
             for n in range(workers)]
    ingest = sweep("ingest", "--redis", redis_url, "--db", str(db), "--exit-when-idle", "2",
                   log=work / f"ingest{workers}.log")
    crawled, count, last_commit = None, 0, start
    while ingest.poll() is None:                 # poll the database: when did the last listing land?
        now = time.perf_counter()
        if crawled is None and all(p.poll() is not None for p in procs):
            crawled = now - start
        n = stored(db) if db.exists() else 0
        if n > count:
            count, last_commit = n, now
        time.sleep(0.1)
    for n, proc in enumerate(procs):
        if proc.wait() != 0:
            sys.exit(f"worker failed:\n{(work / f'w{workers}-{n}.log').read_text()[-3000:]}")
    if ingest.returncode != 0:
        sys.exit(f"ingest failed:\n{(work / f'ingest{workers}.log').read_text()[-3000:]}")
    ended = last_commit - start
    crawled = crawled if crawled is not None else time.perf_counter() - start
    pages = sum(int(n) for n in re.findall(r": (\d+) pages", "".join(
        (work / f"w{workers}-{n}.log").read_text() for n in range(workers))))
    return {"pages": pages, "seconds": crawled, "end_to_end": ended, "listings": stored(db)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", action="append", default=[], help="(repeatable; default: all three)")
    args = parser.parse_args()
    from sandbox.process import SandboxProcess

    platforms = [a for p in args.platform for a in ("--platform", p)]
    work = Path(tempfile.mkdtemp(prefix="sweep-bench-dist-"))
    redis_proc, redis_url = start_redis(work)
    try:
        with SandboxProcess(rate_limit=0) as sb:
            urls = [a for name, url in sb.urls.items() for a in ("--base-url", f"{name}={url}")]
            single = run_single(work, urls, platforms)
            one = run_distributed(work, redis_url, urls, platforms, 1)
            two = run_distributed(work, redis_url, urls, platforms, 2)
    finally:
        redis_proc.terminate()
        redis_proc.wait()
    for name, r in (("sweep crawl (1 process)", single), ("1 worker + ingest", one), ("2 workers + ingest", two)):
        line = (f"{name:<24}: {r['pages']:5d} pages in {r['seconds']:6.2f}s = "
                f"{r['pages'] / r['seconds']:6.1f} pages/s, "
                f"{r['listings']} listings stored")
        if "end_to_end" in r:
            line += f"; all stored after {r['end_to_end']:.2f}s"
        print(line)
    print(f"ratio 2 workers / 1 worker : {(two['pages'] / two['seconds']) / (one['pages'] / one['seconds']):.2f} "
          f"(crawl pages/s), {one['end_to_end'] / two['end_to_end']:.2f} (end to end)")
    single_rate = single["pages"] / single["seconds"]
    print(f"ratio 1 worker / sweep crawl: {(one['pages'] / one['seconds']) / single_rate:.2f}")
    print(f"({os.cpu_count()} cores; logs in {work})")


if __name__ == "__main__":
    main()
