"""Redis with a password, an ACL user and TLS (crawler/distributed/connection.py, `--redis`): a real
redis-server started with --requirepass, --user and --tls-port on a certificate made here, real
`sweep worker` and `sweep ingest` processes. With the right credentials a crawl goes through over
TLS; without them each command stops with one line that never shows the password."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawler.distributed.connection import mask, with_credentials
from tests import helpers
from tests.helpers import base_url_args, free_port
from tests.fixtures_crawl import RedisServer
from tests.fixtures_takedown import make_tls_certs

ADMIN = "adm1n-demo-pass"          # requirepass: the default user's password
USER, PASSWORD = "sweep", "w0rker-demo-pass"


@pytest.fixture(scope="module")      # the tests that use it are marked redis (a module fixture: not in TIERS)
def secured(tmp_path_factory):
    """redis-server with requirepass, an ACL user limited to sweep:* keys, and TLS beside plain TCP."""
    directory = tmp_path_factory.mktemp("redis-secured")
    ca, cert, key = make_tls_certs(directory)
    tls_port = free_port()
    server = RedisServer(directory, password=ADMIN, extra=[
        "--requirepass", ADMIN, "--user", USER, "on", f">{PASSWORD}", "~sweep:*", "+@all", "-@dangerous",
        "--tls-port", str(tls_port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"]).start()
    server.tls_port, server.ca = tls_port, ca
    yield server
    server.stop()


def sweep(tmp_path: Path, name: str, *args: str, env: dict | None = None, timeout: float = 300):
    return helpers.sweep(*args, check=False, timeout=timeout, env=env, log=tmp_path / f"{name}.log")


def test_urls_are_masked_and_credentials_filled_in():
    assert mask("rediss://sweep:s3cret@redis.internal:6380/0?ssl_ca_certs=/ca.pem") == \
        "rediss://sweep:***@redis.internal:6380/0?ssl_ca_certs=/ca.pem"
    assert mask("redis://:s3cret@redis.internal/0") == "redis://:***@redis.internal/0"
    assert mask("redis://redis.internal/0") == "redis://redis.internal/0"
    assert with_credentials("redis://redis.internal/0", "sweep", "p@ss:/word") == \
        "redis://sweep:p%40ss%3A%2Fword@redis.internal/0"
    assert with_credentials("redis://a:b@redis.internal/0", "sweep", "other") == "redis://a:b@redis.internal/0"


@pytest.mark.redis
@pytest.mark.parametrize("command", ["ingest", "worker"])
def test_without_credentials_each_command_stops_with_one_line(secured, command, tmp_path):
    base = f"127.0.0.1:{secured.port}/0"
    extra = ["--db", str(tmp_path / "sweep.db")] if command == "ingest" else ["--platform", "forum"]
    for url, said in [(f"redis://{base}", "needs a password"),
                      (f"redis://{USER}:not-the-password@{base}", "refused the credentials"),
                      (f"rediss://{USER}:not-the-password@127.0.0.1:{secured.tls_port}/0",      # the CA unknown
                       "certificate verify failed")]:
        proc = sweep(tmp_path, command, command, *extra, env={"SWEEP_REDIS_URL": url}, timeout=60)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and said in lines[0], proc.stderr
        assert "not-the-password" not in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.redis
def test_an_acl_user_over_tls_crawls_and_ingests(secured, sandbox, catalogue, model_path, tmp_path):
    """The worker's URL (user, password, CA) in $SWEEP_REDIS_URL; ingest's password from the config file's
    password_env. The password is in no output."""
    url = f"rediss://{USER}:{PASSWORD}@127.0.0.1:{secured.tls_port}/0?ssl_ca_certs={secured.ca}"
    worker = sweep(tmp_path, "worker", "worker", "--platform", "forum",
                   *base_url_args({"forum": sandbox.urls["forum"]}), env={"SWEEP_REDIS_URL": url})
    assert worker.returncode == 0, worker.stderr[-3000:]
    config = tmp_path / "sweep.toml"
    config.write_text(f'[redis]\nurl = "rediss://127.0.0.1:{secured.tls_port}/0?ssl_ca_certs={secured.ca}"\n'
                      f'username = "{USER}"\npassword_env = "SWEEP_TEST_REDIS_PASSWORD"\n')
    db = tmp_path / "sweep.db"
    ingest = sweep(tmp_path, "ingest", "ingest", "--config", str(config), "--db", str(db), "--exit-when-idle", "1",
                   env={"SWEEP_TEST_REDIS_PASSWORD": PASSWORD})
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    ids = {r[0] for r in sqlite3.connect(db).execute("SELECT id FROM listings")}
    assert ids == {k for k in catalogue.ground_truth() if k.startswith("forum:")}
    for proc in (worker, ingest):
        assert PASSWORD not in proc.stdout + proc.stderr
    admin = secured.client()
    assert admin.llen("sweep:items") == 0 and not admin.exists("sweep:rejected")


@pytest.mark.redis
def test_the_default_user_with_requirepass_works(secured, model_path, tmp_path):
    proc = sweep(tmp_path, "ingest", "ingest", "--db", str(tmp_path / "sweep.db"), "--exit-when-idle", "0",
                 env={"SWEEP_REDIS_URL": f"redis://:{ADMIN}@127.0.0.1:{secured.port}/0"}, timeout=120)
    assert proc.returncode == 0 and "ingested 0 listings" in proc.stdout, proc.stderr[-3000:]
    assert ADMIN not in proc.stdout + proc.stderr


def test_a_password_in_the_config_files_url_needs_a_private_file(tmp_path):
    import click

    from cli.crawl import redis_url

    config = tmp_path / "sweep.toml"
    config.write_text('[redis]\nurl = "redis://sweep:s3cret@redis.internal:6379/0"\n')
    config.chmod(0o644)
    with pytest.raises(click.ClickException, match="chmod 600") as refused:
        redis_url(None, str(config))
    assert "s3cret" not in str(refused.value)
    config.chmod(0o600)
    assert redis_url(None, str(config)) == "redis://sweep:s3cret@redis.internal:6379/0"
