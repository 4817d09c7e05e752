"""The overview every report carries, findings or not (as PgHero's dashboard): where the
database time goes, sizes, cache hit ratios, connections, settings waiting for a restart and
the indexes not used so far, each with the window it covers."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pgsage.analyzer.model.core import Model, Window
from pgsage.collectors.database import DatabaseStats
from pgsage.collectors.indexes import IndexStats

TOP_STATEMENTS = 10
TOP_OBJECTS = 10


@dataclass(frozen=True, slots=True)
class TopStatement:
    queryid: str
    text: str
    calls: float
    total_ms: float
    mean_ms: float
    rows: float
    share: float
    """Of the execution time of every statement over the window."""

    def to_json(self) -> dict[str, Any]:
        return {"queryid": self.queryid, "text": self.text, "calls": round(self.calls),
                "total_ms": round(self.total_ms, 3), "mean_ms": round(self.mean_ms, 3),
                "rows": round(self.rows), "share": round(self.share, 4)}


@dataclass(frozen=True, slots=True)
class Sized:
    name: str
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes}


@dataclass(frozen=True, slots=True)
class UnusedIndex:
    name: str
    table: str
    bytes: int | None

    def to_json(self) -> dict[str, Any]:
        return {"index": self.name, "table": self.table, "bytes": self.bytes}


@dataclass(frozen=True)
class Overview:
    window: Window
    """What the statement figures cover."""
    counter_window: Window
    """What the table, index and database counters cover."""
    statements_total_ms: float = 0.0
    statements_calls: float = 0.0
    top_statements: list[TopStatement] = field(default_factory=list)
    databases: list[Sized] = field(default_factory=list)
    tables: list[Sized] = field(default_factory=list)
    indexes: list[Sized] = field(default_factory=list)
    cache_hit: dict[str, float | None] = field(default_factory=dict)
    connections: dict[str, int] = field(default_factory=dict)
    pending_restart: list[str] = field(default_factory=list)
    unused_indexes: list[UnusedIndex] = field(default_factory=list)

    def per_hour(self, value: float) -> float | None:
        seconds = self.window.seconds
        return value * 3600.0 / seconds if seconds > 0 else None

    def to_json(self) -> dict[str, Any]:
        def window(w: Window) -> dict[str, Any]:
            return {"seconds": round(w.seconds, 3), "kind": w.kind}

        return {
            "window": window(self.window),
            "counter_window": window(self.counter_window),
            "statements": {"total_exec_ms": round(self.statements_total_ms, 3),
                           "calls": round(self.statements_calls),
                           "top": [s.to_json() for s in self.top_statements]},
            "sizes": {"databases": [d.to_json() for d in self.databases],
                      "tables": [t.to_json() for t in self.tables],
                      "indexes": [i.to_json() for i in self.indexes]},
            "cache_hit_ratio": {k: round(v, 4) if v is not None else None
                                for k, v in self.cache_hit.items()},
            "connections_by_state": dict(self.connections),
            "settings_pending_restart": list(self.pending_restart),
            "indexes_not_used_so_far": [u.to_json() for u in self.unused_indexes],
        }


def _flat(text: str | None, width: int = 160) -> str:
    if text is None:
        return "(text unknown)"
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= width else flat[: width - 1] + "\u2026"


def _statements(model: Model) -> tuple[float, float, list[TopStatement]]:
    frame = model.statements
    if frame.empty:
        return 0.0, 0.0, []
    sums = frame.groupby("queryid")[["calls", "total_exec_time", "rows"]].sum()
    total = float(sums["total_exec_time"].sum())
    top = sums.sort_values("total_exec_time", ascending=False).head(TOP_STATEMENTS)
    out = [TopStatement(str(q), _flat(model.statement_text(int(str(q)))), float(r.calls),
                        float(r.total_exec_time),
                        float(r.total_exec_time) / float(r.calls) if r.calls else 0.0,
                        float(r.rows), float(r.total_exec_time) / total if total else 0.0)
           for q, r in top.iterrows() if r.total_exec_time > 0]
    return total, float(sums["calls"].sum()), out


def _ratio(hit: float, read: float) -> float | None:
    return hit / (hit + read) if hit + read > 0 else None


def _cache_hit(model: Model) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    db = model.database
    if db is not None:
        before = model.baseline.one("database", DatabaseStats) if model.baseline else None
        hit = db.blks_hit - (before.blks_hit if before and before.blks_hit <= db.blks_hit else 0)
        read = db.blks_read - (before.blks_read if before and before.blks_read <= db.blks_read
                               else 0)
        out["database"] = _ratio(float(hit), float(read))
    frame = model.statements
    if not frame.empty:
        out["statements"] = _ratio(float(frame["shared_blks_hit"].sum()),
                                   float(frame["shared_blks_read"].sum()))
    return out


def _unused(model: Model) -> list[UnusedIndex]:
    """Indexes with no scan over the counter window; unique and primary keys enforce a
    constraint whether scanned or not, so they are not listed."""
    before = ({ix.indexrelid: ix.idx_scan for ix in model.baseline.rows("indexes", IndexStats)}
              if model.baseline is not None else {})
    out = []
    for ix in model.indexes:
        if ix.idx_scan is None or ix.is_unique or ix.is_primary or ix.constraint_type:
            continue
        prior = before.get(ix.indexrelid)
        scans = ix.idx_scan - prior if prior is not None and prior <= ix.idx_scan else ix.idx_scan
        if scans == 0:
            out.append(UnusedIndex(f"{ix.schema}.{ix.name}", f"{ix.schema}.{ix.table}",
                                   ix.bytes))
    return sorted(out, key=lambda u: -(u.bytes or 0))


def build_overview(model: Model) -> Overview:
    total, calls, top = _statements(model)
    tables = sorted((Sized(f"{t.schema}.{t.name}", (t.table_bytes or 0) + (t.toast_bytes or 0))
                     for t in model.tables.values()), key=lambda s: -s.bytes)
    indexes = sorted((Sized(f"{ix.schema}.{ix.name}", ix.bytes or 0) for ix in model.indexes),
                     key=lambda s: -s.bytes)
    states = Counter(b.state or "unknown" for b in model.activity
                     if b.backend_type in (None, "client backend"))
    return Overview(
        window=model.window, counter_window=model.counter_window,
        statements_total_ms=total, statements_calls=calls, top_statements=top,
        databases=sorted((Sized(d.datname, d.bytes) for d in model.databases
                          if d.bytes is not None), key=lambda s: -s.bytes),
        tables=tables[:TOP_OBJECTS], indexes=indexes[:TOP_OBJECTS],
        cache_hit=_cache_hit(model), connections=dict(states.most_common()),
        pending_restart=sorted(s.name for s in model.settings.values() if s.pending_restart),
        unused_indexes=_unused(model),
    )
