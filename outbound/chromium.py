"""How Chromium is launched for hostile pages: with its sandbox wherever this machine allows it.

Chromium refuses its sandbox when run as root, and its Linux sandbox needs unprivileged user
namespaces. So:

- not root, user namespaces work → Debian's Chromium, sandboxed;
- root, the ``browser_user`` (default ``nobody``) exists, ``setpriv`` is there and user
  namespaces work for that user → a small wrapper (written at first use, root-owned) hands
  Playwright's profile directory to that user and runs Chromium as that user, sandboxed;
- otherwise → ``--no-sandbox``, said once in a WARNING naming why and what to do, and
  reported by :func:`launch` (``sandbox`` is false) so runs can record it.

The facts are gathered by :func:`probe`; :func:`decide` is the pure decision (tests feed it
facts).
"""
from __future__ import annotations

import atexit
import functools
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
BROWSER_USER = "nobody"
ARGS = ["--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
        # WebRTC may not open UDP to addresses the route filter never sees.
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"]


@dataclass(frozen=True)
class Facts:
    euid: int
    user: str | None            # the unprivileged user to run as (root only), None if it does not exist
    uid: int | None = None
    gid: int | None = None
    setpriv: str | None = None
    userns: bool = False        # user (+pid, net) namespaces can be made by the user Chromium runs as
    userns_detail: str = ""


@dataclass(frozen=True)
class Launch:
    executable: str
    args: tuple
    sandbox: bool
    why: str                    # how it runs, or why it runs without the sandbox

    def playwright_options(self) -> dict:
        # Playwright adds --no-sandbox itself unless chromium_sandbox is set.
        return {"executable_path": self.executable, "headless": True, "args": list(self.args),
                "chromium_sandbox": self.sandbox}


def decide(facts: Facts, executable: str = CHROMIUM, args=ARGS, wrapper=None) -> Launch:
    """The launch for these facts; ``wrapper(facts, executable)`` makes the run-as-user wrapper."""
    args = tuple(args)
    unsandboxed = ("--no-sandbox", *args)
    if facts.euid != 0:
        if facts.userns:
            return Launch(executable, args, True, f"sandboxed (uid {facts.euid})")
        return Launch(executable, unsandboxed, False, f"user namespaces are not available ({facts.userns_detail}); "
                      "allow them (sysctl kernel.unprivileged_userns_clone=1, or the AppArmor userns "
                      "restriction) to sandbox Chromium")
    if facts.user is None:
        return Launch(executable, unsandboxed, False, "running as root and the browser user does not exist; "
                      "create an unprivileged user (browser_user) or run Sweep as a non-root user")
    if not facts.setpriv:
        return Launch(executable, unsandboxed, False, "running as root and setpriv (util-linux) is missing; "
                      "install util-linux or run Sweep as a non-root user")
    if not facts.userns:
        return Launch(executable, unsandboxed, False,
                      f"user namespaces are not available to {facts.user} ({facts.userns_detail}); allow them, "
                      "or run Sweep as a non-root user on a machine that allows them")
    path = (wrapper or write_wrapper)(facts, executable)
    return Launch(path, args, True, f"sandboxed, as {facts.user} (uid {facts.uid})")


def probe(user: str = BROWSER_USER) -> Facts:
    """What this machine allows: who we are, the drop user, and whether user namespaces work."""
    euid = os.geteuid()
    setpriv = shutil.which("setpriv")
    unshare = shutil.which("unshare")
    uid = gid = None
    name = None
    if euid == 0:
        try:
            entry = pwd.getpwnam(user)
            if entry.pw_uid != 0:
                name, uid, gid = user, entry.pw_uid, entry.pw_gid
        except KeyError:
            pass
    if not unshare:
        return Facts(euid, name, uid, gid, setpriv, False, "unshare (util-linux) is missing")
    command = [unshare, "--user", "--pid", "--net", "--fork", "true"]
    if euid == 0:
        if name is None or not setpriv:
            return Facts(euid, name, uid, gid, setpriv, False, "not probed")
        command = [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Facts(euid, name, uid, gid, setpriv, False, str(exc))
    detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    return Facts(euid, name, uid, gid, setpriv, done.returncode == 0, "" if done.returncode == 0 else detail)


_WRAPPER = """#!/bin/sh
# Written by Sweep (outbound/chromium.py): Chromium refuses its sandbox as root, so run it as {user}.
home="${{TMPDIR:-/tmp}}"
for arg in "$@"; do   # Playwright's fresh profile directory: the browser user must own it
  case "$arg" in --user-data-dir=*) home="${{arg#--user-data-dir=}}"; chown -R {uid}:{gid} "$home";; esac
done
exec {setpriv} --reuid={uid} --regid={gid} --clear-groups --inh-caps=-all --bounding-set=-all \\
  env HOME="$home" {executable} "$@"
"""


def write_wrapper(facts: Facts, executable: str) -> str:
    """A root-owned script, in a root-only directory, that runs ``executable`` as the browser user."""
    directory = tempfile.mkdtemp(prefix="sweep-chromium-")
    atexit.register(shutil.rmtree, directory, True)
    path = os.path.join(directory, "chromium-as-user")
    with open(path, "w") as fh:
        fh.write(_WRAPPER.format(user=facts.user, uid=facts.uid, gid=facts.gid, setpriv=facts.setpriv,
                                 executable=executable))
    os.chmod(path, 0o700)
    return path


@functools.lru_cache(maxsize=8)
def launch(user: str = BROWSER_USER, executable: str = CHROMIUM) -> Launch:
    """The launch for this process (probed once); warns once when Chromium runs without its sandbox."""
    chosen = decide(probe(user), executable)
    if chosen.sandbox:
        log.info("Chromium: %s", chosen.why)
    else:
        log.warning("Chromium runs WITHOUT its sandbox: %s. Hostile pages then run unconfined; "
                    "JavaScript stays limited to pages a profile marks for the browser.", chosen.why)
    return chosen
