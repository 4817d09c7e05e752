"""A checker of the JSON report contract (DESIGN.md, "The report contract"), for tests.

It is written from the contract's text, independently of `analyzer.report`, so a change that
breaks users' scripts fails a test instead of silently redefining the contract. Fields the
contract calls stable are required; the fields pgsage adds (`window.kind`, `summary`,
`notes`, `questions`, `overview`, each finding's `rank`, `objects`, `members`, `time`) are
checked too, since docs/report-format.md documents them. It checks everything the shared
`check-report` tool does, so the suite does not depend on that tool.
"""

from __future__ import annotations

import json
import re
from typing import Any

CATEGORIES = {"index", "query", "partitioning", "pooling", "scaling", "config", "maintenance",
              "schema", "backup", "security", "migration"}
SEVERITIES = ["critical", "high", "medium", "low", "info"]  # most severe first
TOP_LEVEL = {"schema_version", "pgsage_version", "target", "window", "collectors",
             "recommendations"}
RECOMMENDATION = {"rule", "category", "severity", "title", "detail", "object", "action",
                  "impact", "evidence"}
OBJECT_KEYS = {"schema", "table", "index", "columns"}
RULE_CODE = re.compile(r"^(IX|QY|PT|PL|SC|CF|MT|SD|BK|SE|MG)\d{3}$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
QUERYID = re.compile(r"^-?\d+$")
WINDOW_KINDS = {"between-snapshots", "since-reset"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _optional(value: Any, kind: type | tuple[type, ...]) -> bool:
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


def contract_errors(doc: Any) -> list[str]:
    """Every way `doc` breaks the report contract, as `path: problem` lines (empty if none)."""
    errors: list[str] = []

    def need(ok: bool, path: str, problem: str) -> bool:
        if not ok:
            errors.append(f"{path}: {problem}")
        return ok

    if not need(isinstance(doc, dict), "$", "not an object"):
        return errors
    for key in sorted(TOP_LEVEL - doc.keys()):
        errors.append(f"$.{key}: missing")
    need(doc.get("schema_version") == 1, "$.schema_version", "must be 1")
    need(isinstance(doc.get("pgsage_version"), str), "$.pgsage_version", "not a string")

    target = doc.get("target")
    if need(isinstance(target, dict), "$.target", "not an object"):
        for key in ("database", "host", "port", "server_version_num"):
            need(key in target, f"$.target.{key}", "missing")
        need(_optional(target.get("database"), str), "$.target.database", "not a string")
        need(_optional(target.get("host"), str), "$.target.host", "not a string")
        need(_optional(target.get("port"), int), "$.target.port", "not an integer")
        need(_optional(target.get("server_version_num"), int), "$.target.server_version_num",
             "not an integer")
        need("password" not in json.dumps(target).lower(), "$.target", "names a password")

    window = doc.get("window")
    if need(isinstance(window, dict), "$.window", "not an object"):
        for key in ("start", "end"):
            need(isinstance(window.get(key), str) and bool(ISO_UTC.match(window[key])),
                 f"$.window.{key}", "not an ISO 8601 UTC time (…Z)")
        seconds = window.get("seconds")
        need(_is_number(seconds) and seconds >= 0, "$.window.seconds",
             "not a non-negative number")
        need(window.get("kind") in WINDOW_KINDS, "$.window.kind",
             f"not one of {sorted(WINDOW_KINDS)}")
        if isinstance(window.get("start"), str) and isinstance(window.get("end"), str):
            need(window["start"] <= window["end"], "$.window", "start is after end")

    collectors = doc.get("collectors")
    if need(isinstance(collectors, dict), "$.collectors", "not an object"):
        for name, status in collectors.items():
            path = f"$.collectors.{name}"
            if not need(isinstance(status, dict), path, "not an object"):
                continue
            need(isinstance(status.get("ok"), bool), f"{path}.ok", "missing or not a boolean")
            if "rows" in status:
                need(_is_int(status["rows"]) and status["rows"] >= 0, f"{path}.rows",
                     "not a count")
            if "seconds" in status:
                need(_is_number(status["seconds"]), f"{path}.seconds", "not a number")
            if status.get("ok") is False:
                need(isinstance(status.get("reason"), str) and bool(status["reason"]),
                     f"{path}.reason", "a failed collector must say why")

    recommendations = doc.get("recommendations")
    if need(isinstance(recommendations, list), "$.recommendations", "not a list"):
        for i, rec in enumerate(recommendations):
            errors.extend(_recommendation_errors(rec, f"$.recommendations[{i}]"))
        ranks = [r.get("rank") for r in recommendations if isinstance(r, dict)]
        need(ranks == list(range(1, len(recommendations) + 1)), "$.recommendations",
             "not ranked: `rank` must number the findings 1, 2, ... in their order")

    if "summary" in doc:
        errors.extend(_summary_errors(doc["summary"], recommendations))
    if "questions" in doc:
        questions = doc["questions"]
        need(isinstance(questions, list) and all(
            isinstance(q, dict) and q.get("category") in CATEGORIES
            and isinstance(q.get("rule"), str) and isinstance(q.get("question"), str)
            for q in questions), "$.questions", "not a list of {rule, category, question}")
    if "overview" in doc:
        errors.extend(_overview_errors(doc["overview"]))
    if "notes" in doc:
        need(isinstance(doc["notes"], list) and all(isinstance(n, str) for n in doc["notes"]),
             "$.notes", "not a list of strings")
    return errors


def _recommendation_errors(rec: Any, path: str) -> list[str]:
    errors: list[str] = []

    def need(ok: bool, where: str, problem: str) -> bool:
        if not ok:
            errors.append(f"{path}{where}: {problem}")
        return ok

    if not need(isinstance(rec, dict), "", "not an object"):
        return errors
    for key in sorted(RECOMMENDATION - rec.keys()):
        errors.append(f"{path}.{key}: missing")
    need(isinstance(rec.get("rule"), str) and bool(RULE_CODE.match(rec["rule"])), ".rule",
         "not a rule code such as IX001")
    need(rec.get("category") in CATEGORIES, ".category", f"not one of {sorted(CATEGORIES)}")
    need(rec.get("severity") in SEVERITIES, ".severity", f"not one of {SEVERITIES}")
    need(isinstance(rec.get("title"), str) and bool(rec["title"].strip()), ".title", "empty")
    need(isinstance(rec.get("detail"), str) and bool(rec["detail"].strip()), ".detail", "empty")

    obj = rec.get("object")
    if need(isinstance(obj, dict), ".object", "not an object"):
        need(set(obj) >= OBJECT_KEYS, ".object", f"needs the keys {sorted(OBJECT_KEYS)}")
        for key in ("schema", "table", "index"):
            need(_optional(obj.get(key), str), f".object.{key}", "not a string or null")
        columns = obj.get("columns")
        need(columns is None or (isinstance(columns, list)
                                 and all(isinstance(c, str) for c in columns)),
             ".object.columns", "not a list of strings or null")

    action = rec.get("action")
    if action is not None and need(isinstance(action, dict), ".action", "not an object or null"):
        for key in ("sql", "undo_sql"):
            need(_optional(action.get(key), str), f".action.{key}", "not a string or null")

    impact = rec.get("impact")
    if need(isinstance(impact, dict), ".impact", "not an object") and "queryids" in impact:
        ids = impact["queryids"]
        need(isinstance(ids, list) and all(isinstance(q, str) and QUERYID.match(q)
                                           for q in ids),
             ".impact.queryids", "queryids must be strings of digits (64-bit ids)")
    need(isinstance(rec.get("evidence"), dict), ".evidence", "not an object")
    objects = rec.get("objects")
    if need(isinstance(objects, list) and bool(objects), ".objects", "not a non-empty list"):
        need(all(isinstance(o, dict) and set(o) >= OBJECT_KEYS for o in objects), ".objects",
             f"every object needs the keys {sorted(OBJECT_KEYS)}")
        need(objects[0] == obj, ".objects", "does not start with `object`")
    members = rec.get("members")
    if members is not None and need(isinstance(members, list), ".members", "not a list"):
        need(len(members) == len(objects or []), ".members", "not one per object")
    if "default_severity" in rec:
        need(rec["default_severity"] in SEVERITIES, ".default_severity",
             f"not one of {SEVERITIES}")
    time = rec.get("time")
    if time is not None and need(isinstance(time, dict), ".time", "not an object or null"):
        for key in ("window_seconds", "spent_ms"):
            need(_is_number(time.get(key)), f".time.{key}", "not a number")
        for key in ("saved_ms", "spent_ms_per_hour", "saved_ms_per_hour"):
            need(time.get(key) is None or _is_number(time[key]), f".time.{key}",
                 "not a number or null")
        need(isinstance(time.get("statements"), list), ".time.statements", "not a list")
    return errors


def _overview_errors(overview: Any) -> list[str]:
    errors: list[str] = []

    def need(ok: bool, where: str, problem: str) -> None:
        if not ok:
            errors.append(f"$.overview{where}: {problem}")

    if not isinstance(overview, dict):
        return ["$.overview: not an object"]
    for key in ("window", "counter_window"):
        window = overview.get(key)
        need(isinstance(window, dict) and _is_number(window.get("seconds"))
             and window.get("kind") in WINDOW_KINDS, f".{key}", "not {seconds, kind}")
    statements = overview.get("statements")
    need(isinstance(statements, dict) and isinstance(statements.get("top"), list)
         and all(isinstance(s, dict) and isinstance(s.get("queryid"), str)
                 and _is_number(s.get("share")) for s in statements["top"]),
         ".statements", "not {total_exec_ms, calls, top: [{queryid (string), share, ...}]}")
    sizes = overview.get("sizes")
    need(isinstance(sizes, dict) and all(isinstance(sizes.get(k), list)
                                         for k in ("databases", "tables", "indexes")),
         ".sizes", "not {databases, tables, indexes}")
    need(isinstance(overview.get("cache_hit_ratio"), dict), ".cache_hit_ratio", "not an object")
    need(isinstance(overview.get("connections_by_state"), dict), ".connections_by_state",
         "not an object")
    need(isinstance(overview.get("settings_pending_restart"), list),
         ".settings_pending_restart", "not a list")
    need(isinstance(overview.get("indexes_not_used_so_far"), list),
         ".indexes_not_used_so_far", "not a list")
    return errors


def _summary_errors(summary: Any, recommendations: Any) -> list[str]:
    if not isinstance(summary, dict):
        return ["$.summary: not an object"]
    errors = []
    recs = recommendations if isinstance(recommendations, list) else []
    for key, field, allowed in (("by_severity", "severity", set(SEVERITIES)),
                                ("by_category", "category", CATEGORIES)):
        counts = summary.get(key)
        if not isinstance(counts, dict):
            errors.append(f"$.summary.{key}: not an object")
            continue
        if not set(counts) <= allowed:
            errors.append(f"$.summary.{key}: unknown keys {sorted(set(counts) - allowed)}")
        expected: dict[str, int] = {}
        for rec in recs:
            if isinstance(rec, dict):
                expected[rec.get(field)] = expected.get(rec.get(field), 0) + 1
        if counts != expected:
            errors.append(f"$.summary.{key}: {counts} does not count the recommendations "
                          f"({expected})")
    return errors


def parse_strict(text: str) -> Any:
    """JSON as every client reads it: NaN and Infinity are not JSON."""

    def reject(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    return json.loads(text, parse_constant=reject)


def check_report(text: str) -> dict[str, Any]:
    """Parse a `--format json` report and assert it keeps the contract; return it."""
    doc = parse_strict(text)
    errors = contract_errors(doc)
    assert not errors, "the report breaks the JSON contract:\n  " + "\n  ".join(errors)
    return doc  # type: ignore[no-any-return]
