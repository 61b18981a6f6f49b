"""The search-visibility audit: each keyword and its evasive variants through each platform's search.

For every profile with ``seeds.search``: each query (variants.py) fills the search template, the
first ``max_pages`` result pages are read with the profile's ``list.links``/``list.next``, each
result listing is fetched once per audit (fetch.py's rules) and its title and description
classified. One row per query in ``search_audit_queries``: results, harmful results, harmful on
the first page. A query whose page could not be fetched keeps its error and counts as not run.
"""
from __future__ import annotations

import logging
from urllib.parse import quote, urljoin

from common.clock import SYSTEM
from crawler.extract import Page
from crawler.profile import read_keywords

from visibility.fetch import PoliteFetcher, Refused
from visibility.variants import variants

log = logging.getLogger(__name__)


def _now() -> str:
    return SYSTEM.now().isoformat(timespec="seconds")


def _field(page: Page, spec) -> str:
    return " ".join(v.strip() for v in page.values(spec) if v and v.strip()) if spec else ""


class PlatformAudit:
    def __init__(self, profile, classifier, fetcher: PoliteFetcher | None = None, max_pages: int = 2):
        self.profile, self.classifier, self.max_pages = profile, classifier, max_pages
        self.fetcher = fetcher or PoliteFetcher(profile)
        self.verdicts: dict[str, bool] = {}            # listing URL → harmful

    def _results(self, url: str) -> list[list[str]]:
        """Listing URLs per result page, first page first."""
        pages = []
        for _ in range(self.max_pages):
            resp = self.fetcher.get(url)
            if resp.status_code != 200:
                raise Refused(f"{url}: HTTP {resp.status_code}")
            page = Page(resp.url, resp.text, self.profile, resp.headers.get("Content-Type", ""))
            links = [urljoin(resp.url, link) for link in page.values(self.profile.list["links"])]
            pages.append([link for link in links if self.profile.listing_url_re.search(link)])
            nxt = page.values(self.profile.list.get("next")) if self.profile.list.get("next") else []
            if not nxt or not links:
                break
            url = urljoin(resp.url, nxt[0])
        return pages

    def _judge(self, urls: list[str]) -> None:
        todo, records = [u for u in dict.fromkeys(urls) if u not in self.verdicts], []
        fields = self.profile.listing.get("fields", {})
        for url in todo:
            try:
                resp = self.fetcher.get(url)
            except (Refused, OSError) as exc:
                log.warning("%s: %s", self.profile.name, exc)
                self.verdicts[url] = False
                continue
            page = Page(resp.url, resp.text, self.profile, resp.headers.get("Content-Type", ""))
            records.append((url, {"title": _field(page, fields.get("title")),
                                  "description": _field(page, fields.get("description")),
                                  "kind": self.profile.kind}))
        for (url, _), result in zip(records, self.classifier.predict([r for _, r in records], explain_top=0)):
            self.verdicts[url] = bool(result["flagged"])

    def query(self, keyword: str, kind: str, text: str) -> dict:
        row = {"platform": self.profile.name, "keyword": keyword, "variant": kind, "query": text,
               "results": 0, "harmful": 0, "harmful_first_page": 0, "error": None}
        template = self.profile.seeds["search"][0]
        url = self.profile.url(template.replace("{keyword}", quote(text, safe="")))
        try:
            pages = self._results(url)
        except (Refused, OSError) as exc:
            row["error"] = str(exc)[:300]
            return row
        urls = [u for p in pages for u in p]
        self._judge(urls)
        row["results"] = len(urls)
        row["harmful"] = sum(self.verdicts.get(u, False) for u in urls)
        row["harmful_first_page"] = sum(self.verdicts.get(u, False) for u in (pages[0] if pages else []))
        return row


def run_audit(db, profiles, classifier, keywords: list[str] | None = None, per_kind: int = 2, max_pages: int = 2,
              contact: str | None = None, progress=lambda msg: None) -> int:
    """Audit every profile with a search seed; returns the audit's id."""
    keywords = keywords or read_keywords()
    queries = [(k, kind, q) for k in keywords for kind, q in variants(k, per_kind)]
    with db.conn:
        audit_id = db["search_audits"].insert({"started_at": _now(), "platforms": ",".join(
            p.name for p in profiles if p.seeds.get("search")), "queries": len(queries)}).last_pk
    for profile in profiles:
        if not profile.seeds.get("search"):
            continue
        auditor = PlatformAudit(profile, classifier, PoliteFetcher(profile, contact), max_pages)
        rows = []
        for keyword, kind, text in queries:
            rows.append({**auditor.query(keyword, kind, text), "audit_id": audit_id})
        with db.conn:
            db["search_audit_queries"].insert_all(rows)
        visible = sum(1 for r in rows if r["harmful"])
        progress(f"{profile.name}: {len(rows)} queries, {visible} still show harmful listings "
                 f"({auditor.fetcher.requests} requests)")
    with db.conn:
        db["search_audits"].update(audit_id, {"finished_at": _now()})
    return audit_id
