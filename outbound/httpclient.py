"""The hop check for a raw ``http.client`` fetch (evidence keeps every byte, so it speaks HTTP itself).

:func:`checked` judges one hop's URL and pins the connection to an address the check
passed: the name is not resolved a second time, so a DNS answer that changes between the
check and the connect (rebinding) cannot move the request to an internal address. TLS still
verifies the certificate for the host name.
"""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

from .policy import Policy


def checked(connection_class, url: str, policy: Policy, timeout: float):
    """An unconnected ``connection_class`` (HTTPConnection or a subclass) for ``url``, whose socket
    goes to a checked address; raises :class:`~outbound.policy.Refused`."""
    addresses = policy.addresses(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    conn = connection_class(parts.hostname, parts.port, timeout=timeout)

    # http.client always passes its own timeout; the default is the same one, not the process-wide one
    def connect_checked(_address, timeout=timeout, source_address=None):
        error = None
        for address in addresses:
            try:
                return socket.create_connection((address, port), timeout, source_address)
            except OSError as exc:
                error = exc
        raise error or OSError(f"no address for {parts.hostname}")

    conn._create_connection = connect_checked      # http.client's seam for opening the socket
    return conn
