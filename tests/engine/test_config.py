"""Configuration: a TOML file, then `PGSAGE_*` variables, then flags; every error at once.

These call `analyzer.config.load` directly (no database, no subprocess); tests/app/test_cli.py
shows the same behaviour through the command line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgsage.analyzer.engine.config import load
from pgsage.analyzer.errors import ConfigError
from pgsage.analyzer.live.connection import SessionLimits
from pgsage.rules import REGISTRY


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pgsage.toml"
    path.write_text(text)
    return path


def errors_of(**kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load(**kwargs)  # type: ignore[arg-type]
    return str(info.value)


def test_without_file_environment_or_flags_the_defaults_apply() -> None:
    config = load(env={})
    assert config.limits == SessionLimits()
    assert config.rules.select == () and config.rules.ignore == ()


def test_a_file_sets_timeouts_with_units(tmp_path: Path) -> None:
    path = toml(tmp_path, '[connection]\nstatement_timeout = "10s"\nlock_timeout = "250ms"\n'
                          'connect_timeout = "3s"\n')
    limits = load(path, env={}).limits
    assert (limits.statement_timeout_ms, limits.lock_timeout_ms, limits.connect_timeout_s) == (
        10_000, 250, 3)


def test_a_file_selects_and_ignores_rules(tmp_path: Path) -> None:
    path = toml(tmp_path, '[rules]\nselect = ["index"]\nignore = ["IX002"]\n')
    rules = load(path, env={}).rules
    assert rules.select == ("index",) and rules.ignore == ("IX002",)


def test_a_comma_separated_string_is_a_list(tmp_path: Path) -> None:
    path = toml(tmp_path, '[rules]\nignore = "IX002, index.duplicate"\n')
    assert load(path, env={}).rules.ignore == ("IX002", "index.duplicate")


def test_rules_are_selected_by_code_prefix_category_or_dotted_name(tmp_path: Path) -> None:
    for selector in ("IX002", "IX", "index", "index.duplicate"):
        path = toml(tmp_path, f'[rules]\nselect = ["{selector}"]\n')
        assert load(path, env={}).rules.select == (selector,)


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    path = toml(tmp_path, '[connection]\nstatement_timeout = "10s"\n')
    config = load(path, env={"PGSAGE_STATEMENT_TIMEOUT": "3s"})
    assert config.limits.statement_timeout_ms == 3000


def test_pgsage_rules_variables_take_comma_separated_lists() -> None:
    config = load(env={"PGSAGE_RULES_SELECT": "IX,index.duplicate",
                       "PGSAGE_RULES_IGNORE": "IX002"})
    assert config.rules.select == ("IX", "index.duplicate")
    assert config.rules.ignore == ("IX002",)


def test_flags_override_the_environment() -> None:
    config = load(env={"PGSAGE_RULES_IGNORE": "IX002"},
                  flags={"rules": {"ignore": ["index.duplicate"]}})
    assert config.rules.ignore == ("index.duplicate",)


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = toml(tmp_path, '[rules]\nselect = ["IX"]\nignore = ["IX002"]\n')
    config = load(path, env={}, flags={"rules": {"select": ["IX002"]}})
    assert config.rules.select == ("IX002",)
    assert config.rules.ignore == ("IX002",)  # a key the flags did not give stays


def test_an_option_of_a_rule_is_validated_and_kept(tmp_path: Path) -> None:
    numeric = [(r.code, k, v) for r in REGISTRY.values() for k, v in r.default_options().items()
               if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numeric:
        pytest.skip("no rule has a numeric option yet")
    code, key, default = numeric[0]
    config = load(toml(tmp_path, f"[rules.options.{code}]\n{key} = {default!r}\n"), env={})
    assert config.rules.options[code] == {key: default}


def test_the_readme_configuration_example_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = re.search(r"```toml\n(.*?)```", readme, re.DOTALL)
    assert example, "README.md has no TOML example"
    config = load(toml(tmp_path, example.group(1)), env={})
    assert config.rules.ignore == ("IX004",)


def test_an_option_of_the_wrong_type_names_its_key(tmp_path: Path) -> None:
    numeric = [(r, k) for r in REGISTRY.values() for k, v in r.default_options().items()
               if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numeric:
        pytest.skip("no rule has a numeric option yet")
    rule, key = numeric[0]
    message = errors_of(path=toml(tmp_path, f'[rules.options.{rule.code}]\n{key} = "lots"\n'),
                        env={})
    assert f"rules.options.{rule.code}.{key}" in message


def test_every_error_is_reported_at_once_with_its_key(tmp_path: Path) -> None:
    path = toml(tmp_path, '[connection]\nstatement_timeout = "soon"\nlock_timeout = "-1s"\n'
                          'port = 5432\n'
                          '[rules]\nselect = ["XX999"]\nignore = [1, 2]\nfrobnicate = true\n'
                          '[rules.options.ZZ123]\nlimit = 1\n'
                          '[rules.options.IX002]\nno_such_option = 3\n')
    message = errors_of(path=path, env={"PGSAGE_CONNECT_TIMEOUT": "never"})
    for key in ("connection.statement_timeout", "connection.lock_timeout", "connection.port",
                "connection.connect_timeout", "rules.select", "rules.ignore",
                "rules.frobnicate", "rules.options.ZZ123", "rules.options.IX002.no_such_option"):
        assert key in message, f"{key} missing from:\n{message}"
    assert message.startswith("invalid configuration:")


def test_a_selector_that_matches_no_rule_is_an_error() -> None:
    assert "'XX' matches no rule" in errors_of(env={"PGSAGE_RULES_SELECT": "XX"})


def test_a_section_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    message = errors_of(path=toml(tmp_path, 'rules = "all"\nconnection = 3\n'), env={})
    assert "rules: expected a table" in message
    assert "connection: expected a table" in message


def test_a_misspelt_section_is_an_error(tmp_path: Path) -> None:
    message = errors_of(path=toml(tmp_path, '[rule]\nselect = ["IX"]\n'), env={})
    assert "rule:" in message


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    assert "does not exist" in errors_of(path=tmp_path / "nope.toml", env={})


def test_a_file_that_is_not_toml_is_an_error(tmp_path: Path) -> None:
    assert "not valid TOML" in errors_of(path=toml(tmp_path, "= = ="), env={})
