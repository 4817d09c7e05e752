"""Configuration: a TOML file, then `PGSAGE_*` environment variables, then CLI flags.

Validation collects every problem with its key and reports them together, so a user fixes
a file in one pass instead of one error per run.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgsage.analyzer.errors import ConfigError
from pgsage.analyzer.live.connection import SessionLimits
from pgsage.analyzer.live.trust import TrustOptions
from pgsage.analyzer.model.host import STORAGE_KINDS, HostSpec
from pgsage.analyzer.units import parse_duration, parse_size


@dataclass(frozen=True)
class RulesConfig:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    limits: SessionLimits = field(default_factory=SessionLimits)
    rules: RulesConfig = field(default_factory=RulesConfig)
    host: HostSpec = field(default_factory=HostSpec)
    """RAM, CPUs and storage of the database host (`[host]`, `--memory/--cpus/--storage`)."""
    trust: TrustOptions = field(default_factory=TrustOptions)
    """Functions and schemas the planner may run although no superuser vouches for them
    (`[planning] trust_functions/trust_schemas`, `--trust-function/--trust-schema`)."""
    parts: Mapping[str, object] = field(default_factory=dict)
    """What each registered part (`register_part`: the sidecar) made of its own sections."""
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The merged document, for parts (the sidecar) that validate their own sections."""


PartValidator = Callable[[Mapping[str, Any], SessionLimits, list[str]], object]
"""Builds a part's configuration from the merged document, appending problems to the list."""

_PARTS: dict[str, tuple[tuple[str, ...], PartValidator]] = {}


def register_part(name: str, sections: tuple[str, ...], validator: PartValidator) -> None:
    """A part of pgsage above the engine (the sidecar) that reads sections of its own.

    The engine validates them with everything else, so every problem is reported at once,
    without importing the part: the part registers itself when it is imported.
    """
    _PARTS[name] = (sections, validator)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


ENV_KEYS: Mapping[str, tuple[str, ...]] = {
    "PGSAGE_STATEMENT_TIMEOUT": ("connection", "statement_timeout"),
    "PGSAGE_LOCK_TIMEOUT": ("connection", "lock_timeout"),
    "PGSAGE_CONNECT_TIMEOUT": ("connection", "connect_timeout"),
    "PGSAGE_RULES_SELECT": ("rules", "select"),
    "PGSAGE_RULES_IGNORE": ("rules", "ignore"),
    "PGSAGE_LISTEN": ("serve", "listen"),
    "PGSAGE_TLS_CERT": ("serve", "tls", "cert"),
    "PGSAGE_TLS_KEY": ("serve", "tls", "key"),
    "PGSAGE_DSN": ("targets",),
    "PGSAGE_INTERVAL_ACTIVITY": ("intervals", "activity"),
    "PGSAGE_INTERVAL_STATEMENTS": ("intervals", "statements"),
    "PGSAGE_INTERVAL_TABLES": ("intervals", "tables"),
    "PGSAGE_INTERVAL_SCHEMA": ("intervals", "schema"),
    "PGSAGE_INTERVAL_ADVICE": ("intervals", "advice"),
    "PGSAGE_WINDOW": ("window", "length"),
    "PGSAGE_TOP_N": ("metrics", "top_n"),
    "PGSAGE_LOG_LEVEL": ("logging", "level"),
    "PGSAGE_LOG_FORMAT": ("logging", "format"),
    "PGSAGE_HOST_MEMORY": ("host", "memory"),
    "PGSAGE_HOST_CPUS": ("host", "cpus"),
    "PGSAGE_HOST_STORAGE": ("host", "storage"),
    "PGSAGE_TRUST_FUNCTIONS": ("planning", "trust_functions"),
    "PGSAGE_TRUST_SCHEMAS": ("planning", "trust_schemas"),
}


CORE_SECTIONS = ("connection", "rules", "host", "planning")


def known_sections() -> set[str]:
    """Top-level keys a configuration may have: the engine's and the registered parts'."""
    return {*CORE_SECTIONS, *(s for sections, _ in _PARTS.values() for s in sections)}


def read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for var, path in ENV_KEYS.items():
        if var in env:
            value: Any = env[var]
            if path[-1] in ("select", "ignore", "trust_functions", "trust_schemas"):
                value = _split(value)
            if path == ("targets",):  # PGSAGE_DSN: one target, replacing the file's
                value = [{"dsn": value}]
            node = doc
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
    return doc


def _duration_ms(doc: Mapping[str, Any], key: str, default: int, errors: list[str]) -> int:
    value = doc.get(key)
    if value is None:
        return default
    try:
        return int(parse_duration(str(value)) * 1000)
    except ValueError as exc:
        errors.append(f"connection.{key}: {exc}")
        return default


