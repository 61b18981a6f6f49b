"""`python -m cli …` runs the `sweep` command (used where a child process must be this interpreter)."""
from cli.main import cli

cli()
