"""Item pipeline stages, one per module, wired in crawler/settings.py:
validate → normalise → dedupe/version → classify → store."""
