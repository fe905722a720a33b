"""The demo-data loaders of every module, in order.

Kept apart from ``demo.py`` so a command module can register its loader while the command line is still being
assembled (``demo.py`` imports ``main``, which imports the command modules).
"""

from __future__ import annotations

from collections.abc import Callable

# Each loader is idempotent and prints what it did.
DEMO_STEPS: list[tuple[str, Callable[[], None]]] = []
