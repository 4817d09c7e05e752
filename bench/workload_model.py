"""Cost of the workload model per statement, next to the parses it is built from.

    python bench/workload_model.py [--statements 5000]

Prints, for the same distinct statements measured in one run: libpg_query's raw JSON parse
(`pglast.parser.parse_sql_json`), pglast's full Python AST (`pglast.parse_sql`), and
pgsage's model (`analyzer.workload.build`), in microseconds per statement, with ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import pglast
from pglast.parser import parse_sql_json

from pgsage.analyzer.model.workload import Catalog, TableRef, build

TABLES = {("public", n): TableRef(i, "public", n)
          for i, n in enumerate(["orders", "users", "order_items", "products"], 1)}
COLUMNS = {1: ["id", "user_id", "status", "created_at", "total"],
           2: ["id", "email", "deleted_at", "name"],
           3: ["id", "order_id", "product_id", "qty"], 4: ["id", "name", "price"]}
SHAPES = [
    "SELECT * FROM orders WHERE user_id = $1 AND total > {i} ORDER BY created_at DESC LIMIT $2",
    "SELECT o.id, u.email FROM orders o JOIN users u ON u.id = o.user_id "
    "WHERE o.status = $1 AND o.total > {i} ORDER BY o.created_at DESC LIMIT $2",
    "SELECT p.name, sum(i.qty) FROM order_items i JOIN products p ON p.id = i.product_id "
    "WHERE i.order_id IN (SELECT id FROM orders WHERE user_id = $1 AND total > {i}) "
    "GROUP BY p.name",
    "UPDATE orders SET status = $1 WHERE id = $2 AND total > {i}",
    "SELECT id FROM users WHERE lower(email) = $1 AND id > {i} AND deleted_at IS NULL",
]


def per_statement(fn: Callable[[], object], n: int, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--statements", type=int, default=5000)
    args = parser.parse_args()
    texts = {i: SHAPES[i % len(SHAPES)].format(i=i) for i in range(args.statements)}
    catalog = Catalog(TABLES, {k: frozenset(v) for k, v in COLUMNS.items()})
    n = len(texts)
    raw = per_statement(lambda: [parse_sql_json(t) for t in texts.values()], n)
    full = per_statement(lambda: [pglast.parse_sql(t) for t in texts.values()], n)
    model = per_statement(lambda: build(texts, catalog), n)
    print(f"{n} distinct statements, microseconds per statement (median of 3 runs)")
    print(f"  raw JSON parse (parse_sql_json) {raw:8.1f}")
    print(f"  pglast AST (parse_sql)          {full:8.1f}   {full / raw:5.1f}x raw")
    print(f"  pgsage workload model           {model:8.1f}   {model / raw:5.1f}x raw, "
          f"{model / full:4.2f}x AST")
    print(f"  whole workload                  {model * n / 1e6:8.2f} s")


if __name__ == "__main__":
    main()
