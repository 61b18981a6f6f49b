"""The check API (`sweep serve-check`): Starlette, JSON in and out.

    POST /v1/check        one listing → {decision, label, score, reasons, matches, model_version}
    POST /v1/check/batch  {"listings": [...]} (at most ``max_batch``) → {"results": [...]}
    GET  /healthz         {"status": "ok", model, bank sizes} (no key needed)
    GET  /openapi.json    the OpenAPI 3.1 schema (no key needed)

A key goes in ``Authorization: Bearer <key>`` (or ``X-API-Key``). Errors are JSON
``{"error": {"code", "message"[, "field", "index"]}}``: 400 bad JSON or a bad listing (the field
named), 401 no or unknown key, 404/405, 413 body over ``max_body_bytes`` or a batch over
``max_batch``, 415 not JSON, 429 over the key's rate (with Retry-After). Crawled-looking text
comes back only inside JSON strings, never as markup.
"""
from __future__ import annotations

import json
import math
import threading
import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from precheck.decide import InvalidListing, validate
from precheck.openapi import schema as openapi_schema


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra


def _error(status: int, code: str, message: str, headers=None, **extra) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status, headers=headers)


class CheckService:
    """Everything a request needs: the checker, keys, the rate limiter, the decision log, limits.
    Banks are rebuilt from the database every ``bank_refresh`` seconds by a background thread."""

    def __init__(self, checker, keys, limiter, log, load_banks=None, bank_refresh: float = 60.0,
                 max_body_bytes: int = 2_000_000, max_batch: int = 1000):
        self.checker, self.keys, self.limiter, self.log = checker, keys, limiter, log
        self.max_body_bytes, self.max_batch = max_body_bytes, max_batch
        self.stats = {"checked": 0, "rejected": 0}
        self._stop = threading.Event()
        if load_banks is not None and bank_refresh > 0:
            threading.Thread(target=self._refresh, args=(load_banks, bank_refresh), daemon=True,
                             name="check-banks").start()

    def _refresh(self, load_banks, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.checker.banks = load_banks()
            except Exception:        # a locked or busy database: keep the banks we have, try again later
                continue

    def close(self) -> None:
        self._stop.set()
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

    def run(self, key: dict, via: str, raw: list) -> list[dict]:
        listings = []
        for i, item in enumerate(raw):
            try:
                listings.append(validate(item))
            except InvalidListing as exc:
                self.stats["rejected"] += 1
                extra = {"index": i} if via == "batch" else {}
                raise ApiError(400, "invalid_listing", str(exc), field=exc.field, **extra) from None
        results = self.checker.check(listings)
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
        return JSONResponse(service.run(key, "single", [body])[0])

    async def batch(request: Request):
        key = service.authorise(request)
        body = await service.body(request)
        listings = body.get("listings") if isinstance(body, dict) else None
        if not isinstance(listings, list):
            raise ApiError(400, "invalid_batch", 'send {"listings": [ ... ]}')
        if len(listings) > service.max_batch:
            raise ApiError(413, "batch_too_large", f"at most {service.max_batch} listings per batch "
                                                   f"({len(listings)} sent)")
        return JSONResponse({"results": service.run(key, "batch", listings)})

    async def healthz(request: Request):
        banks = service.checker.banks
        return JSONResponse({"status": "ok", "model_version": service.checker.classifier.version,
                             "banks": {**{k: len(v) for k, v in banks.entries.items()},
                                       "signature": len(banks.signatures)}, **service.stats})

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
    from classifier.artifact import DEFAULT_MODEL
    from classifier.predict import Classifier

    from store.accounts import accounts_path
    from store.db import open_db
    from precheck.banks import Banks
    from precheck.decide import Checker
    from precheck.decision_log import DecisionLog
    from precheck.keys import KeyStore, RateLimiter

    sect = config.section("check")
    relist = config.section("relist")
    num_perm, threshold = int(relist.get("num_perm", 128)), float(relist.get("text_threshold", 0.6))

    def load_banks():
        db = open_db(db_path)
        try:
            return Banks.load(db, num_perm, threshold)
        finally:
            db.close()

    checker = Checker(Classifier.load(model_path or DEFAULT_MODEL), load_banks(),
                      decisions=dict(sect.get("decisions", {})), block_score=float(sect.get("block_score", 0.9)))
    keys = KeyStore(str(accounts_path(db_path)), ttl=float(sect.get("key_refresh_seconds", 2)))
    log = DecisionLog(db_path, float(sect.get("sample_allow", 0.05)))
    return CheckService(checker, keys, RateLimiter(time.monotonic), log, load_banks,
                        float(sect.get("bank_refresh_seconds", 60)), int(sect.get("max_body_bytes", 2_000_000)),
                        min(1000, int(sect.get("max_batch", 1000))))
