"""Packages in optional extras (pyproject.toml), and the message when a command needs a missing one."""
from __future__ import annotations

import importlib.util

from common.errors import SweepError

EXTRAS = {"aiohttp": "sandbox", "matplotlib": "plots", "redis": "distributed", "scrapy_redis": "distributed"}


class MissingExtra(SweepError):
    pass


def message(module: str | None, what: str = "this command") -> str | None:
    """The install hint for ``module`` (dotted names count by their top package), or None if it is not optional."""
    top = (module or "").partition(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return None
    return (f"{what} needs {top}, which is in Sweep's optional {extra!r} extra: "
            f"pip install -e '.[{extra}]' (make demo and make test install every extra)")


def require(module: str, what: str) -> None:
    """Refuse up front, for work whose import happens in another process (the sandbox is a child process)."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(message(module, what))
