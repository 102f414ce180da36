"""Imported by the extraction pool's fork server only (``set_forkserver_preload``).

Importing it warms the extraction code and freezes the heap
(`crawler.extractpool.worker.preload`), so the workers forked from the server start warm
and share those pages. Do not import it anywhere else: it would warm the importing
process for nothing.
"""

from __future__ import annotations

from crawler.extractpool.worker import preload

preload()
