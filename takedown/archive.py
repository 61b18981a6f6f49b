"""The page as received: every redirect hop's exact request and response bytes, packaged as WARC and WACZ.

The raw fetch (``fetch_raw``) checks each hop with the platform's outbound policy before it is
connected and connects to the checked address (outbound/httpclient.py); nothing is decoded or
re-encoded, so the archive holds the bytes the platform sent. ``build_warc`` writes the hops, the
screenshot (a ``resource`` record ``urn:fullPage:<url>`` as browsertrix-crawler does) and Sweep's
metadata; ``package_wacz`` makes the WACZ with py-wacz, the reference packager.
"""
from __future__ import annotations

import contextlib
import http.client
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from warcio.warcwriter import WARCWriter

from outbound.httpclient import checked
from outbound.policy import Policy, Refused

USER_AGENT = "Sweep/0.1 (harassment-tool takedown crawler; evidence capture; +https://example.org/sweep)"
MAX_REDIRECTS = 5


class EvidenceError(RuntimeError):
    pass


class EvidenceRefused(EvidenceError):
    """The outbound policy refused the page, a redirect of it, or where it moved (nothing was kept)."""



class _Tee:
    """Wraps a response's socket file and keeps every byte read from it."""

    def __init__(self, fp, sink: bytearray):
        self.fp, self.sink = fp, sink

    def read(self, amt=None):
        data = self.fp.read(amt) if amt is not None else self.fp.read()
        self.sink += data
        return data

    def read1(self, amt=-1):
        data = self.fp.read1(amt)
        self.sink += data
        return data

    def readinto(self, buff):
        n = self.fp.readinto(buff)
        self.sink += bytes(memoryview(buff)[:n or 0])
        return n

    def readline(self, limit=-1):
        line = self.fp.readline(limit)
        self.sink += line
        return line

    def close(self):
        self.fp.close()

    def flush(self):
        pass


def _recording(base):
    class Recording(base):
        """http.client connection that keeps the request and response bytes as sent/received."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.sent, self.received = bytearray(), bytearray()
            received = self.received

            class Response(http.client.HTTPResponse):
                def __init__(self, sock, *a, **kw):
                    super().__init__(sock, *a, **kw)
                    self.fp = _Tee(self.fp, received)

            self.response_class = Response

        def send(self, data):
            self.sent += data if isinstance(data, (bytes, bytearray)) else bytes(data)
            super().send(data)

    return Recording


_HTTP, _HTTPS = _recording(http.client.HTTPConnection), _recording(http.client.HTTPSConnection)


@dataclass
class Exchange:
    url: str
    request: bytes
    response: bytes
    status: int
    location: str | None = None


def fetch_raw(url: str, policy: Policy, ua: str = USER_AGENT, timeout: float = 20.0) -> list[Exchange]:
    """GET ``url`` following redirects, each hop checked by ``policy`` before it is connected;
    every hop's exact request and response bytes."""
    hops: list[Exchange] = []
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EvidenceError(f"cannot capture {url!r}: not an http(s) URL")
        try:
            conn = checked(_HTTPS if parts.scheme == "https" else _HTTP, url, policy, timeout)
        except Refused as exc:
            raise EvidenceRefused(f"cannot capture {hops[0].url if hops else url}: {exc}") from None
        try:
            conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                         headers={"User-Agent": ua, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                                  "Accept-Encoding": "identity", "Connection": "close"})
            resp = conn.getresponse()
            resp.read()
            resp.close()
        except (OSError, http.client.HTTPException) as exc:
            raise EvidenceError(f"cannot fetch {url}: {exc}") from exc
        finally:
            conn.close()
        location = resp.getheader("Location")
        hops.append(Exchange(url, bytes(conn.sent), bytes(conn.received), resp.status, location))
        if resp.status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        return hops
    raise EvidenceError(f"cannot capture {hops[0].url}: more than {MAX_REDIRECTS} redirects")


# -- packaging -------------------------------------------------------------------------------
def build_warc(hops: list[Exchange], screenshot: bytes, meta: dict) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record("evidence.warc.gz", {
        "software": "Sweep 0.1 (warcio)", "format": "WARC File Format 1.1",
        "description": f"Evidence for {meta['listing_id']} version {meta['version']}"}))
    for hop in hops:
        request = writer.create_warc_record(hop.url, "request", payload=io.BytesIO(hop.request),
                                            length=len(hop.request))
        response = writer.create_warc_record(hop.url, "response", payload=io.BytesIO(hop.response),
                                             length=len(hop.response))
        writer.write_request_response_pair(request, response)
    page_url = hops[0].url
    writer.write_record(writer.create_warc_record(
        f"urn:fullPage:{page_url}", "resource", payload=io.BytesIO(screenshot), length=len(screenshot),
        warc_content_type="image/png"))
    body = json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")
    # Its own URI: under the page's URL a replay tool could serve this JSON instead of the page.
    writer.write_record(writer.create_warc_record(
        f"urn:sweep:evidence:{page_url}", "metadata", payload=io.BytesIO(body), length=len(body),
        warc_content_type="application/json"))
    return out.getvalue()


def package_wacz(warc: bytes, url: str, when: str, title: str) -> bytes:
    """WACZ bytes for one WARC, made by py-wacz (the reference packager), pages detected."""
    from wacz.main import main as wacz_main        # ~0.6 s to import: only when packaging a capture

    with tempfile.TemporaryDirectory(prefix="sweep-wacz-") as tmp:
        warc_path, wacz_path = Path(tmp) / "evidence.warc.gz", Path(tmp) / "evidence.wacz"
        warc_path.write_bytes(warc)
        # --url makes the listing the package's main (and only) page: replay tools open it first.
        args = ["create", "-o", str(wacz_path), str(warc_path), "--url", url,
                "--title", title[:200], "--desc", f"Sweep evidence captured {when}"]
        with contextlib.redirect_stdout(io.StringIO()) as chatter:       # py-wacz prints progress
            code = wacz_main(args)
        if code != 0 or not wacz_path.exists():
            raise EvidenceError(f"py-wacz could not package {url}: {chatter.getvalue()[-500:]}")
        return wacz_path.read_bytes()

