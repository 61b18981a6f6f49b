"""The reviewer web UI: server-rendered pages (Starlette + Jinja2), no build step."""
from review.web.server import create_app

__all__ = ["create_app"]
