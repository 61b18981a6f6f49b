"""All of Sweep's crawl defaults and wiring, in one place (Scrapy reads this via scrapy.cfg).

Per-platform politeness comes from each site profile (see ProfileSpider.from_crawler);
the CLI overrides SWEEP_* settings per run.
"""
from pathlib import Path

from classifier.artifact import DEFAULT_MODEL
from crawler import pipelines

BOT_NAME = "sweep"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness: robots.txt is always obeyed (a profile cannot change it); say who we are and how to
# reach us — ops/cycle.py rebuilds USER_AGENT with `contact` from [crawl] in sweep.toml.
ROBOTSTXT_OBEY = True
SWEEP_CONTACT = "abuse-team@example.org"


def user_agent(contact: str = SWEEP_CONTACT) -> str:
    return f"Sweep/0.1 (harassment-tool takedown crawler; +https://example.org/sweep; {contact})"


USER_AGENT = user_agent()
# AutoThrottle adapts each platform's delay to its latency; the profile's politeness sets the
# target concurrency (= its slot concurrency) and the minimum delay (ProfileSpider.apply_profile_settings).
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
CONCURRENT_REQUESTS = 48
# A platform's concurrency is its profile's download slot (ProfileSpider.apply_profile_settings);
# this one covers only requests outside those slots (robots.txt) — and sizes Scrapy's keep-alive
# pool, which drops a connection whenever more than this many are idle at once. At 16 (= the
# profile slots) a crawl opened a new TCP connection for one page in four; at 32, one in sixteen.
CONCURRENT_REQUESTS_PER_DOMAIN = 32
# Scrapy starts this many asyncio tasks per response to process its output; our pages yield
# one listing or a page of links, so 100 (the default) only costs CPU.
CONCURRENT_ITEMS = 2
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
# Faults and bad input (crawler/middlewares/bad_content.py, charset.py, redirect_loop.py, browser_retry.py):
# a body shorter than its Content-Length reaches BadContentMiddleware (retried, then dropped or, for a
# list page, kept) instead of failing as an anonymous data-loss error.
DOWNLOAD_FAIL_ON_DATALOSS = False
SWEEP_TRUNCATED_RETRY_TIMES = 1
SWEEP_CHARSET_MAX_BAD = 0.02      # share of non-ASCII characters decoding to U+FFFD before a charset counts as wrong
SWEEP_BROWSER_RETRY_TIMES = 2     # fresh-page retries of a rendered page that timed out, crashed or hung
SWEEP_BROWSER_GRACE = 5.0         # seconds past its goto + wait timeouts before a tab counts as hung and is closed
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 504, 522, 524, 408]     # 429/503: RetryAfterMiddleware backs off first
SWEEP_RETRY_AFTER_CODES = [429, 503]
SWEEP_RETRY_AFTER_TIMES = 5
SWEEP_RETRY_AFTER_MAX = 120       # seconds; a platform asking for longer is not retried in this crawl
SWEEP_BACKOFF_BASE = 1.0          # without Retry-After: 1, 2, 4 … seconds
SWEEP_BACKOFF_MAX = 60.0
SWEEP_BACKOFF_MIN_DELAY = 0.1     # after a 429/503 the platform's delay stays >= this (doubling, decaying x0.98)
SWEEP_BACKOFF_DECAY = 0.98
SWEEP_ALLOWLIST_ENABLED = True    # off only for tests of the middleware itself
DOWNLOADER_MIDDLEWARES = {
    # Replaces Scrapy's host-name-only offsite filter: profile hosts, no private/link-local addresses.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.offsite.AllowListMiddleware": 50,
    "crawler.middlewares.retry_after.RetryAfterMiddleware": 540,
    "crawler.middlewares.browser_retry.BrowserRetryMiddleware": 560,
    "crawler.middlewares.charset.CharsetMiddleware": 575,          # after bad_content: never decodes binary
    "crawler.middlewares.bad_content.BadContentMiddleware": 585,   # below 590: sees decompressed bodies
    "crawler.middlewares.redirect_loop.RedirectLoopMiddleware": 610,   # above 600: sees the 3xx first
}
COOKIES_ENABLED = False
STATS_CLASS = "crawler.stats.StatsCollector"     # Scrapy's, without 2.19's per-access deprecation shim
# No Referer header: platforms need not learn which search led us to a listing. The middleware stays
# on (the redirect middlewares warn at every crawl's start without it) with a policy that sends none.
REFERER_ENABLED = True
REFERRER_POLICY = "no-referrer"
# `scrapy crawl -O out.json` writes Chinese as UTF-8, not \u escapes.
FEED_EXPORT_ENCODING = "utf-8"
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"

