"""What `pip install pgsage` puts on a machine: one package, `pgsage`, with every folder."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_installed_under_pgsage() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    on_disk = {"pgsage." + ".".join(init.parent.relative_to(ROOT).parts)
               for top in ("analyzer", "collectors", "rules")
               for init in (ROOT / top).rglob("__init__.py")}
    assert set(setuptools["packages"]) == on_disk


@pytest.mark.subprocess  # pip wheel
def test_the_wheel_holds_only_the_pgsage_package(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("pgsage-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"pgsage"}
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "pgsage/collectors/sql/statements_post_140000.sql" in names or any(
        n.startswith("pgsage/collectors/sql/") for n in names)
    assert "pgsage/analyzer/app/demo_data/schema.sql" in names


@pytest.mark.subprocess
def test_importing_the_rules_loads_no_database_driver() -> None:
    code = ("import sys, pgsage.rules; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'psycopg', 'asyncpg'}), "
            "sorted(m for m in sys.modules if m.startswith('pgsage.analyzer.live')))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.strip()
    assert out == "[] []"
