"""Sweep's optional configuration file (TOML) and where secrets come from.

Looked up in order: ``--config PATH``, ``$SWEEP_CONFIG``, ``./sweep.toml``; absent means
defaults. Secrets (platform API tokens, SMTP passwords) are never stored in the database,
logs or evidence. They come from the environment — ``password_env = "SWEEP_SMTP_PASSWORD"``
names the variable — or, if written in the file itself, the file must be private
(mode 0600 or stricter, as for ~/.netrc) or it is refused.

    [crawl]
    contact = "abuse-team@example.org"        # goes into the User-Agent

    [schedule]
    cycles = ["0 */6 * * *"]                   # cron expressions

    [channels.smtp]
    host = "smtp.example.org"
    port = 587
    starttls = true                            # required with a username (see channels/email.py)
    username = "sweep"
    password_env = "SWEEP_SMTP_PASSWORD"
"""
from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import SweepError

DEFAULT_PATH = Path("sweep.toml")
SECRET_KEYS = ("password", "token", "api_key", "secret")


class ConfigError(SweepError, ValueError):
    pass


@dataclass
class Config:
    data: dict = field(default_factory=dict)
    path: Path | None = None

    def section(self, dotted: str) -> dict:
        node = self.data
        for part in dotted.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    def secret(self, dotted: str, key: str, environ=os.environ) -> str | None:
        """``key`` of a section: from ``<key>_env`` (an environment variable) or the private file."""
        sect = self.section(dotted)
        env_name = sect.get(f"{key}_env")
        if env_name:
            value = environ.get(env_name)
            if value is None:
                raise ConfigError(f"[{dotted}] {key}_env names ${env_name}, which is not set")
            return value
        return sect.get(key)


def _check_private(path: Path, data: dict) -> None:
    def is_secret(key: str) -> bool:      # password, smtp_password, api_token... but not password_env
        return not key.endswith("_env") and any(key == s or key.endswith("_" + s) for s in SECRET_KEYS)

    def has_secret(node) -> bool:
        if isinstance(node, dict):
            return any((is_secret(k) and v) or has_secret(v) for k, v in node.items())
        return False

    if has_secret(data):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"{path} holds secrets but is readable by others (mode {mode:o}); "
                              f"run `chmod 600 {path}` or move them to environment variables (<key>_env)")


def load_config(path: str | Path | None = None, environ=os.environ) -> Config:
    chosen = Path(path) if path else Path(environ["SWEEP_CONFIG"]) if environ.get("SWEEP_CONFIG") else DEFAULT_PATH
    if not chosen.exists():
        if path or environ.get("SWEEP_CONFIG"):
            raise ConfigError(f"config file {chosen} does not exist")
        return Config()
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    _check_private(chosen, data)
    from common.config_schema import problems

    found = problems(data)
    if found:     # a mistyped key would otherwise be ignored and its default silently used
        raise ConfigError(f"{chosen}: " + "; ".join(found))
    return Config(data, chosen)
