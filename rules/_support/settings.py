"""What setting rules share: reading values, PostgreSQL's units, and the change to apply.

A setting finding always says the current value, the proposed one, and how the change takes
effect, from `pg_settings.context`: `postmaster` needs a restart, `sighup`, `superuser` and
`user` a reload, `backend` and `superuser-backend` apply to new sessions only.
"""

from __future__ import annotations

import re
from typing import Any

from pgsage.analyzer.model.core import Model
from pgsage.analyzer.model.findings import Action
from pgsage.analyzer.sqlgen import literal
from pgsage.analyzer.units import GB, MB
from pgsage.collectors.settings import Setting

_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")
KB = 1024


def setting_name(name: str) -> str:
    """A setting name for ALTER SYSTEM: names come from pg_settings, but are checked anyway."""
    if not _NAME.match(name):
        raise ValueError(f"not a setting name: {name!r}")
    return name


def pg_memory(value: float) -> str:
    """Bytes as PostgreSQL accepts them, rounded down to a unit: `4GB`, `640MB`, `64kB`."""
    n = int(value)
    if n >= GB and n % GB == 0:
        return f"{n // GB}GB"
    if n >= MB:
        return f"{n // MB}MB"
    return f"{max(n // KB, 64)}kB"


def round_memory(value: float) -> int:
    """A proposal rounded to a value people write: whole GB above 2 GB, 32 MB steps below."""
    if value >= 2 * GB:
        return int(value // GB) * GB
    step = 32 * MB if value >= 256 * MB else 4 * MB
    return max(int(value // step) * step, step)


def is_on(model: Model, name: str) -> bool | None:
    value = model.setting(name)
    if value is None:
        return None
    return value.lower() in ("on", "true", "yes", "1")


def restart_needed(setting: Setting | None) -> bool:
    return setting is not None and setting.context == "postmaster"


def how_it_applies(setting: Setting | None) -> str:
    if setting is None:
        return "takes effect on reload"
    if setting.context == "postmaster":
        return "needs a restart (context postmaster)"
    if setting.context in ("backend", "superuser-backend"):
        return f"applies to new sessions after a reload (context {setting.context})"
    if setting.context == "internal":
        return "is fixed when the cluster is created (context internal)"
    return f"takes effect on reload, no restart (context {setting.context})"


def applies(model: Model, name: str) -> str:
    """How a change of this setting takes effect, for finding texts."""
    return how_it_applies(model.settings.get(name))


def display(model: Model, name: str) -> str:
    """The current value as a person reads it (`128MB`, `4`, `off`, `-1`)."""
    setting = model.settings.get(name)
    if setting is None or setting.setting is None:
        return "?"
    if setting.unit and setting.unit.endswith("B"):
        value = model.setting_bytes(name)
        if value is not None and value >= 0:
            return pg_memory(value)
    if setting.unit in ("ms", "s", "min") and setting.setting not in ("-1", "0"):
        return f"{setting.setting}{setting.unit}"
    return setting.setting


def change(model: Model, values: dict[str, str]) -> Action:
    """ALTER SYSTEM for each setting, then a reload, or a note that a restart is needed."""
    lines = [f"ALTER SYSTEM SET {setting_name(name)} = {literal(value)};"
             for name, value in values.items()]
    if any(restart_needed(model.settings.get(name)) for name in values):
        lines.append("-- then restart PostgreSQL: this setting is read only at server start")
    else:
        lines.append("SELECT pg_reload_conf();")
    undo = " ".join(f"ALTER SYSTEM RESET {setting_name(name)};" for name in values)
    return Action(sql="\n".join(lines), undo_sql=undo + " SELECT pg_reload_conf();")


def evidence(model: Model, name: str, proposed: str, **more: Any) -> dict[str, Any]:
    """Current and proposed value, context and whether a restart is needed."""
    setting = model.settings.get(name)
    return {"setting": name, "current": display(model, name), "proposed": proposed,
            "context": setting.context if setting else None,
            "source": setting.source if setting else None,
            "restart_required": restart_needed(setting), **more}


