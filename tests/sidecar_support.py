"""Helpers for the sidecar tests: records without a database, a sidecar in a thread, scraping."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from pgsage.analyzer.engine import config as config_mod
from pgsage.analyzer.engine.config import Config
from pgsage.analyzer.model.snapshot import CollectorStatus
from pgsage.analyzer.sidecar.runner import Boot, CollectorResult
from pgsage.analyzer.sidecar.service import Sidecar
from pgsage.analyzer.sidecar.settings import sidecar_of, with_sidecar
from pgsage.collectors.base import ServerContext

R = TypeVar("R")

_DEFAULTS = {int: 0, float: 0.0, str: "", bool: False}


def make(record: type[R], **values: Any) -> R:
    """A record with every field not given set to a zero of its type (or None)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        if f.name in values:
            out[f.name] = values[f.name]
        elif f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        else:
            kind = str(f.type).split("|")[0].strip()
            out[f.name] = {"int": 0, "float": 0.0, "str": "", "bool": False}.get(kind)
    return record(**out)


def boot(started_at: float = 1000.0, version: int = 170000, database: str = "shop") -> Boot:
    return Boot(version, "17.0", database, 5432, started_at,
                ServerContext(server_version_num=version))


def ok(records: list[Any], at: float) -> CollectorResult:
    return CollectorResult(CollectorStatus(ok=True, rows=len(records), seconds=0.01),
                           records=records, finished_at=at)


def failed(reason: str, kind: str, at: float) -> CollectorResult:
    return CollectorResult(CollectorStatus(ok=False, reason=reason), kind=kind, finished_at=at)


def sidecar_config(targets: list[dict[str, Any]], **sections: Any) -> Config:
    """A validated configuration with short intervals for tests."""
    doc: dict[str, Any] = {
        "serve": {"listen": "127.0.0.1:0"},
        "targets": targets,
        "intervals": {"activity": "1s", "statements": "1s", "tables": "1s", "schema": "2s",
                      "advice": "5s"},
        "schedule": {"jitter": 0.1},
        "window": {"length": "30s"},
        "connection": {"statement_timeout": "3s", "lock_timeout": "300ms",
                       "connect_timeout": "3s"},
    }
    for key, value in sections.items():
        doc[key] = config_mod.merge(doc.get(key, {}), value) if isinstance(value, dict) else value
    listen = doc["serve"].pop("listen")
    config = config_mod.validate({**doc, "serve": {**doc["serve"], "listen": "127.0.0.1:1"}})
    if listen.endswith(":0"):  # any free port: validation wants 1-65535, the OS picks one
        serve = dataclasses.replace(sidecar_of(config).serve, port=0)
        config = with_sidecar(config, dataclasses.replace(sidecar_of(config), serve=serve))
    return config


class SidecarThread:
    """A Sidecar on its own event loop in a thread; the test talks to it over HTTP."""

    def __init__(self, config: Config) -> None:
        self.sidecar = Sidecar(config, loader=lambda: config)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            try:
                await self.sidecar.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                raise
            self._ready.set()
            assert self.sidecar.stopping is not None
            await self.sidecar.stopping.wait()
            await self.sidecar.stop()

        with contextlib.suppress(BaseException):
            self.loop.run_until_complete(main())
        self.loop.close()

    def __enter__(self) -> SidecarThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.sidecar.request_stop)
        self._thread.join(15)
        assert not self._thread.is_alive(), "the sidecar did not stop"

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the sidecar's loop (to read state consistently) and return its result."""
        async def wrapped() -> Any:
            result = fn()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(30)

    @property
    def url(self) -> str:
        assert self.sidecar.web is not None
        return f"http://127.0.0.1:{self.sidecar.web.port}"


def fetch(url: str, user: str | None = None, password: str | None = None,
          context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The one sample with these labels (others ignored); None when absent."""
    found = [v for (n, ls), v in samples.items()
             if n == name and all((k, val) in ls for k, val in labels.items())]
    assert len(found) <= 1, f"{name}{labels} matches {len(found)} samples"
    return found[0] if found else None


def scrape(base: str) -> Samples:
    status, _, body = fetch(f"{base}/metrics")
    assert status == 200
    return parse(body.decode())


def wait_for(check: Callable[[], R], timeout: float = 20.0, what: str = "condition") -> R:
    """Poll until `check()` returns something truthy; fail with `what` after `timeout`."""
    end = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < end:
        with contextlib.suppress(AssertionError, OSError):
            last = check()
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def pgsage_backends(admin_dsn: str) -> int:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity "
                           "WHERE application_name = 'pgsage'").fetchone()
    assert row is not None
    return int(row[0])


@contextlib.contextmanager
def running(config: Config) -> Iterator[SidecarThread]:
    with SidecarThread(config) as thread:
        yield thread


def labels_of(samples: Samples, name: str) -> list[Mapping[str, str]]:
    return [dict(ls) for (n, ls) in samples if n == name]
