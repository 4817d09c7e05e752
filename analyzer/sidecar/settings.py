"""The sidecar's configuration sections, validated with every error reported at once.

```toml
[serve]                         # HTTP endpoint (loopback by default)
listen = "127.0.0.1:9816"
[serve.tls]                     # optional: both or neither
cert = "/etc/pgsage/tls.crt"
key = "/etc/pgsage/tls.key"
[serve.auth.users]              # optional basic auth: user = bcrypt hash
prometheus = "$2b$12$..."

[[targets]]                     # one or more databases
name = "shop"                   # the `target` label; default host:port/dbname
dsn = "host=db1 dbname=shop user=pgsage"
password_file = "/run/secrets/pgsage"   # or password_env = "SHOP_PASSWORD"

[intervals]                     # one job per group and target
activity = "15s"
[schedule]
jitter = 0.1                    # fraction of each interval
[window]
length = "15min"
[metrics]
top_n = 50
[logging]
level = "info"
format = "plain"
```

`analyzer.config.validate` calls `validate_sidecar` with its own error list, so a file with a
bad `[rules]` entry and a bad `[serve]` entry reports both in one pass.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgsage.analyzer.engine.config import Config, register_part
from pgsage.analyzer.errors import UsageError
from pgsage.analyzer.live.connection import SessionLimits, describe_target, parse_dsn
from pgsage.analyzer.units import parse_duration
from pgsage.collectors import REGISTRY

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9816
"""Not 9187, postgres_exporter's port, so both can run side by side during a comparison."""

DEFAULT_INTERVALS: Mapping[str, float] = {
    "activity": 15.0, "statements": 60.0, "tables": 300.0, "schema": 900.0, "advice": 1800.0,
}

DEFAULT_GROUPS: Mapping[str, tuple[str, ...]] = {
    group: tuple(name for name, c in REGISTRY.items() if c.cadence == group)
    for group in DEFAULT_INTERVALS
}
"""Collectors per job, in registry order: each collector declares its group (`cadence`).
`advice` runs no collector: it is reserved for the index advisor's live what-if."""

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("plain", "json")

BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")

SECTIONS = ("serve", "targets", "intervals", "schedule", "window", "metrics", "logging")


@dataclass(frozen=True, slots=True)
class TlsConfig:
    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class AuthConfig:
    users: Mapping[str, bytes]
    """User name -> bcrypt hash."""


@dataclass(frozen=True, slots=True)
class ServeConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tls: TlsConfig | None = None
    auth: AuthConfig | None = None
    shutdown_grace: float = 5.0
    """SIGTERM waits this long for running jobs before cancelling them."""
    stale_after: float | None = None
    """/readyz fails when a target's last good cycle is older; None: 3 * shortest interval."""


@dataclass(frozen=True, slots=True)
class TargetConfig:
    name: str
    """The `target` label and the key of /recommendations: never contains a password."""
    dsn: str
    password_file: Path | None = None
    password_env: str | None = None

    def params(self) -> dict[str, str]:
        """libpq parameters, with the password read now from its file or variable.

        Secrets are read at each connection so a rotated password is picked up on reconnect.
        """
        params = parse_dsn(self.dsn)
        if self.password_file is not None:
            params["password"] = self.password_file.read_text().strip("\r\n")
        elif self.password_env is not None:
            params["password"] = os.environ.get(self.password_env, "")
        return params


@dataclass(frozen=True, slots=True)
class GroupConfig:
    name: str
    collectors: tuple[str, ...]
    interval: float
    deadline: float
    """A run is cancelled after this many seconds (default: its interval, at most 60 s, at
    least one query's client deadline); what finished by then is kept."""


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    top_n: int = 50
    top_tables: int = 25
    top_indexes: int = 25
    top_recommendations: int = 50


