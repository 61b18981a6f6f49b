"""Downloader middlewares, one per module, wired in crawler/settings.py:
offsite (the profile's hosts, no private/link-local addresses, redirects included) and
retry_after (429/503: back off as the platform asks, then retry); and for bad input
bad_content (binary, truncated, malformed, too large, timeouts), charset (wrong or missing
charsets), redirect_loop and browser_retry (tabs that crash or hang)."""
