"""What setting rules share: reading values, PostgreSQL's units, and the change to apply.

A setting finding always says the current value, the proposed one, and how the change takes
effect, from `pg_settings.context`: `postmaster` needs a restart, `sighup`, `superuser` and
`user` a reload, `backend` and `superuser-backend` apply to new sessions only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pgsage.analyzer.model.core import UNIT_BYTES, Model
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
    """A proposed size as PostgreSQL accepts it, rounded down to whole megabytes above 1 MB
    (whole kilobytes below) and printed as PostgreSQL prints it: `4GB`, `640MB`, `1536kB`."""
    n = int(value)
    n = n - n % MB if n >= MB else n - n % KB
    return show_bytes(n)


_MEMORY_UNITS = (("TB", 1024**4), ("GB", GB), ("MB", MB), ("kB", KB), ("B", 1))
_TIME_UNITS_US = (("d", 86_400_000_000), ("h", 3_600_000_000), ("min", 60_000_000),
                  ("s", 1_000_000), ("ms", 1_000), ("us", 1))


def show_bytes(n: int) -> str:
    """Bytes in the largest unit that divides them evenly, as SHOW prints a memory setting
    (`1kB`, `128MB`, `1536kB`); zero and negative values without a unit, as PostgreSQL does."""
    if n <= 0:
        return str(n)
    return next(f"{n // size}{unit}" for unit, size in _MEMORY_UNITS if n % size == 0)


def _show_time(value: float, unit_us: int, integer: bool) -> str:
    """A duration in the largest unit that divides it evenly (PostgreSQL's
    convert_*_from_base_unit): integers exactly, reals within 1e-8, `%g`-printed."""
    if value <= 0:
        return f"{int(value)}" if integer else f"{value:g}"
    if integer:
        total = int(value) * unit_us
        return next(f"{total // size}{unit}" for unit, size in _TIME_UNITS_US
                    if size >= unit_us and total % size == 0)
    total_us = value * unit_us
    for unit, size in _TIME_UNITS_US:
        scaled = total_us / size
        if abs(round(scaled) / scaled - 1.0) <= 1e-8:
            return f"{scaled:g}{unit}"
    return f"{total_us:g}us"


_TIME_UNIT_US = {"us": 1, "ms": 1_000, "s": 1_000_000, "min": 60_000_000}


def show(setting: Setting | None) -> str:
    """A setting's value as PostgreSQL's SHOW prints it, from pg_settings' `setting` and
    `unit`: `1kB` for track_activity_query_size 1024, `128MB` for 16384 blocks of 8kB, `90s`
    for 90000 ms, `-1` and `0` without a unit. The one formatter of current values."""
    if setting is None or setting.setting is None:
        return "?"
    unit = setting.unit
    try:
        value = float(setting.setting)
    except ValueError:
        return setting.setting
    integer = setting.setting.lstrip("-").isdigit()  # else a real: vacuum_cost_delay 0.5
    if unit in UNIT_BYTES:
        if not integer or value <= 0:
            return setting.setting
        return show_bytes(int(value) * UNIT_BYTES[unit])
    if unit in _TIME_UNIT_US:
        return _show_time(value, _TIME_UNIT_US[unit], integer)
    return setting.setting


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
    """The current value as PostgreSQL prints it (`128MB`, `4`, `off`, `-1`, `5min`)."""
    return show(model.settings.get(name))


RESTART = "pg_ctl restart -D \"$PGDATA\"  # or: systemctl restart postgresql"


def then_apply(model: Model, names: Iterable[str]) -> str:
    """What makes a change of these settings take effect, from pg_settings.context: a
    reload, or (for a setting read only at server start) a restart, which a reload cannot
    replace: after a reload such a setting keeps its value and shows pending_restart."""
    restart = [name for name in names if restart_needed(model.settings.get(name))]
    if not restart:
        return "SELECT pg_reload_conf();"
    which = "this setting is" if len(restart) == 1 else "these settings are"
    return f"-- then restart PostgreSQL: {which} read only at server start"


def change(model: Model, values: dict[str, str]) -> Action:
    """ALTER SYSTEM for each setting, and an undo that resets them; each followed by a
    reload, or by the restart the settings' context requires (also given as the shell
    command)."""
    then = then_apply(model, values)
    lines = [f"ALTER SYSTEM SET {setting_name(name)} = {literal(value)};"
             for name, value in values.items()]
    undo = [f"ALTER SYSTEM RESET {setting_name(name)};" for name in values]
    restart = then.startswith("--")
    return Action(sql="\n".join([*lines, then]), undo_sql="\n".join([*undo, then]),
                  shell=RESTART if restart else None)


def evidence(model: Model, name: str, proposed: str, **more: Any) -> dict[str, Any]:
    """Current and proposed value, context and whether a restart is needed."""
    setting = model.settings.get(name)
    return {"setting": name, "current": display(model, name), "proposed": proposed,
            "context": setting.context if setting else None,
            "source": setting.source if setting else None,
            "restart_required": restart_needed(setting), **more}