def _host(doc: Any, errors: list[str]) -> HostSpec:
    """`[host] memory = "16GB", cpus = 4, storage = "ssd"`; strings from the environment too."""
    if not isinstance(doc, Mapping):
        errors.append("host: expected a table")
        return HostSpec()
    memory: int | None = None
    cpus: int | None = None
    storage: str | None = None
    for key in doc:
        if key not in ("memory", "cpus", "storage"):
            errors.append(f"host.{key}: unknown key (known: memory, cpus, storage)")
    if doc.get("memory") is not None:
        try:
            memory = parse_size(str(doc["memory"]))
            if memory < 64 * 1024**2:
                errors.append(f"host.memory: {doc['memory']!r} is less than 64MB; "
                              "give a size with its unit, e.g. 16GB")
                memory = None
        except ValueError as exc:
            errors.append(f"host.memory: {exc}")
    if doc.get("cpus") is not None:
        value = doc["cpus"]
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(f"host.cpus: expected a whole number of CPUs, got {doc['cpus']!r}")
        else:
            cpus = value
    if doc.get("storage") is not None:
        kind = str(doc["storage"]).strip().lower()
        if kind not in STORAGE_KINDS:
            errors.append(f"host.storage: expected one of {', '.join(STORAGE_KINDS)}, "
                          f"got {doc['storage']!r}")
        else:
            storage = kind
    return HostSpec(memory_bytes=memory, cpus=cpus, storage=storage)


def _names(doc: Mapping[str, Any], key: str, qualified: bool, errors: list[str]
           ) -> tuple[str, ...]:
    value = doc.get(key, [])
    if isinstance(value, str):
        value = _split(value)
    what = "schema.function names" if qualified else "schema names"
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        errors.append(f"planning.{key}: expected a list of {what}")
        return ()
    if qualified:
        bad = [v for v in value if v.count(".") != 1 or "" in v.split(".")]
        errors.extend(f"planning.{key}: {v!r} is not schema.function (e.g. app.price)"
                      for v in bad)
    return tuple(value)


def _trust(doc: Any, errors: list[str]) -> TrustOptions:
    """`[planning] trust_functions = ["app.price"], trust_schemas = ["ext"]`."""
    if not isinstance(doc, Mapping):
        errors.append("planning: expected a table")
        return TrustOptions()
    for key in doc:
        if key not in ("trust_functions", "trust_schemas"):
            errors.append(f"planning.{key}: unknown key (known: trust_functions, "
                          "trust_schemas)")
    return TrustOptions(functions=_names(doc, "trust_functions", True, errors),
                        schemas=_names(doc, "trust_schemas", False, errors))


def validate(doc: Mapping[str, Any]) -> Config:
    """Build a Config from a merged document or raise ConfigError listing every problem."""
    from pgsage.rules import REGISTRY, build_options, unknown_selectors

    errors: list[str] = []
    conn = doc.get("connection", {})
    if not isinstance(conn, Mapping):
        errors.append("connection: expected a table")
        conn = {}
    for key in conn:
        if key not in ("statement_timeout", "lock_timeout", "connect_timeout"):
            errors.append(f"connection.{key}: unknown key")
    defaults = SessionLimits()
    limits = SessionLimits(
        statement_timeout_ms=_duration_ms(conn, "statement_timeout",
                                          defaults.statement_timeout_ms, errors),
        lock_timeout_ms=_duration_ms(conn, "lock_timeout", defaults.lock_timeout_ms, errors),
        connect_timeout_s=max(1, _duration_ms(conn, "connect_timeout",
                                              defaults.connect_timeout_s * 1000, errors) // 1000),
    )
    rules_doc = doc.get("rules", {})
    if not isinstance(rules_doc, Mapping):
        errors.append("rules: expected a table")
        rules_doc = {}
    select: list[str] = []
    ignore: list[str] = []
    for key in ("select", "ignore"):
        value = rules_doc.get(key, [])
        if isinstance(value, str):
            value = _split(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors.append(f"rules.{key}: expected a list of rule codes, prefixes or categories")
            continue
        errors.extend(f"rules.{key}: {s!r} matches no rule" for s in unknown_selectors(value))
        (select if key == "select" else ignore).extend(value)
    options = rules_doc.get("options", {})
    checked: dict[str, Mapping[str, Any]] = {}
    if not isinstance(options, Mapping):
        errors.append("rules.options: expected a table of rule codes")
        options = {}
    for code, given in options.items():
        rule = REGISTRY.get(code.upper())
        if rule is None:
            errors.append(f"rules.options.{code}: no such rule")
            continue
        if not isinstance(given, Mapping):
            errors.append(f"rules.options.{code}: expected a table")
            continue
        _, problems = build_options(rule, given)
        errors.extend(problems)
        checked[rule.code] = given
    for key in rules_doc:
        if key not in ("select", "ignore", "options"):
            errors.append(f"rules.{key}: unknown key")
    host = _host(doc.get("host", {}), errors)
    trust = _trust(doc.get("planning", {}), errors)
    parts = {name: validator(doc, limits, errors) for name, (_, validator) in _PARTS.items()}
    known = known_sections()
    for key in doc:
        if key not in known:
            errors.append(f"{key}: unknown section (known: {', '.join(sorted(known))})")
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    return Config(limits=limits, rules=RulesConfig(tuple(select), tuple(ignore), checked),
                  host=host, trust=trust, parts=parts, raw=dict(doc))


def load(path: Path | None = None, env: Mapping[str, str] | None = None,
         flags: Mapping[str, Any] | None = None) -> Config:
    """File, then environment, then flags (strongest), validated together."""
    doc: dict[str, Any] = read_file(path) if path else {}
    doc = merge(doc, from_environment(os.environ if env is None else env))
    doc = merge(doc, flags or {})
    return validate(doc)
