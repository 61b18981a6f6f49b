"""Crawl benchmark: bare Scrapy vs Sweep's full pipeline vs browser-rendered pages, on the sandbox.

    python bench/crawl.py            (or: make bench)

Runs each mode in its own process against one sandbox and prints pages/s, the full/bare
ratio and peak RSS. The bare spider downloads exactly the URLs the full crawl fetched over
plain HTTP (recorded during the first full run), with the same request concurrency, and
parses nothing. A whole crawl of the sandbox takes only a few seconds and this machine's
speed drifts by up to a third between runs, so full and bare runs alternate (ROUNDS, default
3) and the figures are medians; the ratio is the median of each round's full/bare.

Two baselines: bare Scrapy with its defaults (the target's baseline), and the same spider
given Sweep's process tuning — CONCURRENT_ITEMS (Scrapy starts that many asyncio tasks per
response; Sweep lowers it from 100 to 2) and the garbage-collector settings
(crawler/gc_tuning.py); that line shows what Sweep's own work costs once Scrapy's overhead is
tuned the same way in both.
Targets: full >= 0.8x bare pages/s; crawl process < 400 MB peak RSS (Chromium excluded).
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class UrlLog:
    """Bench-only extension: remember every page the full crawl fetched over plain HTTP."""

    def __init__(self, path):
        self.fh = open(path, "a", encoding="utf-8", buffering=1)   # one per spider: O_APPEND, whole lines

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals

        ext = cls(crawler.settings.get("BENCH_URL_LOG"))
        crawler.signals.connect(ext.seen, signal=signals.response_received)
        crawler.signals.connect(ext.close, signal=signals.engine_stopped)
        return ext

    def close(self):
        self.fh.close()

    def seen(self, response, request, spider):
        if not request.meta.get("playwright") and not response.url.endswith("robots.txt"):
            self.fh.write(json.dumps({"url": response.url, "slot": request.meta.get("download_slot")}) + "\n")


class CpuWindow:
    """Bench-only extension: CPU seconds this process spent from the first spider opening to the
    last one closing — a steadier measure than wall time on a machine whose speed drifts (both
    crawls keep one core ~98 % busy, so CPU per page is what limits their pages/s)."""

    open_spiders = 0
    start = None
    seconds = None

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals

        ext = cls()
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    @staticmethod
    def _cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def opened(self, spider):
        if CpuWindow.open_spiders == 0:
            CpuWindow.start = self._cpu()
        CpuWindow.open_spiders += 1

    def closed(self, spider):
        CpuWindow.open_spiders -= 1
        if CpuWindow.open_spiders == 0:
            CpuWindow.seconds = self._cpu() - CpuWindow.start


def window_cpu() -> float:
    from bench.crawl import CpuWindow as loaded     # Scrapy loaded the extension by name, not from __main__

    return loaded.seconds


def peak_rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def run_full(urls: dict, db: str, url_log: str | None, render: bool, only: list[str] | None = None) -> dict:
    from crawler import settings as project
    from crawler.profile import load_profiles
    from crawler.run import crawl, crawl_settings

    # AutoThrottle is politeness, not pipeline cost: off here as in the bare spider, so the ratio
    # measures what extraction, classification and storage cost (it is on in real crawls).
    # Every other extension (Spidermon, GC tuning) stays as configured; only progress lines go.
    overrides = {"LOG_LEVEL": "WARNING", "SWEEP_RENDER": render, "AUTOTHROTTLE_ENABLED": False,
                 "EXTENSIONS": {**project.EXTENSIONS, "crawler.progress.Progress": None, "bench.crawl.CpuWindow": 1}}
    if url_log:
        overrides["EXTENSIONS"]["bench.crawl.UrlLog"] = 0
        overrides["BENCH_URL_LOG"] = url_log
    settings = crawl_settings(db, None, urls, None, overrides)
    start = time.perf_counter()
    stats = crawl(load_profiles(names=only), settings)
    wall = time.perf_counter() - start
    pages = sum(s.get("response_received_count", 0) for s in stats.values())
    # Crawl time: from the first spider opening to the last closing (model loading and process
    # start-up happen before, and are reported separately as wall time).
    elapsed = (max(s["finish_time"] for s in stats.values()) - min(s["start_time"] for s in stats.values()))
    return {"pages": pages, "seconds": elapsed.total_seconds(), "wall_seconds": wall, "cpu_seconds": window_cpu(),
            "listings": sum(s.get("sweep/stored", 0) for s in stats.values()),
            "browser_pages": sum(s.get(f"sweep/{n}/browser_pages", 0) for n, s in stats.items()),
            "rss_mb": peak_rss_mb(), "children_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN)}


def run_bare(url_file: str, tuned: bool = False) -> dict:
    """Scrapy's defaults; tuned: given Sweep's CONCURRENT_ITEMS and garbage-collector settings."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    entries = [json.loads(line) for line in open(url_file, encoding="utf-8")]

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self):
            for e in entries:
                yield scrapy.Request(e["url"], meta={"download_slot": e["slot"]}, dont_filter=True,
                                     callback=self.parse)

        def parse(self, response):
            return None

    settings = {"LOG_LEVEL": "WARNING", "CONCURRENT_REQUESTS": 48, "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
                "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False, "COOKIES_ENABLED": False,
                "EXTENSIONS": {"bench.crawl.CpuWindow": 1}}
    if tuned:       # only then: importing Sweep's settings would grow the plain baseline's heap
        from crawler import settings as project

        settings.update({"CONCURRENT_ITEMS": project.CONCURRENT_ITEMS, "SWEEP_GC_FREEZE": project.SWEEP_GC_FREEZE,
                         "SWEEP_GC_THRESHOLD": project.SWEEP_GC_THRESHOLD})
        settings["EXTENSIONS"]["crawler.gc_tuning.GcTuning"] = 0
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(Bare)
    start = time.perf_counter()
    process.crawl(crawler)
    process.start()
    wall = time.perf_counter() - start
    elapsed = crawler.stats.get_value("finish_time") - crawler.stats.get_value("start_time")
    return {"pages": crawler.stats.get_value("response_received_count", 0), "seconds": elapsed.total_seconds(),
            "wall_seconds": wall, "cpu_seconds": window_cpu(), "rss_mb": peak_rss_mb()}


