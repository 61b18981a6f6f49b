"""sweep.toml: where it is looked up, secrets from the environment or a private (0600) file only,
and what a crawl takes from it (the contact in the User-Agent, monitor thresholds). A real cycle
with secrets configured leaves none in the database, logs or evidence:
tests/test_ops_schedule.py::test_schedule_runs_two_cycles_on_an_injected_clock."""
from __future__ import annotations

import pytest

from common.config import Config, ConfigError, load_config
from ops.cycle import crawl_overrides

SECRET_FILE = '[channels.smtp]\nhost = "127.0.0.1"\npassword = "hunter2-file"\n'
ENV_ONLY = '[channels.smtp]\nhost = "127.0.0.1"\npassword_env = "SWEEP_SMTP_PASSWORD"\n'


def test_lookup_order(write_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config(environ={}).data == {}                                   # nothing: defaults
    default = write_config('[crawl]\ncontact = "a@example.org"\n', name="sweep.toml")
    assert load_config(environ={}).path.resolve() == default                    # ./sweep.toml
    other = write_config('[crawl]\ncontact = "b@example.org"\n', name="other.toml")
    assert load_config(environ={"SWEEP_CONFIG": str(other)}).path == other      # $SWEEP_CONFIG beats it
    explicit = write_config('[crawl]\ncontact = "c@example.org"\n', name="explicit.toml")
    assert load_config(explicit, environ={"SWEEP_CONFIG": str(other)}).path == explicit   # --config beats both


def test_missing_or_broken_files_are_errors(write_config, tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(environ={"SWEEP_CONFIG": str(tmp_path / "nope.toml")})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write_config("[crawl\n"))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_file_with_secrets_readable_by_others_is_refused(write_config, mode):
    path = write_config(SECRET_FILE, mode=mode)
    with pytest.raises(ConfigError, match="chmod 600") as refused:
        load_config(path)
    assert "hunter2" not in str(refused.value)                  # the refusal does not print the secret


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_file_may_hold_secrets(write_config, mode):
    assert load_config(write_config(SECRET_FILE, mode=mode)).secret("channels.smtp", "password") == "hunter2-file"


def test_secrets_from_the_environment_need_no_private_file(write_config):
    config = load_config(write_config(ENV_ONLY, mode=0o644))
    assert config.secret("channels.smtp", "password", environ={"SWEEP_SMTP_PASSWORD": "from-env"}) == "from-env"
    with pytest.raises(ConfigError, match=r"\$SWEEP_SMTP_PASSWORD, which is not set"):
        config.secret("channels.smtp", "password", environ={})


@pytest.mark.parametrize("body", ['[platforms.marketplace.api]\ntoken = "t0ken"\n',
                                  '[channels.smtp]\nsmtp_password = "p"\n', '[x]\nplatform_api_token = "t"\n'])
def test_nested_and_prefixed_secrets_count_too(write_config, body):
    with pytest.raises(ConfigError, match="readable by others"):
        load_config(write_config(body, mode=0o644))


def test_the_contact_goes_into_the_user_agent():
    overrides = crawl_overrides(Config({"crawl": {"contact": "abuse@platform-safety.example"}}))
    assert overrides["USER_AGENT"].startswith("Sweep/")
    assert "abuse@platform-safety.example" in overrides["USER_AGENT"]
    assert "https://safety.example/contact" in crawl_overrides(
        Config({"crawl": {"contact": "https://safety.example/contact"}}))["USER_AGENT"]
    assert "USER_AGENT" not in crawl_overrides(Config())                     # the default in crawler/settings.py


@pytest.mark.parametrize("contact", ["nobody", "a@b", "x@example.org; rm -rf", 42])
def test_a_contact_platforms_cannot_use_is_refused(contact):
    with pytest.raises(ConfigError, match=r"\[crawl\] contact"):
        crawl_overrides(Config({"crawl": {"contact": contact}}))


def test_monitor_thresholds_from_the_config():
    overrides = crawl_overrides(Config({"monitors": {"min_listings": 50, "max_retry_ratio": 0.1}}))
    assert overrides == {"SWEEP_MONITOR_MIN_LISTINGS": 50, "SWEEP_MONITOR_MAX_RETRY_RATIO": 0.1}
    with pytest.raises(ConfigError, match="unknown threshold"):
        crawl_overrides(Config({"monitors": {"min_listing": 5}}))
