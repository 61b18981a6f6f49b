"""Plain fetches for the audit under the crawler's rules: every URL and redirect hop checked with
``crawler.middlewares.offsite.check_url`` (allowed hosts, public addresses, loopback only where the
profile allows it), robots.txt obeyed, the profile's ``download_delay`` kept between requests,
and Sweep's User-Agent."""
from __future__ import annotations

import time
import urllib.robotparser
from urllib.parse import urljoin, urlsplit

import requests

from crawler.middlewares.offsite import check_url
from crawler.settings import user_agent


class Refused(Exception):
    pass


class PoliteFetcher:
    def __init__(self, profile, contact: str | None = None, timeout: float = 20.0, max_redirects: int = 5,
                 max_bytes: int = 8_000_000):
        self.profile, self.timeout, self.max_redirects, self.max_bytes = profile, timeout, max_redirects, max_bytes
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent(contact) if contact else user_agent()
        self.delay = float(profile.politeness.get("download_delay", 1.0) or 0)
        self._last = float("-inf")
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self.requests = 0

    def _wait(self) -> None:
        gap = self._last + self.delay - time.monotonic()
        if gap > 0:
            time.sleep(gap)            # the platform's politeness delay, not a stand-in for a condition
        self._last = time.monotonic()

    def _raw(self, url: str) -> requests.Response:
        for _ in range(self.max_redirects + 1):
            refusal = check_url(url, self.profile)
            if refusal:
                raise Refused(f"{url}: {refusal}")
            self._wait()
            self.requests += 1
            resp = self.session.get(url, timeout=self.timeout, allow_redirects=False, stream=True)
            body = resp.raw.read(self.max_bytes + 1, decode_content=True)
            resp._content = body[:self.max_bytes]
            if resp.is_redirect and resp.headers.get("Location"):
                url = urljoin(url, resp.headers["Location"])
                continue
            return resp
        raise Refused(f"{url}: more than {self.max_redirects} redirects")

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self._robots:
            parser = urllib.robotparser.RobotFileParser()
            try:
                resp = self._raw(root + "/robots.txt")
                parser.parse(resp.text.splitlines() if resp.status_code == 200 else [])
            except (requests.RequestException, Refused):
                parser.parse([])
            self._robots[root] = parser
        return self._robots[root].can_fetch(self.session.headers["User-Agent"], url)

    def get(self, url: str) -> requests.Response:
        if not self.allowed(url):
            raise Refused(f"{url}: disallowed by robots.txt")
        return self._raw(url)
