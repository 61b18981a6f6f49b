"""Session fixtures of the review area (loaded by tests/conftest.py through pytest_plugins)."""
