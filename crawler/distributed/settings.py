"""What a `sweep worker` changes in crawler/settings.py (applied over it by ``worker_settings``).

A worker fetches and extracts; listings leave it validated and normalised, through Redis, for
`sweep ingest` — the one process that dedupes, classifies and writes SQLite. So a worker has no
database: no dedupe, classify or store stage, and only the Spidermon checks its own stats can
answer (crawler/monitors.py WorkerMonitorSuite); listing counts and validation live in ingest.
"""
from __future__ import annotations

from ..pipelines import worker_stages

WORKER_SETTINGS = {
    "SCHEDULER": "crawler.distributed.scheduler.ReliableScheduler",
    # the first stages of the crawl's one list (crawler/pipelines/__init__.py), then Redis
    "ITEM_PIPELINES": {**worker_stages(), "crawler.distributed.pipeline.RedisItemPipeline": 900},
    "SPIDERMON_SPIDER_CLOSE_MONITORS": ["crawler.monitors.WorkerMonitorSuite"],
    "SWEEP_DB": None,
}


def worker_settings(redis_url: str | None = None, base_urls: dict | None = None, profiles_dir=None,
                    overrides: dict | None = None):
    """Project settings + the worker's: what `sweep worker` crawls with."""
    from ..run import crawl_settings

    settings = crawl_settings("", None, base_urls, profiles_dir, {**WORKER_SETTINGS, **(overrides or {})})
    if redis_url:
        settings.set("REDIS_URL", redis_url, priority="cmdline")
    return settings
