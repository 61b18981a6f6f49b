"""Run spiders for a set of profiles in this process and hand back each platform's stats."""
from __future__ import annotations

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from .profile import Profile
from .spiders import SPIDERS


def crawl_settings(db_path: str, run_id: int | None = None, base_urls: dict | None = None,
                   profiles_dir: str | None = None, overrides: dict | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("SWEEP_DB", str(db_path), priority="cmdline")
    settings.set("SWEEP_RUN_ID", run_id, priority="cmdline")
    settings.set("SWEEP_BASE_URLS", base_urls or {}, priority="cmdline")
    if profiles_dir:
        settings.set("SWEEP_PROFILES_DIR", str(profiles_dir), priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def crawl(profiles: list[Profile], settings: Settings, keywords: str | None = None) -> dict[str, dict]:
    """Crawl every profile concurrently (one spider each); returns {profile name: scrapy stats}."""
    process = CrawlerProcess(settings)
    crawlers = []
    for profile in profiles:
        crawler = process.create_crawler(SPIDERS[profile.kind])
        crawlers.append((profile.name, crawler))
        process.crawl(crawler, profile=profile.name, keywords=keywords)
    if not settings.getbool("SWEEP_LOG_TRACEBACKS"):
        from scrapy.utils.log import get_scrapy_root_handler

        from .quiet_log import install

        install(get_scrapy_root_handler())       # the one each crawler above (re)installed
    process.start()
    return {name: dict(crawler.stats.get_stats()) for name, crawler in crawlers}
