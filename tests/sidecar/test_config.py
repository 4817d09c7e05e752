"""The sidecar's configuration: every invalid key or value says which and why, all at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bcrypt
import pytest
from typer.testing import CliRunner

from pgsage.analyzer.app.cli import app
from pgsage.analyzer.engine import config as config_mod
from pgsage.analyzer.errors import ConfigError
from pgsage.analyzer.sidecar.settings import parse_listen, sidecar_of

HASH = bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4)).decode()


def errors_of(doc: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        config_mod.validate(doc)
    return str(info.value)


@pytest.mark.parametrize(("doc", "message"), [
    ({"serve": {"listen": "localhost"}}, "serve.listen: 'localhost' is not HOST:PORT"),
    ({"serve": {"listen": "127.0.0.1:99999"}}, "serve.listen: '127.0.0.1:99999': the port"),
    ({"serve": {"port": 1}}, "serve.port: unknown key"),
    ({"serve": {"tls": {"cert": "/nonexistent.crt"}}}, "serve.tls.cert: cannot read"),
    ({"serve": {"tls": {"cert": "/nonexistent.crt"}}}, "serve.tls.key: missing"),
    ({"serve": {"tls": {"cert": "x", "key": "y", "ca": "z"}}}, "serve.tls.ca: unknown key"),
    ({"serve": {"auth": {"users": {"prom": "plain-password"}}}},
     "serve.auth.users.prom: not a bcrypt hash"),
    ({"serve": {"auth": {"users": {}}}}, "serve.auth.users: expected a table"),
    ({"serve": {"auth": {"users": {"a:b": HASH}}}}, "serve.auth.users.a:b: a user name"),
    ({"serve": {"shutdown_grace": "soon"}}, "serve.shutdown_grace: 'soon' is not a duration"),
    ({"serve": {"stale_after": "-1s"}}, "serve.stale_after:"),
    ({"serve": "yes"}, "serve: expected a table"),
    ({"targets": [{"dsn": "host=a", "nmae": "x"}]}, "targets[0].nmae: unknown key"),
    ({"targets": [{"dsn": 5}]}, "targets[0].dsn: expected a string"),
    ({"targets": [{"dsn": "host=a port"}]}, "targets[0].dsn: malformed DSN"),
    ({"targets": [{"dsn": "host=a", "password_file": "/nonexistent"}]},
     "targets[0].password_file: cannot read /nonexistent"),
    ({"targets": [{"dsn": "host=a", "password_env": "PGSAGE_TEST_NOT_SET"}]},
     "targets[0].password_env: the environment variable PGSAGE_TEST_NOT_SET is not set"),
    ({"targets": [{"dsn": "host=a", "password_env": "X", "password_file": "/y"}]},
     "targets[0]: give password_file or password_env, not both"),
    ({"targets": [{"dsn": "host=a", "name": ""}]}, "targets[0].name: expected a non-empty"),
    ({"targets": [{"dsn": "host=a", "name": "db"}, {"dsn": "host=b", "name": "db"}]},
     "targets[1].name: 'db' is used twice"),
    ({"targets": [7]}, "targets[0]: expected a table"),
    ({"targets": 7}, "targets: expected an array"),
    ({"intervals": {"activity": "often"}}, "intervals.activity: 'often' is not a duration"),
    ({"intervals": {"activty": "15s"}}, "intervals.activty: no such group"),
    ({"schedule": {"jitter": 2}}, "schedule.jitter: expected a fraction"),
    ({"schedule": {"deadline": "x"}}, "schedule.deadline: 'x' is not a duration"),
    ({"schedule": {"groups": {"fast": ["nope"]}}},
     "schedule.groups.fast: 'nope' is not a collector"),
    ({"schedule": {"groups": {"fast": ["activity"]}}}, "intervals.fast: the group 'fast' needs"),
    ({"schedule": {"groups": {"a": ["wal"], "b": ["wal"]}}, "intervals": {"a": "1s", "b": "1s"}},
     "schedule.groups.b: 'wal' is also in group 'a'"),
    ({"schedule": {"groups": {"fast": "activity"}}}, "schedule.groups.fast: expected a list"),
    ({"schedule": {"often": 1}}, "schedule.often: unknown key"),
    ({"schedule": {"rules_budget": 0}}, "schedule.rules_budget: expected a share of one core"),
    ({"window": {"length": "0s"}}, "window.length: '0s' must be longer than zero"),
    ({"window": {"size": "1h"}}, "window.size: unknown key"),
    ({"metrics": {"top_n": 0}}, "metrics.top_n: 0 is out of range"),
    ({"metrics": {"top_n": "many"}}, "metrics.top_n: 'many' is not a whole number"),
    ({"metrics": {"top_tables": True}}, "metrics.top_tables: expected a whole number"),
    ({"metrics": {"top": 5}}, "metrics.top: unknown key"),
    ({"logging": {"level": "loud"}}, "logging.level: 'loud' is not one of"),
    ({"logging": {"format": "xml"}}, "logging.format: 'xml' is not one of"),
    ({"logging": {"colour": True}}, "logging.colour: unknown key"),
    ({"serev": {}}, "serev: unknown section"),
])
def test_each_invalid_key_or_value_has_its_message(doc: dict[str, Any], message: str) -> None:
    assert message in errors_of(doc)


def test_every_error_is_reported_at_once() -> None:
    text = errors_of({
        "serve": {"listen": "nowhere"},
        "targets": [{"dsn": "host=a", "oops": 1}],
        "metrics": {"top_n": -1},
        "rules": {"select": ["NOPE999"]},
        "connection": {"statement_timeout": "never"},
    })
    for key in ("serve.listen", "targets[0].oops", "metrics.top_n", "rules.select",
                "connection.statement_timeout"):
        assert key in text


def test_defaults() -> None:
    sidecar = sidecar_of(config_mod.validate({}))
    assert (sidecar.serve.host, sidecar.serve.port) == ("127.0.0.1", 9816)
    assert sidecar.serve.tls is None and sidecar.serve.auth is None
    intervals = {g.name: g.interval for g in sidecar.groups}
    assert intervals == {"activity": 15, "statements": 60, "tables": 300, "schema": 900,
                         "advice": 1800}
    assert sidecar.metrics.top_n == 50
    placed = [c for g in sidecar.groups for c in g.collectors]
    from pgsage.collectors import REGISTRY

    assert sorted(placed) == sorted(REGISTRY), "every collector runs in exactly one group"
    assert sidecar.stale_after == 45


def test_a_collector_moved_to_a_new_group_leaves_its_default_one() -> None:
    sidecar = sidecar_of(config_mod.validate({"schedule": {"groups": {"fast": ["statements"]}},
                                   "intervals": {"fast": "5s"}}))
    groups = {g.name: g for g in sidecar.groups}
    assert groups["fast"].collectors == ("statements",)
    assert "statements" not in groups["statements"].collectors


def test_valid_full_document(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    config = config_mod.validate({
        "serve": {"listen": "[::1]:9900", "auth": {"users": {"prom": HASH}}},
        "targets": [{"name": "shop", "dsn": "host=db1 dbname=shop user=pgsage",
                     "password_file": str(secret)},
                    {"dsn": "postgresql://u:pw@db2:5433/orders"}],
        "intervals": {"activity": "10s"},
        "window": {"length": "1h"},
        "metrics": {"top_n": 20},
        "logging": {"level": "debug", "format": "json"},
    })
    s = sidecar_of(config)
    assert (s.serve.host, s.serve.port) == ("::1", 9900)
    assert s.serve.auth is not None and "prom" in s.serve.auth.users
    assert [t.name for t in s.targets] == ["shop", "db2:5433/orders"]
    assert s.targets[0].params()["password"] == "s3cret"
    assert s.window_length == 3600 and s.metrics.top_n == 20
    assert (s.log_level, s.log_format) == ("debug", "json")


def test_default_target_name_never_shows_user_or_password() -> None:
    target = sidecar_of(config_mod.validate(
        {"targets": [{"dsn": "postgresql://admin:hunter2@db9:5432/app"}]})).targets[0]
    assert target.name == "db9:5432/app"


def test_malformed_dsn_error_hides_what_could_be_a_password() -> None:
    text = errors_of({"targets": [{"dsn": "host=a password=hunter2 oops"}]})
    assert "hunter2" not in text and "oops" not in text


def test_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "pgsage.toml"
    path.write_text('[serve]\nlisten = "127.0.0.1:1000"\n[metrics]\ntop_n = 5\n'
                    '[[targets]]\ndsn = "host=file"\n')
    env = {"PGSAGE_LISTEN": "127.0.0.1:2000", "PGSAGE_TOP_N": "7",
           "PGSAGE_DSN": "host=env dbname=x", "PGSAGE_INTERVAL_ACTIVITY": "3s",
           "PGSAGE_LOG_FORMAT": "json"}
    config = config_mod.load(path, env=env)
    s = sidecar_of(config)
    assert s.serve.port == 2000 and s.metrics.top_n == 7
    assert [t.dsn for t in s.targets] == ["host=env dbname=x"]
    assert {g.name: g.interval for g in s.groups}["activity"] == 3
    assert s.log_format == "json"
    flagged = config_mod.load(path, env=env, flags={"serve": {"listen": "127.0.0.1:3000"},
                                                   "targets": [{"dsn": "host=flag"}]})
    assert sidecar_of(flagged).serve.port == 3000
    assert [t.dsn for t in sidecar_of(flagged).targets] == ["host=flag"]


def test_bad_environment_value_names_its_key() -> None:
    with pytest.raises(ConfigError, match=r"metrics.top_n: 'lots'"):
        config_mod.load(None, env={"PGSAGE_TOP_N": "lots"})


def test_parse_listen() -> None:
    assert parse_listen(":9816") == ("0.0.0.0", 9816)
    assert parse_listen("[::]:80") == ("::", 80)
    with pytest.raises(ValueError):
        parse_listen("host:port")


def test_config_check_command(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[[targets]]\nname = "shop"\ndsn = "host=db1"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('[serve]\nlisten = "x"\n[metrics]\ntop_n = 0\n[[targets]]\ndsn = 3\n')
    runner = CliRunner()
    result = runner.invoke(app, ["config", "check", str(good)], env={})
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "shop" in result.output
    result = runner.invoke(app, ["config", "check", str(bad)], env={})
    assert result.exit_code == 2
    output = "".join(result.output.split())  # the terminal may wrap anywhere
    for key in ("serve.listen", "metrics.top_n", "targets[0].dsn"):
        assert key in output
    result = runner.invoke(app, ["config", "check", str(tmp_path / "missing.toml")], env={})
    assert result.exit_code == 2 and "does not exist" in " ".join(result.output.split())
