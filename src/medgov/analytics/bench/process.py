"""Run one implementation of a stage as its own process and measure it.

Each run is a fresh process, so its peak resident memory is its own (``os.wait4`` gives the rusage of exactly
that child, where ``RUSAGE_CHILDREN`` would report the largest child so far) and no implementation warms
another's caches in Python. The process times its own work (wall clock and CPU, all threads) and writes it,
with what it produced, as JSON to the path passed as its last argument; start-up and imports are in the peak
memory but not in the times, the same for every implementation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class RunFailedError(RuntimeError):
    """An implementation's process exited with an error; the message carries the end of its stderr."""


@dataclass(frozen=True, slots=True)
class Run:
    """One measured run: wall and CPU seconds of the work, peak resident memory of the process, its output."""

    seconds: float
    cpu_seconds: float
    peak_memory_bytes: int
    output: Mapping[str, Any] = field(default_factory=dict)


def _peak_bytes(max_rss: int) -> int:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    return max_rss if sys.platform == "darwin" else max_rss * 1024


def run_measured(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None, label: str = ""
) -> Run:
    """Run ``argv`` plus a result path in a child process; raise ``RunFailedError`` if it fails."""
    with tempfile.TemporaryDirectory(prefix="medgov-bench-") as scratch:
        result_path = Path(scratch) / "result.json"
        log_path = Path(scratch) / "stderr.txt"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*argv, str(result_path)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0 or not result_path.exists():
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RunFailedError(f"{label or argv[0]} exited with {process.returncode}:\n{tail}")
        result = json.loads(result_path.read_text())
    return Run(
        seconds=float(result["seconds"]),
        cpu_seconds=float(result["cpu_seconds"]),
        peak_memory_bytes=_peak_bytes(usage.ru_maxrss),
        output=result.get("output", {}),
    )
