"""Serve the five sandbox platforms, and the endpoint host their code host's configs point at, from
one process on loopback ports."""
from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

from . import appstore, codehost, forum, marketplace, social
from .catalogue import Catalogue
from .endpointhost import EndpointHost
from .moderation import Moderation
from .web import RateLimiter

PLATFORMS = {"marketplace": marketplace, "appstore": appstore, "forum": forum, "codehost": codehost, "social": social}
FAULT_PLATFORMS = ("marketplace", "appstore", "forum")     # the ones sandbox/faults.py dresses with /faults/
DEFAULT_PORTS = {"marketplace": 8701, "appstore": 8702, "forum": 8703, "codehost": 8704, "social": 8705}
ENDPOINT_HOST_PORT = 8706      # the port after the platforms'


async def _listen(app: web.Application, host: str, port: int, runners: list) -> int:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    runners.append(runner)
    return site._server.sockets[0].getsockname()[1]


async def serve(host: str = "127.0.0.1", ports: dict[str, int] | None = None, seed: int = 2018,
                rate_limit: float = 1000.0, takedown_delay: float = 5.0, ready=None, faults: bool = False,
                endpoint_host: EndpointHost | None = None) -> None:
    """Run until cancelled. ``ports`` of 0 pick free ports; ``ready(urls)`` is called once listening;
    ``faults`` adds the /faults/ pages (sandbox/faults.py). ``endpoint_host`` (one is made if not given)
    listens on ``ports["endpointhost"]`` — by default 8706, or a free port when the platforms' are free
    ones — and its ``url`` is set before ``ready``."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the sandbox only listens on loopback")
    free = bool(ports) and not any(ports.values())
    ports = {**DEFAULT_PORTS, "endpointhost": 0 if free else ENDPOINT_HOST_PORT, **(ports or {})}
    catalogue = Catalogue(seed)
    moderation = Moderation(catalogue, delay=takedown_delay)
    runners, urls = [], {}
    endpoint_host = endpoint_host or EndpointHost()
    endpoint_host.port = await _listen(endpoint_host.app(), host, ports["endpointhost"], runners)
    for name, module in PLATFORMS.items():
        app = module.build(catalogue, moderation, endpoint_port=endpoint_host.port) if name == "codehost" \
            else module.build(catalogue, moderation)
        app.middlewares.insert(0, RateLimiter(rate_limit).middleware)
        if faults and name in FAULT_PLATFORMS:
            from .faults import add_fault_routes

            add_fault_routes(app, name, catalogue)
        urls[name] = f"http://{host}:{await _listen(app, host, ports[name], runners)}"
    if ready:
        ready(urls)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """``python -m sandbox [--port-base N|0] [--seed N] ...``: prints one JSON line of URLs when ready
    (``urls``: the platforms; ``endpoint_host``: the endpoint host, on the port after theirs)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-base", type=int, default=8701,
                        help="first of six ports (five platforms, then the endpoint host); 0 picks free ports")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--rate-limit", type=float, default=1000.0, help="requests/s per platform before 429 (0: off)")
    parser.add_argument("--takedown-delay", type=float, default=5.0, help="seconds from report to removal")
    parser.add_argument("--faults", action="store_true", help="also serve the /faults/ pages (off: the catalogue only)")
    args = parser.parse_args(argv)
    ports = {name: (args.port_base + i if args.port_base else 0) for i, name in enumerate([*PLATFORMS, "endpointhost"])}
    endpoint_host = EndpointHost()

    def ready(urls):
        # The endpoint host is not a platform (nothing crawls it), so it is beside ``urls``, not in it.
        print(f"  {'endpointhost':<12} {endpoint_host.url}  (records any request to an abused endpoint: "
              f"{endpoint_host.url}/_sandbox/hits)", file=sys.stderr, flush=True)
        print(json.dumps({"ready": True, "urls": urls, "endpoint_host": endpoint_host.url, "seed": args.seed}),
              flush=True)

    try:
        asyncio.run(serve(args.host, ports, args.seed, args.rate_limit, args.takedown_delay, ready,
                          faults=args.faults, endpoint_host=endpoint_host))
    except KeyboardInterrupt:
        sys.exit(0)
