"""Crawl health as Spidermon monitors, run for each platform when its spider closes.

Each platform is crawled by its own crawler, so every check here is per platform:

- ``finish_reason`` — the crawl finished rather than being cut short (Spidermon's own monitor);
- ``min_listings`` — at least the minimum number of listings was stored;
- ``item_validation`` — listings breaking the JSON schema (crawler/schemas/listing.json, checked
  by Spidermon's ItemValidationPipeline) or dropped as invalid stay within the allowance;
- ``error_ratio`` — failed requests / requests, each counted once however often it was retried
  (a platform refusing every request is 100 %, not 1 in 4);
- ``retry_ratio`` — retries / downloads (a platform throttling or blocking us);
- ``spider_errors`` — extraction code that raised on a page (Scrapy's ``spider_exceptions``):
  every such page lost what it held, silently to every other check while a few listings still
  come through;
- ``empty_descriptions`` — listings stored with no description stay within a share of all
  stored (an empty description is valid — many sites have none — but a profile whose
  description selector stopped matching makes every one empty);
- ``unrendered`` — pages that need the browser (``listing.browser.when``) but were stored without
  it (rendering off or failing) stay within a share: their placeholder ("描述加载中…") is what the
  classifier and the reviewer would see;
- ``empty_seeds`` — for each seed kind (``search``, ``pages``), at least one of its first list
  pages had a listing link. One keyword that finds nothing is normal; *every* search coming
  back empty means the platform changed its markup and the profile broke.

Thresholds: the ``SWEEP_MONITOR_*`` settings (crawler/settings.py; ``[monitors]`` in sweep.toml
sets them for every platform), overridden per platform by the profile's ``monitors:`` block.

Results go into the crawl stats as ``sweep/monitors`` (a list of {monitor, status, message}),
from where ops/cycle.py stores them with the run and turns failures into the run's failures.

A distributed worker (`sweep worker`) runs ``WorkerMonitorSuite``: the checks its own stats can
answer (finish_reason, error_ratio, retry_ratio, spider_errors, unrendered). Listings are counted and
validated by `sweep ingest`, and seeds are shared between workers, so min_listings,
item_validation and empty_seeds cannot be judged by one worker.

Settings read: SWEEP_MONITOR_MIN_LISTINGS, SWEEP_MONITOR_MAX_VALIDATION_ERRORS,
SWEEP_MONITOR_MAX_ERROR_RATIO, SWEEP_MONITOR_MAX_RETRY_RATIO, SWEEP_MONITOR_MAX_SPIDER_ERRORS,
SWEEP_MONITOR_MAX_EMPTY_DESCRIPTION_RATIO, SWEEP_MONITOR_MAX_UNRENDERED_RATIO, SPIDERMON_EXPECTED_FINISH_REASONS.
"""
from __future__ import annotations

import warnings

from scrapy.exceptions import ScrapyDeprecationWarning
from spidermon import MonitorSuite, monitors
from spidermon.contrib.scrapy.monitors.base import BaseScrapyMonitor
from spidermon.contrib.scrapy.monitors.monitors import FinishReasonMonitor

# Spidermon 1.27 logs its results through Spider.log(), deprecated in Scrapy 2.19: one warning per crawl.
warnings.filterwarnings("ignore", message=r"Spider\.log\(\) is deprecated", category=ScrapyDeprecationWarning)
VALIDATION_PREFIX = "spidermon/validation/fields/errors/"
SEED_KINDS = ("search", "pages")
# profile `monitors:` key -> (setting, type)
THRESHOLDS = {
    "min_listings": ("SWEEP_MONITOR_MIN_LISTINGS", int),
    "max_validation_errors": ("SWEEP_MONITOR_MAX_VALIDATION_ERRORS", int),
    "max_error_ratio": ("SWEEP_MONITOR_MAX_ERROR_RATIO", float),
    "max_retry_ratio": ("SWEEP_MONITOR_MAX_RETRY_RATIO", float),
    "max_spider_errors": ("SWEEP_MONITOR_MAX_SPIDER_ERRORS", int),
    "max_empty_description_ratio": ("SWEEP_MONITOR_MAX_EMPTY_DESCRIPTION_RATIO", float),
    "max_unrendered_ratio": ("SWEEP_MONITOR_MAX_UNRENDERED_RATIO", float),
}


