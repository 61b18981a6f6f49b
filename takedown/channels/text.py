"""How a report reads: the category names, the subject and the body every human-facing channel sends.

Titles, URLs and seller names are crawled text: bidi controls in them are made visible
(takedown/bidi.py) so a moderator reads what the listing says, not what it pretends to.
"""
from __future__ import annotations

from ..bidi import neutralise
from .base import Report

CATEGORY_ZH = {"call_bomber": "呼死你/骚扰呼叫软件", "caller_id_spoof": "改号软件/设备", "sms_bomber": "短信轰炸机",
               "modem_pool": "猫池（电话卡批量插入设备）", "voice_gateway": "语音网关（GoIP 等）", "other": "其他违规"}
CATEGORY_EN = {"call_bomber": "call-bombing software", "caller_id_spoof": "caller-ID spoofing software/devices",
               "sms_bomber": "SMS bomber", "modem_pool": "SIM modem pool (multi-SIM device)",
               "voice_gateway": "SIM voice gateway (GoIP)", "other": "other prohibited tool"}

# The bundled sandbox platforms' own names; any platform can set [platforms.<name>] display_name.
DISPLAY_NAMES = {"marketplace": "闲趣集市", "appstore": "应用汇", "forum": "闲聊论坛"}


def display_name(platform) -> str:
    """A platform's name as people know it (PlatformSettings in, text out)."""
    return (platform.settings or {}).get("display_name") or DISPLAY_NAMES.get(platform.name) or platform.name


def render_subject(report: Report) -> str:
    again = f"（第{report.escalation_level + 1}次举报）" if report.escalation_level else ""
    who = report.seller_name or report.seller_id or "未知卖家"
    return neutralise(f"举报：{CATEGORY_ZH.get(report.category, report.category)} — {who}，"
                      f"共{len(report.listings)}条{again} [{report.idempotency_key}]")


def render_body(report: Report, evidence_note: str = "") -> str:
    """Plain-text body (Chinese first, English summary after): listings, law, evidence digests."""
    zh = CATEGORY_ZH.get(report.category, report.category)
    lines = [f"举报类别：{zh}", f"被举报平台：{report.platform}",
             f"被举报账号：{report.seller_name or '-'}（{report.seller_id or '-'}）",
             f"举报编号：{report.idempotency_key}"]
    if report.escalation_level:
        lines.append(f"此前举报后仍在售，第{report.escalation_level + 1}次举报。")
    lines += ["", "违规商品/内容："]
    for n, item in enumerate(report.listings, 1):
        lines.append(f"{n}. {item.title}")
        lines.append(f"   链接：{item.url}")
        lines.append(f"   类别：{CATEGORY_ZH.get(item.label or '', item.label or '-')}")
        if item.evidence:
            e = item.evidence
            lines.append(f"   取证时间：{e.captured_at}（HTTP {e.http_status}）")
            lines.append(f"   网页存档 WACZ SHA-256：{e.wacz_sha256}")
            lines.append(f"   截图 SHA-256：{e.screenshot_sha256}")
    lines += ["", "法律依据："]
    for c in report.citations:
        lines.append(f"- {c.law}{c.article}：{c.text}")
    lines += ["", "请依法下架上述商品/内容并处置相关账号。", ""]
    if evidence_note:
        lines += [evidence_note, ""]
    lines += ["--- English summary ---",
              f"Category: {CATEGORY_EN.get(report.category, report.category)}; platform: {report.platform}; "
              f"seller: {report.seller_id or '-'}; listings: {len(report.listings)}; report key: {report.idempotency_key}.",
              "Legal basis: " + "; ".join(f"{c.english}" for c in report.citations),
              f"Reported by {report.reporter.get('org', 'Sweep')} <{report.reporter.get('contact', '')}>."]
    return neutralise("\n".join(lines))
