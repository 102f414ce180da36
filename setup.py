"""Shim for tools that still call ``setup.py`` (scrapyd-deploy builds its egg with it),
and the build step that ships the top-level data files inside the package.

All metadata lives in pyproject.toml. A built wheel or egg carries ``alembic.ini``,
``migrations/`` and ``sources.yaml`` as ``crawler/bundled/...`` (`crawler.config.bundled`
finds them there, else in the checkout), so a non-editable install works anywhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("alembic.ini", "sources.yaml", "migrations")


class BuildWithBundledData(build_py):
    """build_py that also copies `BUNDLED` into ``crawler/bundled`` of the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        target = Path(self.build_lib) / "crawler" / "bundled"
        target.mkdir(parents=True, exist_ok=True)
        for name in BUNDLED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(
                    source,
                    target / name,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildWithBundledData})
