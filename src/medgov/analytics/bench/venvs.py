"""The peers' virtual environments: created and filled by the bench itself, cached, never project dependencies.

Each peer gets its own environment under the cache folder (default ``var/bench-venvs/``), made with uv. The
libraries the peers share with medgov (pandas, pyarrow, orjson, DuckDB) are pinned to the versions medgov runs
with, so a ratio compares implementations, not library releases.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

PEER_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "pandas": ("pandas", "pyarrow", "orjson"),
    "fhir4ds": ("fhir4ds", "duckdb"),
}
"""Packages of each peer environment; a package medgov also uses is pinned to medgov's installed version."""


def _pinned(package: str) -> str:
    try:
        return f"{package}=={importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return package


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


def requirements(peer: str) -> list[str]:
    return [_pinned(package) for package in PEER_REQUIREMENTS[peer]]


def ensure_venv(peer: str, cache: Path) -> Path:
    """The Python of ``peer``'s environment, created (or re-created when its requirements changed) on demand."""
    wanted = requirements(peer)
    folder = cache / peer
    python = folder / "bin" / "python"
    stamp = folder / "medgov-bench-requirements.txt"
    if python.exists() and stamp.exists() and stamp.read_text().split() == wanted:
        return python
    if folder.exists():
        shutil.rmtree(folder)
    cache.mkdir(parents=True, exist_ok=True)
    major, minor = sys.version_info[:2]
    subprocess.run([*_uv(), "venv", "--quiet", "--python", f"{major}.{minor}", str(folder)], check=True)
    subprocess.run([*_uv(), "pip", "install", "--quiet", "--python", str(python), *wanted], check=True)
    stamp.write_text("\n".join(wanted))
    return python


def installed(python: Path) -> dict[str, str]:
    """Package versions in an environment, for the record in the results."""
    listing = subprocess.run(
        [*_uv(), "pip", "freeze", "--python", str(python)], check=True, capture_output=True, text=True
    ).stdout
    versions = {}
    for line in listing.splitlines():
        name, separator, version = line.partition("==")
        if separator:
            versions[name] = version
    return versions