def run_browser(urls: dict, db: str, url_file: str) -> dict:
    """Only the pages that need the browser: Sweep's marketplace spider seeded with them."""
    from crawler.run import crawl_settings
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders.ecommerce import EcommerceSpider

    js_urls = [json.loads(line)["url"] for line in open(url_file, encoding="utf-8")]

    class RenderOnly(EcommerceSpider):
        async def start(self):
            for url in js_urls:
                yield self.browser_request(url)

    settings = crawl_settings(db, None, urls, None, {"LOG_LEVEL": "WARNING"})
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(RenderOnly)
    start = time.perf_counter()
    process.crawl(crawler, profile="marketplace")
    process.start()
    elapsed = time.perf_counter() - start
    return {"pages": crawler.stats.get_value("sweep/marketplace/browser_pages", 0), "seconds": elapsed,
            "rss_mb": peak_rss_mb(), "listings": crawler.stats.get_value("sweep/stored", 0)}


def child(mode: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, *args], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        sys.exit(f"{mode} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def rate(run: dict) -> float:
    return run["pages"] / run["seconds"]


def cpu_ms(run: dict) -> float:
    """Crawl-process CPU milliseconds per page."""
    return run["cpu_seconds"] * 1000 / run["pages"]


def main() -> None:
    import sqlite3

    from sandbox.process import SandboxProcess

    rounds = int(os.environ.get("ROUNDS", 3))
    work = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    url_log, js_log = work / "urls.jsonl", work / "js.jsonl"
    fulls, bares, tuned = [], [], []
    with SandboxProcess(rate_limit=0) as sb:
        urls = json.dumps(sb.urls)
        for n in range(rounds):
            fulls.append(child("full", urls, str(work / f"full{n}.db"), str(url_log) if n == 0 else ""))
            bares.append(child("bare", str(url_log), ""))
            tuned.append(child("bare", str(url_log), "tuned"))
        # The JS pages: the marketplace items whose description only a browser sees.
        con = sqlite3.connect(work / "full0.db")
        js = [r[0] for r in con.execute("SELECT url FROM listings WHERE platform = 'marketplace' "
                                        "AND description LIKE '描述加载中%'")]   # what plain HTTP saw of JS pages
        js_log.write_text("".join(json.dumps({"url": u}) + "\n" for u in js), encoding="utf-8")
        browser = child("browser", urls, str(work / "browser.db"), str(js_log))
    med = statistics.median
    ratio = med(rate(f) / rate(b) for f, b in zip(fulls, bares))
    ratio_tuned = med(rate(f) / rate(t) for f, t in zip(fulls, tuned))
    full, bare, bare_tuned = fulls[0], bares[0], tuned[0]
    print(f"{rounds} rounds, medians; pages/s per round in brackets")
    print(f"bare scrapy      : {bare['pages']:5d} pages, {med(map(rate, bares)):7.1f} pages/s "
          f"[{' '.join(f'{rate(b):.0f}' for b in bares)}], peak RSS {bare['rss_mb']:.0f} MB")
    print(f"bare, tuned      : {bare_tuned['pages']:5d} pages, {med(map(rate, tuned)):7.1f} pages/s "
          f"[{' '.join(f'{rate(b):.0f}' for b in tuned)}] (CONCURRENT_ITEMS and GC settings as in Sweep)")
    print(f"sweep full       : {full['pages']:5d} pages, {med(map(rate, fulls)):7.1f} pages/s "
          f"[{' '.join(f'{rate(f):.0f}' for f in fulls)}], {full['listings']} listings stored, peak RSS "
          f"{max(f['rss_mb'] for f in fulls):.0f} MB (+ classifier worker {full['children_rss_mb']:.0f} MB); "
          f"wall {med(f['wall_seconds'] for f in fulls):.1f}s incl. start-up and model load")
    print(f"browser-rendered : {browser['pages']:5d} pages in {browser['seconds']:6.2f}s = "
          f"{browser['pages'] / max(browser['seconds'], 1e-9):7.1f} pages/s, crawl process peak RSS "
          f"{browser['rss_mb']:.0f} MB (Chromium excluded)")
    print(f"crawl-process CPU: bare {med(map(cpu_ms, bares)):.2f} ms/page, tuned {med(map(cpu_ms, tuned)):.2f}, "
          f"full {med(map(cpu_ms, fulls)):.2f} (classification runs beside it, in its worker)")
    print(f"ratio full/bare  : {ratio:.2f}  (target >= 0.80; AutoThrottle off in both runs); by CPU per page: "
          f"{med(cpu_ms(b) / cpu_ms(f) for f, b in zip(fulls, bares)):.2f}")
    print(f"ratio full/tuned : {ratio_tuned:.2f}  (bare Scrapy given Sweep's CONCURRENT_ITEMS and GC settings)")
    print(f"full crawl RSS   : {max(f['rss_mb'] for f in fulls):.0f} MB  (target < 400 MB)")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        mode, args = sys.argv[2], sys.argv[3:]
        if mode == "full":
            result = run_full(json.loads(args[0]), args[1], args[2] or None, render=False)
        elif mode == "bare":
            result = run_bare(args[0], tuned=args[1] == "tuned")
        else:
            result = run_browser(json.loads(args[0]), args[1], args[2])
        print(json.dumps(result))
    else:
        main()
