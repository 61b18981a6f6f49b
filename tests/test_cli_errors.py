"""A SweepError from any library becomes one line on stderr and its exit code, in one place (cli/main.py)."""
from __future__ import annotations

import click
from click.testing import CliRunner

from cli.main import SweepGroup, cli
from common.errors import SweepError
from tests.conftest import sweep


def test_a_sweep_error_is_one_line_with_its_exit_code():
    @click.group(cls=SweepGroup)
    def group():
        """Example: none"""

    @group.command()
    def busy():
        raise SweepError("another cycle holds the lock; try again later", exit_code=75)

    @group.command()
    def broken():
        raise SweepError("the model file is not a Sweep artifact")

    busy_out = CliRunner().invoke(group, ["busy"])
    assert (busy_out.exit_code, busy_out.output) == (75, "Error: another cycle holds the lock; try again later\n")
    broken_out = CliRunner().invoke(group, ["broken"])
    assert (broken_out.exit_code, broken_out.output) == (1, "Error: the model file is not a Sweep artifact\n")


def test_library_errors_are_sweep_errors():
    from classifier.artifact import ArtifactError
    from common.config import ConfigError
    from common.optional import MissingExtra
    from crawler.profile import ProfileError
    from precheck.keys import ApiKeyError
    from review.users import UserError
    from store.accounts import AccountsFileError
    from store.db import DatabaseUnusable

    for error in (ArtifactError, ConfigError, MissingExtra, ProfileError, ApiKeyError, UserError, AccountsFileError,
                  DatabaseUnusable):
        assert issubclass(error, SweepError), error
    assert issubclass(ConfigError, ValueError)        # existing `except ValueError` callers still catch it


def test_a_bad_config_is_one_line_from_a_command_that_does_not_catch_it(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text("[reporter]\norg = 'x'\n[shedule]\n", encoding="utf-8")
    proc = sweep("indicators", "export", "--db", str(tmp_path / "s.db"), "--config", str(config), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"Error: {config}: unknown key 'shedule' (did you mean 'schedule'?)"], proc.stderr


def test_a_missing_run_is_one_line(tmp_path):
    from store.db import open_db

    db = tmp_path / "s.db"
    open_db(db).close()
    out = CliRunner().invoke(cli, ["runs", "--db", str(db), "--id", "999"])
    assert (out.exit_code, out.output) == (1, f"Error: no run 999 in {db}\n")
