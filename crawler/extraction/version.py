"""The extractor version stamped on every record and rejection."""

from __future__ import annotations

EXTRACTOR_VERSION = "2.45.0"
"""Bump when a change alters what extraction produces for the same page."""
