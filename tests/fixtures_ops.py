"""Session fixtures of the ops area (loaded by tests/conftest.py through pytest_plugins)."""