@dataclass(frozen=True)
class SidecarConfig:
    serve: ServeConfig = field(default_factory=ServeConfig)
    targets: tuple[TargetConfig, ...] = ()
    groups: tuple[GroupConfig, ...] = ()
    jitter: float = 0.1
    rules_budget: float = 0.01
    """Share of one core the rules may use on average (they are skipped after a cycle
    while a long pass would exceed it)."""
    window_length: float = 900.0
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    log_level: str = "info"
    log_format: str = "plain"

    @property
    def shortest_interval(self) -> float:
        return min((g.interval for g in self.groups), default=15.0)

    @property
    def stale_after(self) -> float:
        return self.serve.stale_after or 3 * self.shortest_interval


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[v6]:PORT` or `:PORT` (every interface); ValueError saying why."""
    host, sep, port = str(text).rpartition(":")
    if not sep:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:{DEFAULT_PORT})")
    host = host.strip("[]") if host.startswith("[") else host
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return host or "0.0.0.0", int(port)


def _table(doc: Mapping[str, Any], key: str, errors: list[str]) -> Mapping[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, Mapping):
        errors.append(f"{key}: expected a table")
        return {}
    return value


def _unknown(section: str, table: Mapping[str, Any], known: tuple[str, ...],
             errors: list[str]) -> None:
    for key in table:
        if key not in known:
            errors.append(f"{section}.{key}: unknown key (known: {', '.join(known)})")


def _seconds(path: str, value: Any, errors: list[str]) -> float | None:
    try:
        return parse_duration(str(value))
    except ValueError as exc:
        errors.append(f"{path}: {exc}")
        return None


def _positive_int(path: str, value: Any, errors: list[str], maximum: int = 10_000) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors.append(f"{path}: expected a whole number")
        return None
    try:
        number = int(value)
    except ValueError:
        errors.append(f"{path}: {value!r} is not a whole number")
        return None
    if not 0 < number <= maximum:
        errors.append(f"{path}: {number} is out of range (1 to {maximum})")
        return None
    return number


def _serve(doc: Mapping[str, Any], errors: list[str]) -> ServeConfig:
    section = _table(doc, "serve", errors)
    _unknown("serve", section, ("listen", "tls", "auth", "shutdown_grace", "stale_after"), errors)
    host, port = DEFAULT_HOST, DEFAULT_PORT
    if "listen" in section:
        try:
            host, port = parse_listen(section["listen"])
        except ValueError as exc:
            errors.append(f"serve.listen: {exc}")
    tls: TlsConfig | None = None
    tls_doc = _table(section, "tls", errors) if "tls" in section else None
    if tls_doc is not None:
        _unknown("serve.tls", tls_doc, ("cert", "key"), errors)
        paths: dict[str, Path] = {}
        for key in ("cert", "key"):
            if key not in tls_doc:
                errors.append(f"serve.tls.{key}: missing (TLS needs both cert and key)")
                continue
            path = Path(str(tls_doc[key]))
            if not path.is_file() or not os.access(path, os.R_OK):
                errors.append(f"serve.tls.{key}: cannot read {path}")
                continue
            paths[key] = path
        if len(paths) == 2:
            tls = TlsConfig(paths["cert"], paths["key"])
    auth: AuthConfig | None = None
    auth_doc = _table(section, "auth", errors) if "auth" in section else None
    if auth_doc is not None:
        _unknown("serve.auth", auth_doc, ("users",), errors)
        users_doc = auth_doc.get("users")
        users: dict[str, bytes] = {}
        if not isinstance(users_doc, Mapping) or not users_doc:
            errors.append("serve.auth.users: expected a table of user = \"bcrypt hash\" "
                          "(make one with: python -c 'import bcrypt; print(bcrypt.hashpw("
                          "b\"secret\", bcrypt.gensalt()).decode())')")
        else:
            for user, hashed in users_doc.items():
                if ":" in user or not user:
                    errors.append(f"serve.auth.users.{user}: a user name cannot be empty or "
                                  "contain ':'")
                elif not isinstance(hashed, str) or not BCRYPT_HASH.match(hashed):
                    errors.append(f"serve.auth.users.{user}: not a bcrypt hash ($2b$...); "
                                  "plain passwords are not accepted")
                else:
                    users[user] = hashed.encode()
        if users and len(users) == len(users_doc or {}):
            auth = AuthConfig(users)
    grace = 5.0
    if "shutdown_grace" in section:
        grace = _seconds("serve.shutdown_grace", section["shutdown_grace"], errors) or grace
    stale: float | None = None
    if "stale_after" in section:
        stale = _seconds("serve.stale_after", section["stale_after"], errors)
    return ServeConfig(host, port, tls, auth, grace, stale)


def _redacted_dsn_error(exc: UsageError) -> str:
    """libpq quotes a fragment of a malformed DSN, which may be part of a password."""
    return re.sub(r'"[^"]*"', '"…"', str(exc))


def _target(index: int, item: Any, errors: list[str]) -> TargetConfig | None:
    path = f"targets[{index}]"
    if isinstance(item, str):
        item = {"dsn": item}
    if not isinstance(item, Mapping):
        errors.append(f"{path}: expected a table with a dsn (or a DSN string)")
        return None
    _unknown(path, item, ("name", "dsn", "password_file", "password_env"), errors)
    dsn = item.get("dsn", "")
    if not isinstance(dsn, str):
        errors.append(f"{path}.dsn: expected a string")
        return None
    try:
        params = parse_dsn(dsn)
    except UsageError as exc:
        errors.append(f"{path}.dsn: {_redacted_dsn_error(exc)}")
        return None
    ok = True
    password_file: Path | None = None
    password_env: str | None = None
    if "password_file" in item and "password_env" in item:
        errors.append(f"{path}: give password_file or password_env, not both")
        ok = False
    if "password_file" in item:
        password_file = Path(str(item["password_file"]))
        if not password_file.is_file() or not os.access(password_file, os.R_OK):
            errors.append(f"{path}.password_file: cannot read {password_file}")
            ok = False
    if "password_env" in item:
        password_env = str(item["password_env"])
        if password_env not in os.environ:
            errors.append(f"{path}.password_env: the environment variable {password_env} "
                          "is not set")
            ok = False
    name = item.get("name")
    if name is None:
        where = describe_target(params)
        name = where.split("@", 1)[-1]  # the label carries no user name either
    elif not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors.append(f"{path}.name: expected a non-empty string of at most 100 characters")
        ok = False
    if not ok:
        return None
    return TargetConfig(str(name), dsn, password_file, password_env)


def _targets(doc: Mapping[str, Any], errors: list[str]) -> tuple[TargetConfig, ...]:
    items = doc.get("targets", [])
    if isinstance(items, Mapping | str):
        items = [items]
    if not isinstance(items, list):
        errors.append("targets: expected an array of tables ([[targets]])")
        return ()
    found = [t for i, item in enumerate(items) if (t := _target(i, item, errors)) is not None]
    seen: set[str] = set()
    for i, target in enumerate(found):
        if target.name in seen:
            errors.append(f"targets[{i}].name: {target.name!r} is used twice (names must be "
                          "unique: they are the `target` label)")
        seen.add(target.name)
    return tuple(found)


def _groups(doc: Mapping[str, Any], limits: SessionLimits,
            errors: list[str]) -> tuple[tuple[GroupConfig, ...], float, float]:
    schedule = _table(doc, "schedule", errors)
    _unknown("schedule", schedule, ("jitter", "deadline", "groups", "rules_budget"), errors)
    membership = dict(DEFAULT_GROUPS)
    groups_doc = _table(schedule, "groups", errors) if "groups" in schedule else {}
    for name, members in groups_doc.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            errors.append(f"schedule.groups.{name}: expected a list of collector names")
            continue
        for member in members:
            if member not in REGISTRY:
                errors.append(f"schedule.groups.{name}: {member!r} is not a collector "
                              f"(known: {', '.join(REGISTRY)})")
        membership[name] = tuple(members)
    # A collector moved into a configured group leaves its default one.
    moved = {m for name in groups_doc for m in membership.get(name, ())}
    for name in list(membership):
        if name not in groups_doc:
            membership[name] = tuple(m for m in membership[name] if m not in moved)
    owner: dict[str, str] = {}
    for name in groups_doc:
        for member in membership.get(name, ()):
            if member in owner:
                errors.append(f"schedule.groups.{name}: {member!r} is also in group "
                              f"{owner[member]!r}")
            owner[member] = name

    jitter = 0.1
    if "jitter" in schedule:
        value = schedule["jitter"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 0.5:
            errors.append("schedule.jitter: expected a fraction of the interval from 0 to 0.5")
        else:
            jitter = float(value)
    budget = 0.01
    if "rules_budget" in schedule:
        value = schedule["rules_budget"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            errors.append("schedule.rules_budget: expected a share of one core above 0, "
                          "at most 1 (e.g. 0.01)")
        else:
            budget = float(value)
    deadline: float | None = None
    if "deadline" in schedule:
        deadline = _seconds("schedule.deadline", schedule["deadline"], errors)

    intervals = _table(doc, "intervals", errors)
    for key in intervals:
        if key not in membership:
            errors.append(f"intervals.{key}: no such group (groups: {', '.join(membership)})")
    out: list[GroupConfig] = []
    for name, members in membership.items():
        interval = DEFAULT_INTERVALS.get(name)
        if name in intervals:
            interval = _seconds(f"intervals.{name}", intervals[name], errors) or interval
        if interval is None:
            errors.append(f"intervals.{name}: the group {name!r} needs an interval")
            continue
        run_deadline = deadline or max(min(interval, 60.0), limits.client_deadline_s)
        out.append(GroupConfig(name, members, interval, run_deadline))
    return tuple(out), jitter, budget


def validate_sidecar(doc: Mapping[str, Any], limits: SessionLimits,
                     errors: list[str]) -> SidecarConfig:
    """The sidecar's sections of a merged document; problems are appended to `errors`."""
    serve = _serve(doc, errors)
    targets = _targets(doc, errors)
    groups, jitter, budget = _groups(doc, limits, errors)

    window = _table(doc, "window", errors)
    _unknown("window", window, ("length",), errors)
    length = 900.0
    if "length" in window:
        length = _seconds("window.length", window["length"], errors) or length

    metrics_doc = _table(doc, "metrics", errors)
    defaults = MetricsConfig()
    known = ("top_n", "top_tables", "top_indexes", "top_recommendations")
    _unknown("metrics", metrics_doc, known, errors)
    counts = {key: _positive_int(f"metrics.{key}", metrics_doc[key], errors)
              if key in metrics_doc else None for key in known}
    metrics = MetricsConfig(**{k: v if v is not None else getattr(defaults, k)
                               for k, v in counts.items()})

    logging_doc = _table(doc, "logging", errors)
    _unknown("logging", logging_doc, ("level", "format"), errors)
    level = str(logging_doc.get("level", "info")).lower()
    if level not in LOG_LEVELS:
        errors.append(f"logging.level: {level!r} is not one of {', '.join(LOG_LEVELS)}")
        level = "info"
    fmt = str(logging_doc.get("format", "plain")).lower()
    if fmt not in LOG_FORMATS:
        errors.append(f"logging.format: {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
        fmt = "plain"
    return SidecarConfig(serve, targets, groups, jitter, budget, length, metrics, level, fmt)


def sidecar_of(config: Config) -> SidecarConfig:
    """The sidecar's configuration within a validated Config (defaults when it had none)."""
    part = config.parts.get("sidecar")
    return part if isinstance(part, SidecarConfig) else SidecarConfig()


def with_sidecar(config: Config, sidecar: SidecarConfig) -> Config:
    return dataclasses.replace(config, parts={**config.parts, "sidecar": sidecar})


register_part("sidecar", SECTIONS, validate_sidecar)
