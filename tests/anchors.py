"""Where the external reference data lives: ../shared/anchors beside the checkout (never copied in)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ANCHORS = Path(os.environ.get("MEDGOV_ANCHORS", REPO_ROOT.parent / "shared" / "anchors"))
