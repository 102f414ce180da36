"""The one exception discovery parsers raise: `DiscoveryError`.

Every parser in :mod:`crawler.discovery` either returns a result or raises
`DiscoveryError` with a human-readable reason; the crawler records that reason as a
discovery failure for the source and carries on.
"""

from __future__ import annotations

__all__ = ["DiscoveryError", "NotXMLError"]


class DiscoveryError(ValueError):
    """A discovery document (sitemap, feed, ...) could not be used, and why."""


class NotXMLError(DiscoveryError):
    """The document is not XML at all (or too broken to recover); the message is the detail."""
