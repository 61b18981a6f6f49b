"""Check API benchmark: `sweep serve-check` in its own process, driven by concurrent clients here.

    python bench/check_api.py        (SECONDS=10 per phase, WORKERS=2: `[check] workers` of the server)

Prints, in one run: listings/s in batches of 1,000 (two concurrent clients), single checks at a
fixed 200 requests/s (p50/p99 latency, open loop: requests are sent on schedule whether or not
earlier ones have returned, so a slow server shows as latency, not as fewer requests), single
checks at full speed (8 clients), and bare `jieba.lcut` on the same texts in this process — the
baseline (run before and after the server's phases, the mean printed). Targets on 2 cores: >= 1,000
listings/s in batches; p99 <= 25 ms at 200 requests/s. On a busy machine wall-clock rates say more
about the neighbours than about Sweep, so it also prints the CPU time per listing of the server and
its workers (psutil) against bare jieba's.
The database has confirmed listings, so every check also runs the banks (contacts, links,
sellers, MinHash/LSH). The server runs with ``[check] workers = WORKERS`` (default 2: one check process
per core; 0 checks in the server process). The machine's load average is printed before and after, and
the last lines are one verdict per target.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECONDS = float(os.environ.get("SECONDS_PER_PHASE", os.environ.get("SECONDS", 10)))
WORKERS = os.environ.get("WORKERS", "2")         # "" : no config, the server's default (older code)

from bench.classify import texts  # noqa: E402


def _in_threads(run, clients: int) -> float:
    """Run ``run(i)`` in ``clients`` threads at once; the seconds until all are done."""
    start = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(db: Path) -> str:
    from crawler.items import Listing
    from crawler.pipelines.normalise import NormalisePipeline
    from store.accounts import accounts_path, open_accounts
    from precheck.keys import add_key
    from store.db import open_db
    from store.states import transition
    from store.listings import Store

    store = Store(open_db(db))
    items = []
    for i, t in enumerate(texts(200)):
        item = NormalisePipeline().process_item(Listing(
            id=f"bench:{i}", platform="bench", platform_id=str(i), kind="ecommerce", url=f"http://bench.example/{i}",
            title=t["title"], description=f"{t['description']} QQ 12345{i:04d}", seller_id=f"s{i}",
            crawled_at="2026-11-27T00:00:00+00:00"))
        item.classification = {"label": "modem_pool", "score": 0.9, "flagged": True, "scores": {}, "explanation": [],
                               "model_version": "bench"}
        items.append(item)
    store.write_batch(items, run_id=None)
    with store.db.conn:
        for item in items:
            transition(store.db.conn, item.id, "confirmed", "bench", "bench")
    store.db.close()
    accounts = open_accounts(accounts_path(db))
    key = add_key(accounts, "bench", 1e9)
    accounts.close()
    return key


class Client:
    def __init__(self, port: int, key: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(self, path: str, body: bytes) -> float:
        start = time.perf_counter()
        self.conn.request("POST", path, body, self.headers)
        resp = self.conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
        return time.perf_counter() - start


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) so far of the server and its worker processes."""
    import psutil

    root, total = psutil.Process(pid), 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def batches(port, key, payloads, clients=2) -> tuple[float, int]:
    done = [0] * clients
    body = json.dumps({"listings": payloads[:1000]}, ensure_ascii=False).encode()
    stop = time.monotonic() + SECONDS

    def run(i):
        c = Client(port, key)
        while time.monotonic() < stop:
            c.post("/v1/check/batch", body)
            done[i] += 1000

    elapsed = _in_threads(run, clients)
    return sum(done) / elapsed, sum(done)


