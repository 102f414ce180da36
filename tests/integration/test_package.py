"""The built wheel works outside the checkout: a non-editable install carries the
migrations, the Alembic configuration and the sample sources file as package data.

The wheel is built from a copy of the tracked files without build isolation (no
network) and installed without dependencies into a fresh venv, which sees the test
environment's dependencies through a ``.pth`` line (that directory's own ``.pth`` files,
the editable install's among them, are not run) and is run from outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import PROJECT


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the built wheel installed; yields its bin directory."""
    root = tmp_path_factory.mktemp("package")
    source = root / "src"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        path = PROJECT / name.decode()
        if path.is_file():
            (source / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name.decode())
    pip = [sys.executable, "-m", "pip"]
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", root / "dist",
        ".", cwd=source)  # fmt: skip
    (wheel,) = (root / "dist").glob("newsingest-*.whl")
    run(sys.executable, "-m", "venv", "--without-pip", root / "venv", cwd=root)
    python = root / "venv" / "bin" / "python"
    run(*pip, "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=root)
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=root)
    Path(purelib.strip(), "newsingest-test-deps.pth").write_text(
        sysconfig.get_path("purelib") + "\n", encoding="utf-8"
    )
    yield root / "venv" / "bin"


def test_the_installed_wheel_upgrades_checks_sources_and_runs_the_demo(
    installed: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSINGEST_")}
    env.update(NEWSINGEST_DATA_DIR=str(tmp_path / "data"))
    env.pop("PYTHONPATH", None)
    where = run(installed / "python", "-c", "import crawler; print(crawler.__file__)", cwd=tmp_path)
    assert where.strip().startswith(str(installed.parent)), where
    newsingest = installed / "newsingest"
    try:
        assert "OK" in run(newsingest, "sources", "check", cwd=tmp_path, env=env)
        assert "latest schema" in run(newsingest, "db", "upgrade", cwd=tmp_path, env=env)
        run(newsingest, "status", cwd=tmp_path, env=env)
        assert "articles from the demo site" in run(newsingest, "demo", cwd=tmp_path, env=env)
        assert run(newsingest, "--version", cwd=tmp_path, env=env).startswith("newsingest, ")
    finally:
        subprocess.run(
            [newsingest, "db", "stop"], cwd=tmp_path, env=env, capture_output=True, check=False
        )