class PlatformMonitor(BaseScrapyMonitor):
    """A check of one platform's crawl; ``summary`` says what was measured, pass or fail."""

    summary = ""

    @property
    def profile(self):
        return self.data.spider.profile

    @property
    def platform(self) -> str:
        return self.profile.name

    def stat(self, name: str, default=0):
        return self.stats.get(name, default)

    def threshold(self, key: str):
        setting, kind = THRESHOLDS[key]
        own = (getattr(self.profile, "monitors", None) or {}).get(key)
        if own is not None:
            return kind(own)
        return kind(self.crawler.settings.get(setting))

    def requests(self) -> int:
        """Downloads, retries included."""
        return self.stat("downloader/request_count")

    def distinct_requests(self) -> int:
        """Requests, each counted once however often it was retried."""
        return self.requests() - self.stat("retry/count")


@monitors.name("finish_reason")
class FinishReason(FinishReasonMonitor):
    """The crawl finished instead of being cut short."""


@monitors.name("min_listings")
class MinListings(PlatformMonitor):
    """The platform stored at least its minimum number of listings."""

    def test_min_listings(self):
        stored, minimum = self.stat("sweep/stored"), self.threshold("min_listings")
        self.summary = f"{stored} listings stored (minimum {minimum}) from {self.stat('response_received_count')} pages"
        self.assertGreaterEqual(stored, minimum, msg=f"only {self.summary} — is the platform reachable and its "
                                                     f"profile current?")


@monitors.name("item_validation")
class ItemValidation(PlatformMonitor):
    """Listings that break the schema, or are dropped as invalid, stay within the allowance."""

    def fields_in_error(self) -> dict[str, int]:
        fields: dict[str, int] = {}
        for key, value in self.stats.items():
            if key.startswith(VALIDATION_PREFIX) and key.count("/") == 5:
                error, field = key[len(VALIDATION_PREFIX):].split("/", 1)
                fields[f"{field} ({error.replace('_', ' ')})"] = value
        return fields

    def test_item_validation(self):
        errors = self.stat("spidermon/validation/fields/errors") + self.stat("sweep/items_invalid")
        allowed = self.threshold("max_validation_errors")
        checked = self.stat("spidermon/validation/items")
        worst = sorted(self.fields_in_error().items(), key=lambda kv: -kv[1])[:3]
        detail = "; ".join(f"{field}: {n}" for field, n in worst)
        self.summary = (f"{errors} validation errors in {checked} listings (allowed {allowed})"
                        + (f" — {detail}" if detail else "")
                        + (f"; {self.stat('sweep/items_invalid')} dropped as invalid"
                           if self.stat("sweep/items_invalid") else ""))
        self.assertLessEqual(errors, allowed, msg=f"{self.summary} — do the profile's field selectors still match?")


@monitors.name("error_ratio")
class ErrorRatio(PlatformMonitor):
    """Failed requests stay a small share of all requests."""

    def test_error_ratio(self):
        errors, requests = self.stat(f"sweep/{self.platform}/request_errors"), self.distinct_requests()
        ratio, allowed = (errors / requests if requests else 0.0), self.threshold("max_error_ratio")
        self.summary = f"{errors} of {requests} requests failed ({ratio:.0%}, allowed {allowed:.0%})"
        self.assertLessEqual(ratio, allowed, msg=self.summary)


@monitors.name("retry_ratio")
class RetryRatio(PlatformMonitor):
    """Retries (429/503 backoff, 5xx, timeouts) stay a small share of all requests."""

    def test_retry_ratio(self):
        retries, requests = self.stat("retry/count"), self.requests()
        ratio, allowed = (retries / requests if requests else 0.0), self.threshold("max_retry_ratio")
        self.summary = f"{retries} retries for {requests} requests ({ratio:.0%}, allowed {allowed:.0%})"
        self.assertLessEqual(ratio, allowed, msg=f"{self.summary} — is the platform throttling or blocking us?")


@monitors.name("spider_errors")
class SpiderErrors(PlatformMonitor):
    """Pages whose extraction raised stay within the allowance (default: none)."""

    def test_spider_errors(self):
        count, allowed = self.stat("spider_exceptions/count"), self.threshold("max_spider_errors")
        kinds = sorted(((k.split("/", 1)[1], n) for k, n in self.stats.items()
                        if k.startswith("spider_exceptions/") and k != "spider_exceptions/count"),
                       key=lambda kv: -kv[1])
        detail = ", ".join(f"{name} ×{n}" for name, n in kinds[:3])
        self.summary = f"{count} pages raised in extraction (allowed {allowed})" + (f": {detail}" if detail else "")
        self.assertLessEqual(count, allowed, msg=f"{self.summary} — a profile selector or the spider code broke "
                                                 f"on these pages; the log has each traceback")


