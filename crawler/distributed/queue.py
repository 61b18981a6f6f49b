"""ReliableQueue: scrapy-redis's request queue with a reliable pop (Redis's LMOVE pattern).

scrapy-redis pops with RPOP/ZRANGE+ZREMRANGEBYRANK: a worker killed with SIGKILL loses every
request it had popped and not finished — silently. Here a pop atomically moves the request
to the worker's own processing list (``LMOVE queue processing``); it leaves that list only when
acknowledged (``LREM``), after the items it led to are in Redis and the requests it led to are
queued. Whoever finds a processing list whose worker has no heartbeat puts it back on the queue
(one Lua script per list, so two workers recovering at once neither lose nor double anything).

Pushing a new request and recording its fingerprint are one script too: a request is never
"seen" without being queued, even if the worker dies in between.

FIFO (LPUSH, pop from the right): requests carry no priority across workers.

Entries are JSON (:class:`~.request_codec.RequestCodec`), never pickle: scrapy-redis's
``serializer`` is not used, whatever SCHEDULER_SERIALIZER says.
"""
from __future__ import annotations

from scrapy_redis.queue import Base

from .request_codec import RequestCodec

PUSH_UNSEEN = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
    redis.call('LPUSH', KEYS[2], ARGV[2])
    return 1
end
return 0
"""

# KEYS: processing list, queue, heartbeat of the processing list's worker ('' = do not check)
REQUEUE = """
if KEYS[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
    return -1
end
local n = 0
while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'RIGHT') do
    n = n + 1
end
return n
"""


class ReliableQueue(Base):
    def __init__(self, server, spider, key, processing_key: str = ""):
        super().__init__(server, spider, key, serializer=_NoSerializer)
        self.codec = RequestCodec(spider)
        self.processing = processing_key
        self._push_unseen = server.register_script(PUSH_UNSEEN)
        self._requeue = server.register_script(REQUEUE)

    def __len__(self) -> int:
        return self.server.llen(self.key)

    # -- encoding: JSON, checked (request_codec.py) ------------------------------------------------
    def encode(self, request) -> bytes:
        return self.codec.encode(request)

    def decode(self, data: bytes):
        return self.codec.decode(data)

    _encode_request, _decode_request = encode, decode      # scrapy-redis's names, in case it calls them

    # -- queue ---------------------------------------------------------------------------------
    def push(self, request) -> None:
        self.push_data(self.encode(request))

    def push_data(self, data: bytes) -> None:
        self.server.lpush(self.key, data)

    def push_unseen(self, data: bytes, dupefilter_key: str, fingerprint: str) -> bool:
        """Queue ``data`` unless ``fingerprint`` is in the dupefilter set; both in one step."""
        return self._push_unseen(keys=[dupefilter_key, self.key], args=[fingerprint, data]) == 1

    def pop(self, timeout=0):
        """Scrapy-redis's interface (unused by ReliableScheduler, which rejects bad entries itself)."""
        entry = self.pop_data(timeout)
        return self.decode(entry) if entry else None

    def pop_data(self, timeout: float = 0) -> bytes | None:
        """Move the oldest request to the processing list and return it (None if the queue is empty)."""
        if timeout > 0:
            return self.server.blmove(self.key, self.processing, timeout, "RIGHT", "LEFT")
        return self.server.lmove(self.key, self.processing, "RIGHT", "LEFT")

    def ack(self, data: list[bytes]) -> None:
        pipe = self.server.pipeline(transaction=False)
        for d in data:
            pipe.lrem(self.processing, -1, d)
        pipe.execute()

    def requeue(self, processing_key: str, heartbeat_key: str = "") -> int:
        """Put a processing list back on the queue; -1 (nothing moved) while its worker's heartbeat lives."""
        return self._requeue(keys=[processing_key, self.key, heartbeat_key])

    def clear(self) -> None:
        self.server.delete(self.key)


class _NoSerializer:
    """Given to scrapy-redis's Base so it does not default to picklecompat; never called."""

    @staticmethod
    def loads(data):
        raise TypeError("the request queue is JSON; see request_codec.py")

    dumps = loads
