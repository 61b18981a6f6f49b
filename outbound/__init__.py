"""Outbound requests: one policy for every fetcher, every hop (ground floor: imports nothing of Sweep's).

- ``policy``: the rules — http(s) only, a platform's allowed hosts, public addresses (loopback only
  where the platform's profile allows it) — and the allow-list check run when profiles load;
- ``session``: a requests Session that checks each hop (rechecks, report intakes);
- ``httpclient``: the hop check for a raw http.client fetch, connecting to the checked address;
- ``browser``: the Playwright route filter for every request a page makes, redirects included;
- ``chromium``: how Chromium is launched (sandboxed where the machine allows it).
"""
from .policy import Policy, Refused, address_refusal, allowlist_problem, check_url, host_allowed, url_refusal

__all__ = ["Policy", "Refused", "address_refusal", "allowlist_problem", "check_url", "host_allowed", "url_refusal"]
