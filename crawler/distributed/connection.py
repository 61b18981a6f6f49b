"""Connecting to Redis with credentials and TLS, and saying what went wrong without the password.

URLs are redis-py's: ``redis://[user[:password]@]host:port/db`` (``requirepass`` is the password
alone: ``redis://:password@host``), ``rediss://`` for TLS — certificates verified, host name
included, against the system store or ``?ssl_ca_certs=/path/ca.pem``; a client certificate with
``ssl_certfile``/``ssl_keyfile``. The password never appears in a message: :func:`mask`.
"""
from __future__ import annotations

import logging
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from common.errors import SweepError

logger = logging.getLogger(__name__)


class RedisUnavailable(SweepError, RuntimeError):
    """One line: where (masked), what went wrong, what to do."""


def mask(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """``url`` with ``username``/``password`` filled in where it has none (from the config file)."""
    parts = urlsplit(url)
    if not password or parts.password is not None:
        return url
    user = quote(parts.username or username or "", safe="")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def connect(url: str, **kwargs):
    """A client for ``url`` that has answered PING, or :class:`RedisUnavailable`."""
    import redis

    where = mask(url)
    query = {k.lower(): v[-1].lower() for k, v in parse_qs(urlsplit(url).query).items()}
    if url.startswith("rediss://") and query.get("ssl_cert_reqs") in ("none", "optional"):
        logger.warning("Redis at %s: TLS certificates are not verified (ssl_cert_reqs=%s)", where,
                       query["ssl_cert_reqs"])
    try:
        server = redis.Redis.from_url(url, **kwargs)
        server.ping()
    except (redis.AuthenticationError, redis.ResponseError) as exc:
        how = "the user and password in the URL ($SWEEP_REDIS_URL) or [redis] username and password_env"
        asked = isinstance(exc, redis.AuthenticationError) or "auth" in str(exc).lower()
        if asked and urlsplit(url).password is None:
            raise RedisUnavailable(f"Redis at {where} needs a password: give {how}") from None
        if isinstance(exc, redis.AuthenticationError) or "WRONGPASS" in str(exc):
            raise RedisUnavailable(f"Redis at {where} refused the credentials ({_first_line(exc)}); check "
                                   f"{how}") from None
        raise RedisUnavailable(f"Redis at {where}: {_first_line(exc)}") from None
    except (redis.RedisError, ValueError, TypeError, OSError) as exc:     # unreachable, TLS, a bad URL
        hint = (" — name the CA that signed Redis's certificate with ?ssl_ca_certs=/path/ca.pem"
                if "CERTIFICATE_VERIFY_FAILED" in str(exc) else "")
        raise RedisUnavailable(f"cannot reach Redis at {where}: {_first_line(exc).rstrip('.')}{hint}") from None
    return server


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
