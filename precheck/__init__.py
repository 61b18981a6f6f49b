"""发不出: checking a listing before it is published (`sweep serve-check`, `sweep check-stream`).

    banks.py      what reviewers confirmed (contacts, links, sellers, MinHash signatures) + imported indicators
    decide.py     input validation and one decision per listing: model + bank matches → allow/review/block
    decision_log.py  the sampled audit log of decisions, written off the request path
    keys.py       API keys (SHA-256 at rest in the accounts file) and per-key rate limits
    api.py        the Starlette JSON API;  openapi.py its schema
    stream.py     the Redis Stream consumer (consumer group, ack after the output is written, XAUTOCLAIM)
"""
