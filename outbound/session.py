"""A requests Session that applies a platform's outbound policy to every hop.

requests sends every request — the first and each redirect it follows — through
``Session.send``; :class:`PolicySession` checks the URL there, before any connection, and
raises :class:`Refused` (a ``requests.RequestException``, so callers' error handling sees a
failed fetch) naming the hop and the reason.
"""
from __future__ import annotations

import requests

from .policy import Policy
from .policy import Refused as PolicyRefused


class Refused(PolicyRefused, requests.RequestException):
    """A hop the policy does not allow (nothing was sent)."""

    def __init__(self, url: str, reason: str):
        PolicyRefused.__init__(self, url, reason)


class PolicySession(requests.Session):
    """``requests.Session`` whose every hop must pass ``policy`` (``refused`` counts refusals)."""

    def __init__(self, policy: Policy, max_redirects: int = 5):
        super().__init__()
        self.policy = policy
        self.max_redirects = max_redirects
        self.refused = 0

    def send(self, request, **kwargs):
        reason = self.policy.refusal(request.url)
        if reason:
            self.refused += 1
            raise Refused(request.url, reason)
        return super().send(request, **kwargs)
