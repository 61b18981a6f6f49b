"""Session fixtures of the takedown area (loaded by tests/conftest.py through pytest_plugins)."""
