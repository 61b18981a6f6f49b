"""The check API (`sweep serve-check`): Starlette, JSON in and out.

    POST /v1/check        one listing → {decision, label, score, reasons, matches, model_version}
    POST /v1/check/batch  {"listings": [...]} (at most ``max_batch``) → {"results": [...]}
    GET  /healthz         {"status": "ok", model, bank sizes} (no key needed)
    GET  /openapi.json    the OpenAPI 3.1 schema (no key needed)

A key goes in ``Authorization: Bearer <key>`` (or ``X-API-Key``). Errors are JSON
``{"error": {"code", "message"[, "field", "index"]}}``: 400 bad JSON or a bad listing (the field
named), 401 no or unknown key, 404/405, 413 body over ``max_body_bytes`` or a batch over
``max_batch``, 415 not JSON, 429 over the key's rate (with Retry-After), 503 a check worker stopped
mid-check (it is replaced; retry). Crawled-looking text comes back only inside JSON strings, never
as markup. Checks run in precheck/pool.py (micro-batched, in ``[check] workers`` processes).
"""
from __future__ import annotations

import asyncio
import json
import math
import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from precheck.decide import InvalidListing, validate
from precheck.openapi import schema as openapi_schema
from precheck.pool import WorkerLost


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra


def _error(status: int, code: str, message: str, headers=None, **extra) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status, headers=headers)


class CheckService:
    """Everything a request needs: the checks (a precheck.pool.CheckPool, which also keeps the banks
    fresh), keys, the rate limiter, the decision log, limits."""

    def __init__(self, checker, keys, limiter, log, max_body_bytes: int = 2_000_000, max_batch: int = 1000):
        self.checker, self.keys, self.limiter, self.log = checker, keys, limiter, log
        self.max_body_bytes, self.max_batch = max_body_bytes, max_batch
        self.stats = {"checked": 0, "rejected": 0}

    def close(self) -> None:
        self.checker.close()
        if self.log is not None:
            self.log.close()

    def authorise(self, request: Request) -> dict:
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key")
        record = self.keys.lookup(key)
        if record is None:
            raise ApiError(401, "unauthorised", "a valid API key is required (Authorization: Bearer <key>)")
        wait = self.limiter.take(record["name"], record["rate_per_second"])
        if wait:
            raise ApiError(429, "rate_limited", f"over {record['rate_per_second']:g} requests/s for this key",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return record

    async def body(self, request: Request):
        if "json" not in request.headers.get("content-type", "").split(";")[0]:
            raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            raise ApiError(413, "too_large", f"the body is over {self.max_body_bytes} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise ApiError(413, "too_large", f"the body is over {self.max_body_bytes} bytes")
            chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks), parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "bad_json", f"the body is not valid JSON ({str(exc)[:120]})") from None

    async def run(self, key: dict, via: str, raw: list) -> list[dict]:
        listings = []
        for i, item in enumerate(raw):
            try:
                listings.append(validate(item))
            except InvalidListing as exc:
                self.stats["rejected"] += 1
                extra = {"index": i} if via == "batch" else {}
                raise ApiError(400, "invalid_listing", str(exc), field=exc.field, **extra) from None
        try:
            results = await asyncio.wrap_future(self.checker.submit(listings))
        except WorkerLost as exc:
            raise ApiError(503, "unavailable", str(exc), headers={"Retry-After": "1"}) from None
        self.stats["checked"] += len(results)
        if self.log is not None:
            self.log.record(key["name"], via, listings, results)
        return results


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def create_app(service: CheckService) -> Starlette:
    async def check(request: Request):
        key = service.authorise(request)
        body = await service.body(request)
        return JSONResponse((await service.run(key, "single", [body]))[0])

    async def batch(request: Request):
        key = service.authorise(request)
        body = await service.body(request)
        listings = body.get("listings") if isinstance(body, dict) else None
        if not isinstance(listings, list):
            raise ApiError(400, "invalid_batch", 'send {"listings": [ ... ]}')
        if len(listings) > service.max_batch:
            raise ApiError(413, "batch_too_large", f"at most {service.max_batch} listings per batch "
                                                   f"({len(listings)} sent)")
        return JSONResponse({"results": await service.run(key, "batch", listings)})

    async def healthz(request: Request):
        pool = service.checker
        return JSONResponse({"status": "ok", "model_version": pool.model_version, "banks": pool.bank_sizes,
                             "workers": pool.workers, "model_calls": pool.stats, **service.stats})

    async def openapi(request: Request):
        return JSONResponse(openapi_schema(service.max_batch))

    async def on_api_error(request, exc: ApiError):
        return _error(exc.status, exc.code, exc.message, exc.headers, **exc.extra)

    async def on_http_error(request, exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    app = Starlette(routes=[Route("/v1/check", check, methods=["POST"]),
                            Route("/v1/check/batch", batch, methods=["POST"]),
                            Route("/healthz", healthz, methods=["GET"]),
                            Route("/openapi.json", openapi, methods=["GET"])],
                    exception_handlers={ApiError: on_api_error, HTTPException: on_http_error})
    app.state.service = service
    return app


def build_service(db_path: str, config, model_path: str | None = None) -> CheckService:
    """The service for the database at ``db_path`` with ``[check]`` settings from ``config``."""
    from store.accounts import accounts_path
    from precheck.decision_log import DecisionLog
    from precheck.keys import KeyStore, RateLimiter
    from precheck.pool import CheckPool

    sect = config.section("check")
    max_batch = min(1000, int(sect.get("max_batch", 1000)))
    workers = int(sect.get("workers", 0))
    if workers < 0:
        raise ValueError(f"[check] workers = {workers}: 0 (in the server process) or more worker processes")
    pool = CheckPool({"db_path": str(db_path), "config": config.data, "model_path": model_path}, workers, max_batch)
    keys = KeyStore(str(accounts_path(db_path)), ttl=float(sect.get("key_refresh_seconds", 2)))
    log = DecisionLog(db_path, float(sect.get("sample_allow", 0.05)))
    return CheckService(pool, keys, RateLimiter(time.monotonic), log, int(sect.get("max_body_bytes", 2_000_000)),
                        max_batch)
