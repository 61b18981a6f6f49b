"""Browser-side request policy for rendered pages."""

# Rendering needs the page's scripts and XHR only; images, fonts and media are skipped.
_SKIP = {"image", "media", "font"}


def abort_request(request) -> bool:
    """Called by scrapy-playwright for every request a rendered page makes."""
    return request.resource_type in _SKIP
