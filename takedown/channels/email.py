"""E-mail to a platform's abuse address over SMTP, with the evidence attached.

Settings come from ``[channels.smtp]`` (host, port, username, password/password_env,
starttls, ssl, ca_file, allow_plaintext_auth, from_addr, max_attachment_mb, timeout) and the
address from ``[platforms.<name>] abuse_email``.

A password never crosses the network in clear: with a username set, the connection must be
implicit TLS (``ssl = true``) or upgraded with STARTTLS, and a server that does not offer
STARTTLS is refused before AUTH. Certificates are verified against the system's CAs, or
``ca_file`` for a private CA. ``allow_plaintext_auth = true`` lifts the rule for a relay on
the same machine. ``starttls = true`` demands STARTTLS even without a username.

The Message-ID is derived from the report's idempotency key alone, so every attempt at one
report carries the same Message-ID (and ``X-Sweep-Attempt`` says which attempt it was): a
resend after a crash can be folded by the abuse desk's mail system. SMTP itself cannot be
asked whether a message arrived, so e-mail is at-least-once (see takedown/outbox.py).
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from takedown.channels.base import Channel, NotConfigured, PermanentError, Receipt, Report, TransientError
from takedown.channels.text import render_body, render_subject


class EmailChannel(Channel):
    name = "email"
    max_bundle = 20
    idempotent = False

    def __init__(self, platform, settings=None, secrets=None):
        super().__init__(platform, settings, secrets)
        if not self.settings.get("host"):
            raise NotConfigured("no SMTP server: set [channels.smtp] host (and port) in sweep.toml")
        if not platform.abuse_email:
            raise NotConfigured(f"{platform.name}: no abuse address: set [platforms.{platform.name}] abuse_email")
        self.from_addr = self.settings.get("from_addr", "sweep-reports@example.org")
        self.max_attachment_bytes = int(float(self.settings.get("max_attachment_mb", 10)) * 1024 * 1024)
        ca_file = self.settings.get("ca_file")
        if ca_file and not Path(ca_file).is_file():
            raise NotConfigured(f"[channels.smtp] ca_file {ca_file} does not exist")
        self.implicit_tls = bool(self.settings.get("ssl"))
        if self.implicit_tls and self.settings.get("starttls"):
            raise NotConfigured("[channels.smtp]: set either ssl (implicit TLS, usually port 465) or starttls, "
                                "not both")
        # TLS is required for credentials unless a local relay is explicitly allowed plain AUTH.
        self.require_tls = bool(self.settings.get("starttls")) or (
            bool(self.settings.get("username")) and not self.settings.get("allow_plaintext_auth"))

    def tls_context(self) -> ssl.SSLContext:
        """Verifying context: the system's CAs, or ``ca_file`` (a private CA) instead."""
        ca_file = self.settings.get("ca_file")
        return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()

    def message(self, report: Report) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.from_addr
        msg["To"] = self.platform.abuse_email
        msg["Subject"] = render_subject(report)
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = f"<{report.idempotency_key}@{self.from_addr.rpartition('@')[2] or 'sweep.invalid'}>"
        msg["X-Sweep-Report-Key"] = report.idempotency_key
        msg["X-Sweep-Attempt"] = str(report.attempt)       # a resend is recognisable as one
        attachments, skipped, budget = [], [], self.max_attachment_bytes
        for item in report.listings:
            if not item.evidence:
                continue
            stem = f"{item.platform}-{item.platform_id}"
            for path, kind, sub, name in ((item.evidence.screenshot_path, "image", "png", f"{stem}.png"),
                                          (item.evidence.wacz_path, "application", "zip", f"{stem}.wacz")):
                size = path.stat().st_size if path.exists() else None
                if size is None or size > budget:
                    skipped.append(name)
                    continue
                budget -= size
                attachments.append((path.read_bytes(), kind, sub, name))
        note = ""
        if skipped:
            note = (f"附件过大或缺失未随信发送（可按 SHA-256 向我们索取）：{', '.join(skipped)}\n"
                    f"Not attached (size limit or missing; available on request by SHA-256): {', '.join(skipped)}")
        msg.set_content(render_body(report, note))
        for data, kind, sub, name in attachments:
            msg.add_attachment(data, maintype=kind, subtype=sub, filename=name)
        return msg

    def _connect(self, host: str, port: int, timeout: float) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(host, port, timeout=timeout, context=self.tls_context())
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            smtp.ehlo()
            if self.require_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=self.tls_context())
                smtp.ehlo()
            elif self.require_tls:      # checked before AUTH: nothing secret has been sent yet
                why = ("refusing to send credentials in clear — use ssl = true (implicit TLS, usually port 465), "
                       "or allow_plaintext_auth = true only for a relay on this machine"
                       if self.settings.get("username") else "which starttls = true requires")
                raise PermanentError(f"SMTP server {host}:{port} does not offer STARTTLS, {why}")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def file(self, report: Report) -> Receipt:
        msg = self.message(report)
        host, port = self.settings["host"], int(self.settings.get("port", 465 if self.implicit_tls else 25))
        timeout = float(self.settings.get("timeout", 30))
        try:
            with self._connect(host, port, timeout) as smtp:
                if self.settings.get("username"):
                    smtp.login(self.settings["username"], self._secrets.get("password") or "")
                refused = smtp.send_message(msg)
        except ssl.SSLCertVerificationError as exc:
            raise PermanentError(f"SMTP server {host}:{port}: TLS certificate not trusted ({exc.verify_message}) "
                                 f"— for a private CA set [channels.smtp] ca_file") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"SMTP login refused ({exc.smtp_code})") from None
        except smtplib.SMTPNotSupportedError as exc:       # e.g. no AUTH offered: a retry will not change that
            raise PermanentError(f"SMTP server {host}:{port}: {exc}"[:300]) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            err = TransientError if all(400 <= c < 500 for c in codes) else PermanentError
            raise err(f"SMTP refused {self.platform.abuse_email}: {sorted(codes)}") from None
        except smtplib.SMTPResponseException as exc:
            err = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
            raise err(f"SMTP answered {exc.smtp_code}: {exc.smtp_error!r}"[:300]) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP server {host}:{port} unreachable: {type(exc).__name__}") from None
        if refused:
            raise PermanentError(f"SMTP refused recipients: {sorted(refused)}")
        return Receipt(msg["Message-ID"], False, {"to": self.platform.abuse_email})
