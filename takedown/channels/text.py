"""How a report reads: the category names, the subject and the body every human-facing channel sends.

Titles, URLs and seller names are crawled text: bidi controls in them are made visible
(common/bidi.py) so a moderator reads what the listing says, not what it pretends to.
"""
from __future__ import annotations

from common.bidi import neutralise
from takedown.channels.base import Report

CATEGORY_ZH = {"call_bomber": "呼死你/骚扰呼叫软件", "caller_id_spoof": "改号软件/设备", "sms_bomber": "短信轰炸机",
               "modem_pool": "猫池（电话卡批量插入设备）", "voice_gateway": "语音网关（GoIP 等）",
               "endpoint_abuse": "验证码接口被轰炸工具滥用", "other": "其他违规"}
CATEGORY_EN = {"call_bomber": "call-bombing software", "caller_id_spoof": "caller-ID spoofing software/devices",
               "sms_bomber": "SMS bomber", "modem_pool": "SIM modem pool (multi-SIM device)",
               "voice_gateway": "SIM voice gateway (GoIP)",
               "endpoint_abuse": "verification-code endpoints abused by bomber tools", "other": "other prohibited tool"}

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
    if report.category == "endpoint_abuse":
        return _endpoint_body(report, evidence_note)
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
              f"seller: {report.seller_id or '-'}; listings: {len(report.listings)}; "
              f"report key: {report.idempotency_key}.",
              "Legal basis: " + "; ".join(f"{c.english}" for c in report.citations),
              f"Reported by {report.reporter.get('org', 'Sweep')} <{report.reporter.get('contact', '')}>."]
    return neutralise("\n".join(lines))


def _endpoint_body(report: Report, evidence_note: str = "") -> str:
    """To a domain's owner: which of its endpoints bomber tools call, and the repositories as evidence.
    Sweep never sent a request to any of them; it read the tools' own config files."""
    domain = report.seller_id or report.platform.partition(":")[2]
    lines = [f"致 {domain} 安全团队：", "",
             "以下接口被短信/电话轰炸工具列为发送验证码的接口，攻击者借此向他人手机批量发送短信或拨打电话。"
             "建议为这些接口加上频率限制、图形验证码或号码校验。我们没有向这些接口发送任何请求；"
             "以下内容来自公开代码仓库中工具自带的配置文件。",
             f"报告编号：{report.idempotency_key}", "", "被滥用的接口："]
    for ep in report.abused_endpoints:
        named = f"（工具中的名称：{ep['description']}）" if ep.get("description") else ""
        lines.append(f"- {ep['host']}{ep['path']}{named}")
    lines += ["", "引用这些接口的仓库（证据）："]
    for n, item in enumerate(report.listings, 1):
        lines.append(f"{n}. {item.title}")
        lines.append(f"   链接：{item.url}")
        if item.evidence:
            lines.append(f"   取证时间：{item.evidence.captured_at}；WACZ SHA-256：{item.evidence.wacz_sha256}；"
                         f"截图 SHA-256：{item.evidence.screenshot_sha256}")
    if evidence_note:
        lines += ["", evidence_note]
    lines += ["", "--- English summary ---",
              f"{len(report.abused_endpoints)} endpoint(s) on {domain} are listed by SMS/call-bombing tools in "
              f"{len(report.listings)} public repositories (links above). Please add rate limits and captchas. "
              f"Sweep sent no request to any of these endpoints. Report key: {report.idempotency_key}.",
              f"Reported by {report.reporter.get('org', 'Sweep')} <{report.reporter.get('contact', '')}>."]
    return neutralise("\n".join(lines))
