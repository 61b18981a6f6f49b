"""A CSV complaint batch in the shape 12321 (网络不良与垃圾信息举报受理中心) takes from partners.

One batch file per run, one row per listing, UTF-8 with a BOM so Excel opens the Chinese
headers: ``<exports>/12321/<YYYYMMDD-HHMMSS>-batch.csv`` holds every report this process filed
(all platforms, numbered 序号 1…n), rewritten whole (atomically) as each report is added.
Exactly once rests on a record per report, ``<exports>/12321/reports/<key>.csv``, written
once: a report whose record exists is not filed again (it joins the run's batch all the same,
since the run that wrote it may have stopped before handing its batch on). Platforms appear by
display name (闲趣集市, not marketplace; ``[platforms.<name>] display_name``). The columns
follow the fields of 12321's web complaint form (what was reported, where, by whom, why,
under which rule, with what evidence); a centre that wants another layout gets the same data
re-ordered from ``COLUMNS``.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from common.clock import SYSTEM
from takedown.channels.base import Channel, NotConfigured, Receipt, Report
from takedown.channels.text import CATEGORY_ZH, display_name
from takedown.files import write_once

COLUMNS = ["序号", "举报类型", "违法类别", "被举报对象类型", "被举报平台", "被举报网址", "被举报账号", "账号名称",
           "信息标题", "举报理由", "法律依据", "证据文件", "证据SHA256", "截图SHA256", "发现时间", "举报编号",
           "举报单位", "举报单位联系方式"]
KIND_ZH = {"ecommerce": "电商商品", "appstore": "移动应用", "forum": "论坛帖子", "code": "代码仓库",
           "social": "社交频道"}


def rows(report: Report, platform_name: str | None = None) -> list[dict]:
    law = "；".join(f"{c.law}{c.article}" for c in report.citations)
    out = []
    for n, item in enumerate(report.listings, 1):
        e = item.evidence
        out.append({
            "序号": n, "举报类型": "违法违规信息（骚扰电话/电信网络诈骗工具）",
            "违法类别": CATEGORY_ZH.get(item.label or report.category, report.category),
            "被举报对象类型": KIND_ZH.get(item.kind, "网页"),
            "被举报平台": platform_name or report.platform, "被举报网址": item.url, "被举报账号": item.seller_id or "",
            "账号名称": item.seller_name or "", "信息标题": item.title,
            "举报理由": f"销售/提供{CATEGORY_ZH.get(item.label or report.category, '')}，经人工复核确认"
                        + (f"；已举报{report.escalation_level}次仍在售" if report.escalation_level else ""),
            "法律依据": law, "证据文件": e.wacz_path.name if e else "", "证据SHA256": e.wacz_sha256 if e else "",
            "截图SHA256": e.screenshot_sha256 if e else "", "发现时间": e.captured_at if e else report.created_at,
            "举报编号": report.idempotency_key, "举报单位": report.reporter.get("org", ""),
            "举报单位联系方式": report.reporter.get("contact", ""),
        })
    return out


def render(table: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({**row, "序号": n} for n, row in enumerate(table, 1))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def read(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


# This process's batch per export directory: {directory: (batch path, [record paths])}. One
# `sweep report` (or one scheduled cycle, its own process) is one run, whichever platforms it files.
_BATCHES: dict[Path, tuple[Path, list[Path]]] = {}


def _replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Csv12321Export(Channel):
    name = "csv_12321"
    max_bundle = 200
    idempotent = True
    rate_limited = False

    def __init__(self, platform, settings=None, secrets=None):
        super().__init__(platform, settings, secrets)
        if not self.settings.get("dir"):
            raise NotConfigured("no export directory")
        self.dir = Path(self.settings["dir"]) / "12321"

    def file(self, report: Report) -> Receipt:
        record = self.dir / "reports" / f"{report.idempotency_key}.csv"
        duplicate = record.exists()
        if not duplicate:
            try:
                write_once(record, render(rows(report, display_name(self.platform))))
            except FileExistsError:
                duplicate = True
        batch = self._add_to_batch(record)
        return Receipt(str(batch), duplicate, {} if duplicate else {"rows": len(report.listings)})

    def _add_to_batch(self, record: Path) -> Path:
        if self.dir not in _BATCHES:
            _BATCHES[self.dir] = (self.dir / f"{SYSTEM.now():%Y%m%d-%H%M%S}-{os.getpid()}-batch.csv",
                                  [])
        batch, records = _BATCHES[self.dir]
        if record not in records:
            records.append(record)
            _replace(batch, render([row for r in records for row in read(r)]))
        return batch
