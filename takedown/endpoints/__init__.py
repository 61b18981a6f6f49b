"""用不了 (issue #11 §3): the endpoints bomber tools abuse, their owners, and notifying them.

``extract`` reads config files a crawl attached to code-host listings; ``store`` groups what was
found by owning domain; ``contact`` finds an owner's security contact; ``notify`` files one
endpoint-abuse report per domain through the report outbox. Nothing here ever sends a request to
an abused endpoint: the only fetch is a domain's ``/.well-known/security.txt``.
"""