@monitors.name("empty_descriptions")
class EmptyDescriptions(PlatformMonitor):
    """Listings stored without a description stay within their allowed share."""

    def test_empty_descriptions(self):
        empty, stored = self.stat(f"sweep/{self.platform}/empty_descriptions"), self.stat("sweep/stored")
        ratio, allowed = (empty / stored if stored else 0.0), self.threshold("max_empty_description_ratio")
        self.summary = f"{empty} of {stored} listings have no description ({ratio:.0%}, allowed {allowed:.0%})"
        self.assertLessEqual(ratio, allowed, msg=f"{self.summary} — does listing.fields.description still match?")


@monitors.name("unrendered")
class Unrendered(PlatformMonitor):
    """Pages that need the browser were stored rendered, but for an allowed share."""

    def test_unrendered(self):
        unrendered, needing = (self.stat(f"sweep/{self.platform}/unrendered"),
                               self.stat(f"sweep/{self.platform}/needs_browser"))
        ratio, allowed = (unrendered / needing if needing else 0.0), self.threshold("max_unrendered_ratio")
        self.summary = (f"{unrendered} of {needing} pages that need the browser were stored without it "
                        f"({ratio:.0%}, allowed {allowed:.0%})")
        self.assertLessEqual(ratio, allowed, msg=f"{self.summary} — is rendering off (SWEEP_RENDER) or is Chromium "
                                                 f"failing? Their placeholders were stored as descriptions")


@monitors.name("empty_seeds")
class EmptySeeds(PlatformMonitor):
    """Every seed kind (searches, category/board pages) found listings on at least one of its pages."""

    def test_empty_seeds(self):
        if self.stat("frontier/resumed"):       # `--resume`: the interrupted run fetched (and checked) the seeds
            self.summary = "resumed crawl: seeds fetched before the interruption"
            return
        broken, seen = [], []
        for kind in SEED_KINDS:
            pages = "category/board pages" if kind == "pages" else f"{kind} pages"     # not "pages pages"
            seeds = self.stat(f"sweep/{self.platform}/seeds/{kind}")
            with_links = self.stat(f"sweep/{self.platform}/seeds_with_links/{kind}")
            if seeds:
                seen.append(f"{with_links} of {seeds} {pages} had listings")
                if not with_links:
                    broken.append(f"all {seeds} {pages} came back without a listing link")
        self.summary = "; ".join(seen) or "no seeds"
        self.assertFalse(broken, msg="; ".join(broken) + f" — has the platform changed its markup? (check list.links "
                                                         f"in {self.profile.path or 'the profile'})")


class PlatformMonitorSuite(MonitorSuite):
    """SPIDERMON_SPIDER_CLOSE_MONITORS: every check above; results into the stats as ``sweep/monitors``."""

    monitors = [FinishReason, MinListings, ItemValidation, ErrorRatio, RetryRatio, SpiderErrors, EmptyDescriptions,
                Unrendered, EmptySeeds]

    def on_monitors_finished(self, result):
        rows = []
        for item in result.monitor_results:
            monitor = item.item
            if item.status == "FAIL":
                message = item.reason
            elif item.status == "ERROR":
                lines = (item.error or "").strip().splitlines()
                message = f"the check itself failed: {lines[-1] if lines else 'unknown error'}"
            else:
                message = getattr(monitor, "summary", "") or item.reason or ""
            rows.append({"monitor": monitor.monitor_name, "status": item.status, "message": message})
        if self._crawler is not None:
            self._crawler.stats.set_value("sweep/monitors", rows)


class WorkerMonitorSuite(PlatformMonitorSuite):
    """`sweep worker`'s SPIDERMON_SPIDER_CLOSE_MONITORS: the checks a single worker's stats can answer."""

    monitors = [FinishReason, ErrorRatio, RetryRatio, SpiderErrors, Unrendered]


def failures(rows: list[dict]) -> list[dict]:
    """The failed (or broken) checks among stored monitor rows."""
    return [r for r in rows if r["status"] in ("FAIL", "ERROR")]
