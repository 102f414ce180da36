"""Shim for tools that still call ``setup.py`` (scrapyd-deploy builds its egg with it).

All metadata lives in pyproject.toml.
"""

from setuptools import setup

setup()
