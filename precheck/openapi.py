"""The OpenAPI 3.1 schema of the check API, served at /openapi.json."""
from __future__ import annotations

_STR = {"type": "string"}
LISTING = {"type": "object", "additionalProperties": False, "properties": {
    "id": {**_STR, "description": "Your id, echoed back"}, "title": {**_STR, "maxLength": 1000},
    "description": {**_STR, "maxLength": 20000}, "price": {"type": ["number", "string"]},
    "seller": {**_STR, "description": "The seller's account id on the platform"},
    "platform": _STR, "kind": {"enum": ["ecommerce", "appstore", "forum"]},
    "contacts": {"type": "array", "items": _STR, "maxItems": 50},
    "links": {"type": "array", "items": _STR, "maxItems": 50}},
    "description": "A title or a description is required."}
RESULT = {"type": "object", "properties": {
    "decision": {"enum": ["allow", "review", "block"]}, "label": _STR, "score": {"type": "number"},
    "reasons": {"type": "array", "items": {"type": "object"}},
    "matches": {"type": "array", "items": {"type": "object"}}, "model_version": _STR, "id": _STR}}
ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": _STR, "message": _STR, "field": _STR, "index": {"type": "integer"}}}}}


def _responses(ok: dict) -> dict:
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"200": {"description": "Decided", "content": {"application/json": {"schema": ok}}},
            **{str(code): {**err, "description": why} for code, why in (
                (400, "Bad JSON or a bad listing"), (401, "No or unknown API key"), (413, "Body or batch too large"),
                (415, "Not JSON"), (429, "Over the key's rate limit (Retry-After)"),
                (503, "A check worker stopped mid-check; it was replaced (retry)"))}}


def schema(max_batch: int = 1000) -> dict:
    ref = {"$ref": "#/components/schemas/Listing"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sweep check API", "version": "1",
                 "description": "Check a listing before it is published: model + banks of confirmed listings."},
        "components": {"schemas": {"Listing": LISTING, "Result": RESULT, "Error": ERROR},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/check": {"post": {"summary": "Check one listing", "requestBody": {"required": True, "content": {
                "application/json": {"schema": ref}}},
                "responses": _responses({"$ref": "#/components/schemas/Result"})}},
            "/v1/check/batch": {"post": {"summary": f"Check up to {max_batch} listings", "requestBody": {
                "required": True, "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "listings": {"type": "array", "items": ref, "maxItems": max_batch}}, "required": ["listings"]}}}},
                "responses": _responses({"type": "object", "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}}}})}},
            "/healthz": {"get": {"summary": "Liveness, model version and bank sizes", "security": [],
                                 "responses": {"200": {"description": "OK"}}}},
        },
    }
