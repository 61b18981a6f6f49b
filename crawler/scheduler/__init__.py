"""Frontiers that survive any kill, and the acknowledgement rule they share.

- :mod:`.frontier` — the requests still to do and the requests already seen, in one SQLite
  file beside the database (``sweep.db`` → ``sweep.db-frontier``).
- :mod:`.durable` — ``DurableScheduler``, Scrapy's scheduler on that file: every request is on
  disk before the engine sees it, and stays there until it is acknowledged.
- :mod:`.tracking` — ``AckTracker``: a request is acknowledged only once every request it led to
  is stored in the frontier and every listing it yielded is committed (or dropped).

The distributed workers (crawler/distributed/) use the same tracker over Redis.
"""