def open_loop(port, key, payloads, rate=200.0, senders=16) -> tuple[float, float, int, float, int]:
    """Single checks sent on a fixed schedule; latency counts from the scheduled send time. A server
    that falls far behind is not waited for: nothing is sent later than 2x the phase + 5 s."""
    bodies = [json.dumps(p, ensure_ascii=False).encode() for p in payloads]
    n = int(rate * SECONDS)
    start = time.perf_counter() + 0.2
    latencies, lock, errors = [], threading.Lock(), [0]
    counter = iter(range(n))

    def run():
        c = Client(port, key)
        for i in counter:
            due = start + i / rate
            if time.perf_counter() > start + 2 * SECONDS + 5:
                break
            gap = due - time.perf_counter()
            if gap > 0:
                time.sleep(gap)          # the schedule itself
            try:
                c.post("/v1/check", bodies[i % len(bodies)])
                with lock:
                    latencies.append(time.perf_counter() - due)
            except Exception:
                errors[0] += 1
                c = Client(port, key)

    threads = [threading.Thread(target=run) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return _pct(latencies, 0.5), _pct(latencies, 0.99), errors[0], len(latencies) / elapsed, len(latencies)


def closed_loop(port, key, payloads, clients=8) -> tuple[float, float, float, int]:
    bodies = [json.dumps(p, ensure_ascii=False).encode() for p in payloads]
    stop = time.monotonic() + SECONDS
    latencies, lock = [], threading.Lock()

    def run(i):
        c, j, mine = Client(port, key), i, []
        while time.monotonic() < stop:
            mine.append(c.post("/v1/check", bodies[j % len(bodies)]))
            j += clients
        with lock:
            latencies.extend(mine)

    elapsed = _in_threads(run, clients)
    return len(latencies) / elapsed, _pct(latencies, 0.5), _pct(latencies, 0.99), len(latencies)


def bare_jieba(payloads) -> float:
    import jieba

    jieba.initialize()
    docs = [f"{p['title']}\n{p['description']}" for p in payloads]
    start, cpu, n = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - start < min(SECONDS, 5):
        for d in docs:
            jieba.lcut(d)
        n += len(docs)
    return n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1000


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def main() -> None:
    payloads = [{"title": t["title"], "description": t["description"], "kind": t["kind"]} for t in texts(1000)]
    jb, jb_cpu = bare_jieba(payloads)              # also before: the machine's speed drifts between phases
    cpu = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sweep.db"
        key = _prepare(db)
        config = []
        if WORKERS:
            (Path(tmp) / "sweep.toml").write_text(f"[check]\nworkers = {int(WORKERS)}\n", encoding="utf-8")
            config = ["--config", str(Path(tmp) / "sweep.toml")]
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "cli", "serve-check", "--db", str(db), *config,
                                   "--port", str(port)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/healthz")
                    health = json.loads(conn.getresponse().read())
                    break
                except OSError as err:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit(f"serve-check did not start: {server.stderr.read().decode()[-2000:]}") from err
                    time.sleep(0.1)
            print(f"check API benchmark ({SECONDS:g} s per phase; server pid {server.pid}, workers "
                  f"{health.get('workers', 'n/a (in the server)')}; banks {health['banks']}; {_load()})")

            def phase(name, run):
                before = server_cpu(server.pid)
                out = run()
                cpu[name] = (server_cpu(server.pid) - before) * 1000 / max(1, out[-1])
                return out

            b, _ = phase("batch", lambda: batches(port, key, payloads))
            print(f"  batches of 1,000, 2 clients:   {b:8.0f} listings/s   (target >= 1,000)")
            p50, p99, errors, achieved, _ = phase("open", lambda: open_loop(port, key, payloads))
            print(f"  single at 200 req/s (open):    p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({achieved:.0f} req/s "
                  f"achieved, {errors} errors; target p99 <= 25 ms)")
            rps, c50, c99, n = phase("closed", lambda: closed_loop(port, key, payloads))
            print(f"  single, 8 clients (closed):    {rps:8.0f} req/s      p50 {c50:6.1f} ms  p99 {c99:6.1f} ms")
        finally:
            server.terminate()
            server.wait(30)
    jb2, jb_cpu2 = bare_jieba(payloads)
    jb, jb_cpu = (jb + jb2) / 2, (jb_cpu + jb_cpu2) / 2
    print(f"  bare jieba.lcut (baseline):    {jb:8.0f} listings/s   (mean of before and after the server's phases) "
          f"-> batch path / bare jieba = {b / jb:.2f}x; closed-loop singles / bare jieba = {rps / jb:.2f}x")
    print(f"  CPU per listing (server + workers; steadier than wall time on a busy machine): batch "
          f"{cpu['batch']:.2f} ms, closed-loop single {cpu['closed']:.2f} ms; bare jieba {jb_cpu:.2f} ms "
          f"-> batch = {cpu['batch'] / jb_cpu:.1f}x bare jieba's CPU; CPU-bound ceiling on {os.cpu_count()} idle "
          f"cores: {os.cpu_count() * 1000 / cpu['batch']:.0f} listings/s in batches")
    print(f"  ({_load()})")
    print(f"{'PASS' if b >= 1000 else 'FAIL'} batch throughput >= 1,000 listings/s: {b:.0f} listings/s")
    sustained = achieved >= 0.97 * 200 and errors == 0
    print(f"{'PASS' if p99 <= 25 and sustained else 'FAIL'} single p99 <= 25 ms at 200 req/s: p99 {p99:.1f} ms at "
          f"{achieved:.0f} req/s, {errors} errors")


if __name__ == "__main__":
    main()
