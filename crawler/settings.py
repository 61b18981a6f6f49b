"""All of Sweep's crawl defaults and wiring, in one place (Scrapy reads this via scrapy.cfg).

Per-platform politeness comes from each site profile (see ProfileSpider.from_crawler);
the CLI overrides SWEEP_* settings per run.
"""
from classifier.artifact import DEFAULT_MODEL

BOT_NAME = "sweep"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness: robots.txt is always obeyed; say who we are and how to reach us.
ROBOTSTXT_OBEY = True
USER_AGENT = "Sweep/0.1 (harassment-tool takedown crawler; +https://example.org/sweep; abuse-team@example.org)"
CONCURRENT_REQUESTS = 48
CONCURRENT_REQUESTS_PER_DOMAIN = 16
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
COOKIES_ENABLED = False
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
    "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
}
PLAYWRIGHT_MAX_CONTEXTS = 1
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 15000
PLAYWRIGHT_ABORT_REQUEST = "crawler.browser.abort_request"

ITEM_PIPELINES = {
    "crawler.pipelines.validate.ValidatePipeline": 100,
    "crawler.pipelines.normalise.NormalisePipeline": 200,
    "crawler.pipelines.dedupe.DedupePipeline": 300,
    "crawler.pipelines.classify.ClassifyPipeline": 400,
    "crawler.pipelines.store.StorePipeline": 500,
}

# Sweep's own settings.
SWEEP_DB = "sweep.db"
SWEEP_MODEL = str(DEFAULT_MODEL)
SWEEP_RUN_ID = None               # set by `sweep crawl/run`; a bare `scrapy crawl` opens its own run
SWEEP_PROFILES_DIR = None         # default: crawler/profiles
SWEEP_BASE_URLS = {}              # {profile name: base url} — e.g. the sandbox on other ports
SWEEP_RENDER = True               # False: never start the browser (pages needing it keep what plain HTTP gives)
SWEEP_CLASSIFY_BATCH = 64
SWEEP_CLASSIFY_WORKERS = 1        # processes beside the crawl for classification; 0 = in the crawl process
SWEEP_STORE_BATCH = 200
EXTENSIONS = {"crawler.progress.Progress": 500}
SWEEP_PROGRESS_INTERVAL = 0      # the CLI turns it on
