"""Distributed crawling on scrapy-redis: workers share one Redis; one ingest process writes SQLite.

- :mod:`.settings` — what a worker changes in crawler/settings.py (scheduler, pipelines).
- :mod:`.keys` — every Redis key Sweep uses, in one place.
- :mod:`.queue` — ``ReliableQueue``: a popped request moves to the worker's processing list and
  stays there until it is acknowledged; a dead worker's list is put back on the queue.
- :mod:`.scheduler` — ``ReliableScheduler``: scrapy-redis's scheduler with that queue, an atomic
  seen+push, heartbeats, and the acknowledgement rule of crawler/scheduler/tracking.py.
- :mod:`.pipeline` — ``RedisItemPipeline``: each listing onto one Redis list for `sweep ingest`
  (takedown/ingest.py), the only writer of the database.
"""
