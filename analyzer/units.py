"""Durations and sizes as users write them (`60s`, `5min`, `500MB`), parsed strictly."""

from __future__ import annotations

import re

MB = 1024**2
GB = 1024**3
"""PostgreSQL's units (1 kB = 1024 B), for thresholds written in code."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0,
                   "d": 86400.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*$",
                   re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": MB, "gb": GB, "tb": 1024**4,
               "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def parse_duration(text: str) -> float:
    """Seconds from `90`, `90s`, `1.5min`, `2h`, `250ms`; ValueError with the reason."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration (examples: 30s, 5min, 1h)")
    seconds = float(match.group(1)) * _DURATION_UNITS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return seconds


def parse_size(text: str) -> int:
    """Bytes from `500MB`, `2GB`, `1024` (PostgreSQL's units: 1 kB = 1024 B)."""
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a size (examples: 500MB, 2GB)")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])


def format_bytes(value: float | None) -> str:
    if value is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