# Browser rendering only for pages a profile marks (meta "playwright": True); Debian's Chromium.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": "/usr/bin/chromium",
    "headless": True,
    # No --no-sandbox: the spider adds the sandbox decision (outbound/chromium.py) to these options.
    "args": ["--headless", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
             # A runaway script crashes its tab in ~1.5 s instead of eating ~4 GB over ~25 s first.
             "--js-flags=--max-old-space-size=512"],
}
PLAYWRIGHT_MAX_CONTEXTS = 1
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 15000
PLAYWRIGHT_ABORT_REQUEST = "crawler.browser.abort_request"
SWEEP_BROWSER_USER = "nobody"     # run as root: Chromium runs as this user, so its sandbox works

ITEM_PIPELINES = dict(pipelines.STAGES)       # crawler/pipelines/__init__.py: the one list, shared with `sweep ingest`

# Sweep's own settings.
SWEEP_DB = "sweep.db"
SWEEP_MODEL = str(DEFAULT_MODEL)
SWEEP_RUN_ID = None               # set by `sweep crawl/run`; a bare `scrapy crawl` opens its own run
SWEEP_CLOCK_OFFSET = 0.0          # seconds the crawl's clock reads ahead of real time (`--now`; common/clock.py)
SWEEP_PROFILES_DIR = None         # default: crawler/profiles
SWEEP_BASE_URLS = {}              # {profile name: base url} — e.g. the sandbox on other ports
SWEEP_RENDER = True               # False: never start the browser (pages needing it keep what plain HTTP gives)
SWEEP_CLASSIFY_BATCH = 64
SWEEP_CLASSIFY_WORKERS = 1        # processes beside the crawl for classification; 0 = in the crawl process
SWEEP_STORE_BATCH = 200
SWEEP_STORE_BUSY_TIMEOUT = 10.0   # seconds one write waits for another process's lock on the database
SWEEP_STORE_RETRIES = 5           # failed (locked) writes retried, with growing pauses, before the crawl stops

# Durable frontier (crawler/scheduler/): a crawl killed at any point resumes with `--resume`.
SCHEDULER = "crawler.scheduler.durable.DurableScheduler"
SWEEP_FRONTIER = None             # default: beside SWEEP_DB (sweep.db → sweep.db-frontier)
SWEEP_RESUME = False              # True: continue what an interrupted crawl left in the frontier
SWEEP_FRONTIER_COMMIT_DELAY = 0.05   # seconds: frontier writes are committed in batches (scheduler/durable.py)
SWEEP_FRONTIER_COMMIT_WRITES = 500   # ... or after this many writes, whichever comes first
SWEEP_FRONTIER_MEMORY = 10000        # request objects also kept in memory (the rest are read back from disk)

# Distributed crawling (crawler/distributed/, `sweep worker` / `sweep ingest`): scrapy-redis over
# one Redis. The worker-only wiring (scheduler, pipelines) is crawler/distributed/settings.py.
REDIS_URL = "redis://127.0.0.1:6379/0"
SWEEP_REDIS_PREFIX = "sweep"      # every key Sweep uses starts with "<prefix>:"
SWEEP_WORKER_TIMEOUT = 30.0       # seconds without a heartbeat before a worker counts as dead
EXTENSIONS = {"crawler.gc_tuning.GcTuning": 0, "crawler.progress.Progress": 500,
              "spidermon.contrib.scrapy.extensions.Spidermon": 510}
SWEEP_PROGRESS_INTERVAL = 0      # the CLI turns it on
SWEEP_LOG_TRACEBACKS = True      # False (the CLI without -v): one line per problem (crawler/quiet_log.py)
# Garbage collection (crawler/gc_tuning.py): the heap built before spiders open is frozen, and the
# young generation collected every 50,000 net allocations instead of 700, while spiders run.
SWEEP_GC_FREEZE = True
SWEEP_GC_THRESHOLD = 50000

# Crawl health (crawler/monitors.py): Spidermon runs the platform suite when each spider closes.
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ["crawler.monitors.PlatformMonitorSuite"]
SPIDERMON_VALIDATION_SCHEMAS = [str(Path(__file__).parent / "schemas" / "listing.json")]
SPIDERMON_EXPECTED_FINISH_REASONS = ["finished"]
SWEEP_MONITOR_MIN_LISTINGS = 1            # per platform; a profile's `monitors:` block overrides these
SWEEP_MONITOR_MAX_VALIDATION_ERRORS = 0
SWEEP_MONITOR_MAX_ERROR_RATIO = 0.1
SWEEP_MONITOR_MAX_RETRY_RATIO = 0.25
SWEEP_MONITOR_MAX_SPIDER_ERRORS = 0         # pages whose extraction raised (spider_exceptions/count)
SWEEP_MONITOR_MAX_EMPTY_DESCRIPTION_RATIO = 0.5   # listings stored with an empty description / stored
SWEEP_MONITOR_MAX_UNRENDERED_RATIO = 0.1    # browser pages stored without the browser / browser pages
