"""Distributed crawling on scrapy-redis: workers share one Redis; one ingest process writes SQLite.

- :mod:`.settings` — what a worker changes in crawler/settings.py (scheduler, pipelines).
- :mod:`.keys` — every Redis key Sweep uses, in one place.
- :mod:`.connection` — Redis URLs with credentials and TLS; one-line errors, the password masked.
- :mod:`.wire` — what may be read from Redis: JSON only, schema-checked, rejects counted and kept aside;
  :mod:`.request_codec` (the shared request queue) and :mod:`.listing_codec` (listings, platforms).
- :mod:`.queue` — ``ReliableQueue``: a popped request moves to the worker's processing list and
  stays there until it is acknowledged; a dead worker's list is put back on the queue.
- :mod:`.scheduler` — ``ReliableScheduler``: scrapy-redis's scheduler with that queue, an atomic
  seen+push, heartbeats, and the acknowledgement rule of crawler/scheduler/tracking.py.
- :mod:`.pipeline` — ``RedisItemPipeline``: each listing onto one Redis list for `sweep ingest`
  (crawler/distributed/ingest.py), the only writer of the database.
"""
