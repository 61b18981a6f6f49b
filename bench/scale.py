"""Scale benchmark (issue #15): every page and cycle step at 10k, 100k and 1M listings.

    python bench/scale.py                       10k and 100k (databases under /tmp, kept for re-runs)
    python bench/scale.py --sizes 10000,1000000 --keep /tmp/sweep-scale

Builds each database once (``build``), then measures in child processes (so each peak RSS is its
own): every review page through the real Starlette app (median of 11 requests, a fresh connection
per request as the server does), the planning part of each cycle step, and relist matching of
1,000 new listings stored through ``Store.write_batch``. Prints a table per size and the growth
ratio largest/smallest. Targets: page <= 150 ms, planning <= 1 s, growth <= 3, relist 1,000 <= 10 s
and <= 300 MB.

Relist matching: the stored index of taken-down listings is built once per database (timed on its own),
and the listings the builder wrote count as already read, as after earlier runs; then 1,000 new listings
arrive through the store and one ``link_relists`` run is timed.

How the databases are built: the first 2,000 listings go through ``Store.write_batch`` (the crawl's
path: versions, classifications, contacts, search index, state transitions); the rest through a
bulk path that writes the same rows with ``executemany`` in large transactions (the store's one
transaction per batch costs ~0.4 ms per listing; 1M would take most of an hour on this machine).
The bulk path skips the full-text index (search is not measured here) and writes each listing in
its final state with one audit row per state reached, as the state machine would leave it. The
trigger-kept counters (``listing_counts``) follow every insert either way. Mix: ~45 % flagged at
some point; of all listings 28 % flagged, 1 % relisted, 4 % rejected, 2 % confirmed, 3 % reported,
1 % still live/escalated, 6 % removed; one seller per 20 listings; a contact per listing from a
pool of n/4 (so contacts are shared), 3 % near-duplicate texts.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PLATFORMS = ("marketplace", "forum", "appstore", "codehost", "social")
KINDS = {"marketplace": "ecommerce", "forum": "forum", "appstore": "appstore", "codehost": "code", "social": "social"}
HARMFUL = {"call_bomber": "呼死你 电话轰炸 包月", "sms_bomber": "短信轰炸机 全网接口",
           "caller_id_spoof": "改号软件 任意显号", "modem_pool": "八口猫池 多卡设备",
           "voice_gateway": "语音网关 落地线路"}
BENIGN = ("手机壳 新款 包邮", "路由器 千兆 双频", "充电宝 快充 大容量", "蓝牙耳机 降噪", "数据线 编织 耐用",
          "机械键盘 青轴")
FILLER = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
          "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
          "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比"
          "或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
          "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做"
          "必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权"
          "收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信"
          "马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连"
          "断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存"
          "候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严")
NEW_LISTINGS = 1000


def _text(rng: random.Random, label: str) -> tuple[str, str]:
    base = HARMFUL.get(label) or rng.choice(BENIGN)
    words = "".join(rng.choice(FILLER) for _ in range(24))
    return f"{base} {rng.randrange(10000)}", f"{base}，{words}。联系 QQ 12345{rng.randrange(10000):04d}"


def _fate(rng: random.Random) -> tuple[str, str]:
    """(label, final state) for one listing of the mix above."""
    r = rng.random()
    table = ((0.28, "flagged"), (0.29, "relisted"), (0.33, "rejected"), (0.35, "confirmed"), (0.38, "reported"),
             (0.385, "still_live"), (0.39, "escalated"), (0.45, "removed"))
    state = next((s for edge, s in table if r < edge), "new")
    label = rng.choice(list(HARMFUL)) if state != "new" else "benign"
    return label, state


PATHS = {"flagged": ["flagged"], "relisted": ["relisted"], "rejected": ["flagged", "rejected"],
         "confirmed": ["flagged", "confirmed"], "reported": ["flagged", "confirmed", "reported"],
         "still_live": ["flagged", "confirmed", "reported", "still_live"],
         "escalated": ["flagged", "confirmed", "reported", "still_live", "escalated"],
         "removed": ["flagged", "confirmed", "reported", "removed"]}


def store_items(start: int, count: int, rng: random.Random, crawled_at: str, label_of=None) -> list:
    """Pipeline-finished listings (normalised, contacts found) with a stand-in classification."""
    from crawler.items import Listing
    from crawler.pipelines.normalise import NormalisePipeline

    pipe, items = NormalisePipeline(), []
    for i in range(start, start + count):
        label = label_of(i) if label_of else _fate(rng)[0]
        platform = PLATFORMS[i % len(PLATFORMS)]
        title, description = _text(rng, label)
        item = Listing(id=f"{platform}:{i}", platform=platform, platform_id=str(i), kind=KINDS[platform],
                       url=f"http://{platform}.example/item/{i}", title=title, description=description,
                       price="¥88.00", seller_id=f"s{i // 20}", seller_name=f"店{i // 20}", crawled_at=crawled_at)
        item = pipe.process_item(item)
        flagged = label != "benign"
        item.classification = {"label": label,
                               "score": round(rng.uniform(0.6, 1) if flagged else rng.uniform(0, 0.4), 4),
                               "flagged": flagged, "scores": {}, "explanation": [], "model_version": "bench"}
        items.append(item)
    return items


def build(path: Path, n: int, seed: int = 0) -> float:
    """Create the database of ``n`` listings at ``path``; returns seconds taken."""
    from store.db import open_db
    from store.listings import Store

    t0 = time.perf_counter()
    rng = random.Random(seed)
    if path.exists():
        path.unlink()
    db = open_db(path)
    via_store = min(n, 2000)
    Store(db).write_batch(store_items(0, via_store, rng, "2026-01-01T00:00:00+00:00"), run_id=1)
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")
    contacts = max(1, n // 4)
    with db.atomic():
        conn.executemany("INSERT OR IGNORE INTO contacts (id, type, value) VALUES (?, 'qq', ?)",
                         [(100000 + c, f"12345{c:07d}") for c in range(contacts)])
    chunk, seen_sellers, taken_ids = 20000, set(), []
    for start in range(via_store, n, chunk):
        sellers, listings, versions, classes, links, audit, reviews, relists = [], [], [], [], [], [], [], []
        for i in range(start, min(n, start + chunk)):
            label, state = _fate(rng)
            platform = PLATFORMS[i % len(PLATFORMS)]
            title, description = _text(rng, label)
            if rng.random() < 0.03 and listings:                   # a near-duplicate of a recent listing
                title, description = listings[-1][5] + " 新", listings[-1][6]
            run = 1 + i * 40 // n
            seen = f"2026-{1 + run // 4:02d}-{1 + run % 4 * 7:02d}T00:00:00+00:00"
            seller = f"{platform}:s{i // 20}"
            if seller not in seen_sellers:
                seen_sellers.add(seller)
                sellers.append((seller, platform, f"s{i // 20}", f"店{i // 20}", seen, seen))
            flagged = int(label != "benign")
            score = round(rng.uniform(0.6, 1) if flagged else rng.uniform(0, 0.4), 4)
            changed = f"2026-{1 + run // 4:02d}-{2 + run % 4 * 7:02d}T00:00:00+00:00"
            taken = state in ("reported", "still_live", "escalated", "removed")
            removed = f"2026-{1 + run // 4:02d}-{4 + run % 4 * 7:02d}T00:00:00+00:00" if state == "removed" else None
            lid = f"{platform}:{i}"
            listings.append((lid, platform, str(i), KINDS[platform], f"http://{platform}.example/item/{i}", title,
                             description, 88.0, seller, f"h{i}", 1, seen, seen, run, run, state, label, score, flagged,
                             changed if state != "new" else None, changed if taken else None, removed))
            versions.append((lid, 1, f"h{i}", title, description, 88.0, seen, run))
            classes.append((lid, 1, "bench", label, score, flagged, "{}", "[]", seen))
            links.append((lid, 100000 + rng.randrange(contacts)))
            if state == "relisted" and taken_ids:              # linked as link_relists would
                relists.append((lid, rng.choice(taken_ids), "same_seller", changed))
            if taken and len(taken_ids) < 1000:
                taken_ids.append(lid)
            previous = "new"
            for step in PATHS.get(state, []):
                audit.append((changed, "bench", f"state:{previous}->{step}", lid, "{}"))
                if step in ("confirmed", "rejected"):
                    reviews.append((lid, 1, "alice", step, label if step == "confirmed" else None, None, changed))
                previous = step
        with db.atomic():
            conn.executemany("INSERT OR IGNORE INTO sellers (id, platform, seller_id, name, first_seen, last_seen) "
                             "VALUES (?, ?, ?, ?, ?, ?)", sellers)
            conn.executemany(
                "INSERT INTO listings (id, platform, platform_id, kind, url, title, description, price, seller_id, "
                "content_hash, version, first_seen, last_seen, first_run_id, last_run_id, state, label, score, "
                "flagged, state_changed_at, reported_at, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?, ?, ?)", listings)
            conn.executemany("INSERT INTO listing_versions (listing_id, version, content_hash, title, description, "
                             "price, seen_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", versions)
            conn.executemany("INSERT INTO classifications (listing_id, version, model_version, label, score, flagged, "
                             "scores, explanation, classified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", classes)
            conn.executemany("INSERT OR IGNORE INTO listing_contacts (listing_id, contact_id) VALUES (?, ?)", links)
            conn.executemany("INSERT INTO audit_log (at, actor, action, listing_id, detail) VALUES (?, ?, ?, ?, ?)",
                             audit)
            conn.executemany("INSERT INTO reviews (listing_id, version, reviewer, decision, category, reason, "
                             "decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)", reviews)
            conn.executemany("INSERT INTO relists (listing_id, relisted_from, reason, linked_at) VALUES (?, ?, ?, ?)",
                             relists)
    conn.commit()
    db.close()
    return time.perf_counter() - t0


# -- measuring (each in a child process) ---------------------------------------------------------
def _median(fn, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_pages(path: str) -> dict:
    import re

    from store.db import open_db
    from review.queue import Review
    from review.users import Users
    from review.web import create_app
    from review.web.routes import _cursor_text

    db = open_db(path)
    if Users(db).get("bench") is None:
        Users(db).add("bench", "admin", "bench-password-long", actor="bench")
    review = Review(db)
    tail = review.queue("bench", before=(2, 0.0, "", ""), limit=PAGE + 1)
    after = _cursor_text(review.key(tail[0]))
    middle = db.execute("SELECT id, platform, label, seller_id FROM listings WHERE state = 'flagged' "
                        "ORDER BY rowid LIMIT 1 OFFSET (SELECT sum(n) / 3 FROM listing_counts "
                        "WHERE state = 'flagged')").fetchone()
    db.close()
    import socket
    import threading

    import requests
    import uvicorn

    from review.web.app import server_config

    sock = socket.socket()
    # Accepted sockets inherit it: without, the response's second write waits out the client's delayed
    # ACK (~40 ms on every request, the same at any size).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(create_app(path)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:                  # bounded: the server must come up
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("review server did not start")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = requests.Session()
    html = client.get(base + "/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post(base + "/login", data={"csrf_token": csrf, "name": "bench", "password": "bench-password-long"})
    pages = {"/queue first page": "/queue", "/queue last page": f"/queue?after={after}&page=2",
             "/queue platform+label": f"/queue?platform={middle[1]}&label={middle[2]}",
             "/listing": f"/listing?id={middle[0]}", "/dashboard": "/dashboard", "/audit": "/audit",
             "/audit actor": "/audit?actor=alice", "/seller": f"/seller?id={middle[3]}"}
    out = {}
    for name, url in pages.items():
        assert client.get(base + url).status_code == 200, url
        out[name] = _median(lambda url=url: client.get(base + url), 11)
    out["peak RSS MB (pages)"] = _rss_mb()
    server.should_exit = True
    thread.join(10)
    return out


PAGE = 50


def measure_steps(path: str) -> dict:
    from common.clock import ManualClock
    from common.config import Config
    from store.db import open_db
    from takedown.evidence import missing
    from takedown.recheck import due_listings
    from takedown.delivery import _drop_withdrawn
    from takedown.outbox import plan_reports
    from store.listings import Store

    db = open_db(path)
    clock = ManualClock("2026-12-01T00:00:00+00:00")
    config = Config({"reports": {"require_evidence": False}})
    out = {"recheck selection": _median(lambda: due_listings(db, config, clock)),
           "evidence selection (50)": _median(lambda: missing(db, limit=50)),
           "sweep stats": _median(lambda: Store(db).stats(), 3)}
    t = time.perf_counter()
    plan_reports(db, config, clock)
    out["report planning"] = (time.perf_counter() - t) * 1000
    ids = [r[0] for r in db.execute("SELECT id FROM reports WHERE state = 'pending' ORDER BY id LIMIT 20")]
    t = time.perf_counter()
    for report_id in ids:                     # the per-report query sending runs before each first attempt
        _drop_withdrawn(db, report_id)
    out["report drop-withdrawn (each)"] = (time.perf_counter() - t) * 1000 / max(1, len(ids))
    out["peak RSS MB (steps)"] = _rss_mb()
    return out


def measure_relist(path: str) -> dict:
    from common.clock import ManualClock
    from common.config import Config
    from store.db import open_db
    from takedown.relist import build_index, link_relists
    from store.listings import Store

    db = open_db(path)
    clock = ManualClock("2026-12-01T00:00:00+00:00")
    out = {}
    if not db.execute("SELECT 1 FROM relist_progress WHERE name = 'version_id'").fetchone():
        # Once per database: index every taken-down listing, and count the listings already stored as read
        # (as after earlier runs; a real first run reads every waiting listing once: ~1.7 ms each here).
        t = time.perf_counter()
        out["relist index built (listings)"] = build_index(db, Config())
        out["relist index build (one time)"] = (time.perf_counter() - t) * 1000
        with db.atomic():
            db.execute("INSERT OR REPLACE INTO relist_progress (name, value) SELECT 'version_id', max(id) "
                       "FROM listing_versions")
    top = db.execute("SELECT count(*) FROM listings").fetchone()[0]
    rng = random.Random(top)
    # 1,000 new listings through the store: a third harmful, some copying a taken-down listing's text.
    items = store_items(10_000_000 + top, NEW_LISTINGS, rng, "2026-12-01T00:00:00+00:00",
                        label_of=lambda i: "call_bomber" if i % 3 == 0 else "benign")
    origins = db.execute("SELECT title, description FROM listings WHERE state = 'removed' LIMIT 100").fetchall()
    for item, (title, description) in zip(items[::10], origins):
        item.title, item.description = title + " 新款", description
    Store(db).write_batch(items, run_id=99)
    rss_before = _rss_mb()
    t = time.perf_counter()
    linked = link_relists(db, Config(), clock)
    out["relist 1,000 new (ms)"] = (time.perf_counter() - t) * 1000
    out["relist linked"] = linked
    out["peak RSS MB (relist)"] = max(rss_before, _rss_mb())
    return out


def _child(kind: str, path: Path) -> dict:
    run = subprocess.run([sys.executable, __file__, "--measure", kind, str(path)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    if run.returncode:
        raise SystemExit(f"{kind} at {path} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


TARGETS = {"page": 150.0, "planning": 1000.0, "relist 1,000 new (ms)": 10_000.0, "peak RSS MB (relist)": 300.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--keep", default="/tmp/sweep-scale", help="where the databases are built and kept")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, path = args.measure
        print(json.dumps({"pages": measure_pages, "steps": measure_steps, "relist": measure_relist}[kind](path)))
        return
    folder = Path(args.keep)
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        path = folder / f"sweep-{n}.db"
        row: dict = {}
        if args.rebuild or not path.exists():
            row["build s"] = round(build(path, n), 1)
        row.update(_child("pages", path))
        row.update(_child("steps", path))
        row.update(_child("relist", path))
        row["file MB"] = round(path.stat().st_size / 2**20, 1)
        results[n] = row
        print(f"-- {n:,} listings (load average {os.getloadavg()[0]:.1f})", flush=True)
        for name, value in row.items():
            print(f"   {name:34} {value:10.1f}" if isinstance(value, float) else f"   {name:34} {value:>10}")
    sizes = sorted(results)
    if len(sizes) > 1:
        small, big = results[sizes[0]], results[sizes[-1]]
        print(f"-- growth {sizes[-1]:,}/{sizes[0]:,} (pages: target <= 3)")
        for name in big:
            if name in small and isinstance(big[name], float) and small[name]:
                print(f"   {name:34} {big[name] / small[name]:10.2f}")


if __name__ == "__main__":
    main()
