"""`[planning]`: the functions and schemas the planner may run, validated like the rest."""

from __future__ import annotations

import pytest

from pgsage.analyzer.engine import config
from pgsage.analyzer.errors import ConfigError
from pgsage.analyzer.live.trust import TrustOptions


def test_trusted_names_come_from_the_file_the_environment_and_the_flags() -> None:
    cfg = config.load(env={"PGSAGE_TRUST_SCHEMAS": "ext, app"},
                      flags={"planning": {"trust_functions": ["app.price"]}})
    assert cfg.trust == TrustOptions(functions=("app.price",), schemas=("ext", "app"))
    assert config.load(env={}).trust == TrustOptions()


def test_every_problem_of_the_planning_section_is_reported_with_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        config.validate({"planning": {"trust_functions": ["price", "a.b.c"],
                                      "trust_schemas": "x", "trust_roles": ["r"]}})
    message = str(caught.value)
    assert "planning.trust_functions: 'price' is not schema.function" in message
    assert "planning.trust_functions: 'a.b.c' is not schema.function" in message
    assert "planning.trust_roles: unknown key" in message
    assert "planning.trust_schemas" not in message  # a comma-separated string is a list
