"""The host's RAM, CPUs and storage: `[host]` in the file, PGSAGE_HOST_* and analyze's flags."""

from __future__ import annotations

import pytest

from pgsage.analyzer.engine.config import load, validate
from pgsage.analyzer.errors import ConfigError
from pgsage.analyzer.model.host import ASSUMED_MEMORY, HostSpec


def test_host_table_is_parsed_with_units() -> None:
    config = validate({"host": {"memory": "16GB", "cpus": 4, "storage": "SSD"}})
    assert config.host == HostSpec(memory_bytes=16 * 1024**3, cpus=4, storage="ssd")
    assert not config.host.memory_assumed and config.host.memory_phrase() == "16.0 GB RAM"


def test_without_host_memory_is_assumed_and_said() -> None:
    host = validate({}).host
    assert host.memory == ASSUMED_MEMORY and host.memory_assumed
    assert "assumed" in host.memory_phrase() and "--memory" in host.memory_phrase()
    assert "assumed" in host.cpu_phrase()


def test_environment_gives_strings_and_flags_win() -> None:
    env = {"PGSAGE_HOST_MEMORY": "8GB", "PGSAGE_HOST_CPUS": "2", "PGSAGE_HOST_STORAGE": "hdd"}
    assert load(env=env).host == HostSpec(8 * 1024**3, 2, "hdd")
    assert load(env=env, flags={"host": {"memory": "32GB"}}).host.memory_bytes == 32 * 1024**3


def test_every_host_error_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        validate({"host": {"memory": "16", "cpus": 0, "storage": "tape", "disks": 2}})
    text = str(err.value)
    for key in ("host.memory", "host.cpus", "host.storage", "host.disks"):
        assert key in text
