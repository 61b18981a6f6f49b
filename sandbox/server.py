"""Serve the five sandbox platforms from one process on loopback ports."""
from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

from . import appstore, codehost, forum, marketplace, social
from .catalogue import Catalogue
from .moderation import Moderation
from .web import RateLimiter

PLATFORMS = {"marketplace": marketplace, "appstore": appstore, "forum": forum, "codehost": codehost, "social": social}
FAULT_PLATFORMS = ("marketplace", "appstore", "forum")     # the ones sandbox/faults.py dresses with /faults/
DEFAULT_PORTS = {"marketplace": 8701, "appstore": 8702, "forum": 8703, "codehost": 8704, "social": 8705}


async def serve(host: str = "127.0.0.1", ports: dict[str, int] | None = None, seed: int = 2018,
                rate_limit: float = 1000.0, takedown_delay: float = 5.0, ready=None, faults: bool = False) -> None:
    """Run until cancelled. ``ports`` of 0 pick free ports; ``ready(urls)`` is called once listening;
    ``faults`` adds the /faults/ pages (sandbox/faults.py)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the sandbox only listens on loopback")
    ports = {**DEFAULT_PORTS, **(ports or {})}
    catalogue = Catalogue(seed)
    moderation = Moderation(catalogue, delay=takedown_delay)
    runners, urls = [], {}
    for name, module in PLATFORMS.items():
        app = module.build(catalogue, moderation)
        app.middlewares.insert(0, RateLimiter(rate_limit).middleware)
        if faults and name in FAULT_PLATFORMS:
            from .faults import add_fault_routes

            add_fault_routes(app, name, catalogue)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, ports[name])
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        urls[name] = f"http://{host}:{port}"
        runners.append(runner)
    if ready:
        ready(urls)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """``python -m sandbox [--port-base N|0] [--seed N] ...``: prints one JSON line of URLs when ready."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-base", type=int, default=8701, help="first of five ports; 0 picks free ports")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--rate-limit", type=float, default=1000.0, help="requests/s per platform before 429 (0: off)")
    parser.add_argument("--takedown-delay", type=float, default=5.0, help="seconds from report to removal")
    parser.add_argument("--faults", action="store_true", help="also serve the /faults/ pages (off: the catalogue only)")
    args = parser.parse_args(argv)
    ports = {name: (args.port_base + i if args.port_base else 0) for i, name in enumerate(PLATFORMS)}

    def ready(urls):
        print(json.dumps({"ready": True, "urls": urls, "seed": args.seed}), flush=True)

    try:
        asyncio.run(serve(args.host, ports, args.seed, args.rate_limit, args.takedown_delay, ready,
                          faults=args.faults))
    except KeyboardInterrupt:
        sys.exit(0)
