"""XARF v4 reports for regulators and partners, built and validated with the ``xarf`` package.

One listing per report (a XARF content report names one ``url``): category ``content``,
type ``fraud`` with ``fraud_type: other`` — the Anti-Telecom and Online Fraud Law is what
these tools break — the screenshot and the WACZ as evidence items (base64, with the
package's SHA-256 hashes), and the law in ``description`` and ``tags``. ``report_id`` is a
UUID derived from the idempotency key and ``timestamp`` is the capture time, so re-exporting
the same report yields the same document. Written once to ``<exports>/xarf/<key>.json``.

The recommended fields are filled, so the document passes the package's strict mode:
``domain`` (the listing's host, or for a host that is an address the platform's own domain:
``[platforms.<name>] domain``, else its abuse address's), ``source_port`` (the URL's),
``confidence`` 1.0 (a human reviewer confirmed it), ``claimed_entity`` (the seller as the listing
names them), ``target_brand`` ``none`` (these tools impersonate no brand) and ``payment_methods``
``other`` (paid through the platform or a private contact). xarf 1.0.0 declares ``confidence`` as
0–100 in its model but 0.0–1.0 in its schema and will not build a report carrying it, so it is set
on the built document, which is then validated strictly.

Each citation's law becomes a ``law:`` tag: bomber reports cite the MIIT 2018 plan, not Art. 14.
"""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from takedown.channels.base import Channel, NotConfigured, PermanentError, Receipt, Report
from takedown.channels.text import CATEGORY_EN
from takedown.files import write_once

NAMESPACE = uuid.UUID("6f1c3a52-6f0e-4c55-9d1e-2b7f5e0a9c41")     # Sweep's XARF report ids
_FQDN = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$")
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024


def xarf_document(report: Report, platform=None) -> dict:
    """The validated XARF v4 document (a dict) for a one-listing report (``platform``: its PlatformSettings)."""
    from xarf import create_evidence, create_report, parse       # ~0.6 s to import: only when exporting

    item = report.listings[0]
    host = urlsplit(item.url).hostname or item.url
    evidence = []
    if item.evidence:
        e = item.evidence
        for path, ctype, what in (
                (e.screenshot_path, "image/png", "Full-page screenshot"),
                (e.wacz_path, "application/zip", "WACZ web archive (raw HTTP exchange + screenshot)")):
            if path.exists() and path.stat().st_size <= MAX_EVIDENCE_BYTES:
                evidence.append(create_evidence(ctype, path.read_bytes(), hash_algorithm="sha256",
                                                description=f"{what} of {item.url}, captured {e.captured_at}"))
    law = "; ".join(f"{c.law}{c.article}" for c in report.citations)
    description = (f"Listing selling {CATEGORY_EN.get(item.label or report.category, report.category)} on "
                   f"{report.platform} (seller {report.seller_id or '-'}): {item.title}. "
                   f"Confirmed by a human reviewer. Legal basis: {law}. Sweep report {report.idempotency_key}.")[:1000]
    domain = host if _FQDN.match(host) else _platform_domain(platform)
    extra = {"domain": domain} if domain else {}
    result = create_report(
        category="content", type="fraud", source_identifier=host,
        reporter=report.reporter, sender=report.reporter, url=item.url, fraud_type="other",
        evidence_source="crawler", description=description, evidence=evidence,
        verification_method="manual", verified_at=(item.evidence.captured_at if item.evidence else report.created_at),
        tags=[f"category:{item.label or report.category}", f"platform:{_tag(report.platform)}",
              *dict.fromkeys(law_tag(c) for c in report.citations)]
             + (["escalation:" + str(report.escalation_level)] if report.escalation_level else []),
        claimed_entity=item.seller_name or report.seller_name or item.seller_id or report.seller_id or "unknown",
        target_brand="none", payment_methods=["other"], source_port=_port(item.url), **extra)
    if result.report is None or result.errors:
        raise PermanentError(f"XARF report for {item.id} does not validate: "
                             + "; ".join(f"{e.field}: {e.message}" for e in result.errors)[:300])
    doc = result.report.model_dump(by_alias=True, exclude_none=True)
    # Deterministic identity: the same Sweep report always exports as the same XARF report.
    doc["report_id"] = str(uuid.uuid5(NAMESPACE, report.idempotency_key))
    doc["timestamp"] = (item.evidence.captured_at if item.evidence else report.created_at).replace("+00:00", "Z")
    doc["confidence"] = 1.0          # confirmed by a human reviewer (see the module notes)
    check = parse(doc, strict=True)
    if check.errors:
        raise PermanentError("XARF report does not validate: " + "; ".join(e.message for e in check.errors)[:300])
    return doc


def law_tag(citation) -> str:
    """``law:`` tag of a citation: the Anti-Telecom and Online Fraud Law's article, or the MIIT 2018 plan."""
    if "反电信网络诈骗法" in citation.law:
        return "law:cn-anti-telecom-fraud-art14" if "第十四条" in citation.article else "law:cn-anti-telecom-fraud"
    if "骚扰电话" in citation.law:
        return "law:cn-miit-2018-harassing-calls-plan"
    return "law:" + _tag(citation.english.partition(":")[0])


def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _platform_domain(platform) -> str | None:
    if platform is None:
        return None
    for value in ((platform.settings or {}).get("domain"), (platform.abuse_email or "").rpartition("@")[2]):
        if value and _FQDN.match(value.lower()):
            return value.lower()
    return None


def _tag(value: str) -> str:
    return re.sub(r"[^a-z0-9_+-]", "-", value.lower()) or "unknown"


class XarfExport(Channel):
    name = "xarf"
    max_bundle = 1
    idempotent = True          # the file is named by the idempotency key
    rate_limited = False

    def __init__(self, platform, settings=None, secrets=None):
        super().__init__(platform, settings, secrets)
        if not self.settings.get("dir"):
            raise NotConfigured("no export directory")
        self.dir = Path(self.settings["dir"]) / "xarf"

    def file(self, report: Report) -> Receipt:
        if len(report.listings) != 1:
            raise PermanentError("a XARF report carries exactly one listing")
        path = self.dir / f"{report.idempotency_key}.json"
        if path.exists():
            return Receipt(str(path), True)
        doc = xarf_document(report, self.platform)
        try:
            write_once(path, json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8"))
        except FileExistsError:
            return Receipt(str(path), True)
        return Receipt(str(path), False, {"report_id": doc["report_id"]})
