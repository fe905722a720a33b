"""Static files that come from installed Python packages rather than from this repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage


def _package_assets() -> dict[str, Path]:
    import plotly

    plotly_dir = Path(plotly.__file__).parent / "package_data"
    return {"vendor/plotly/plotly.min.js": plotly_dir / "plotly.min.js"}


class PackageAssetFinder(BaseFinder):
    """Serves Plotly's JavaScript from the installed plotly package, so charts work with no internet."""

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        asset = _package_assets().get(path)
        if asset is None or not asset.exists():
            return [] if find_all else None
        return [str(asset)] if find_all else str(asset)

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for name, asset in _package_assets().items():
            storage = FileSystemStorage(location=str(asset.parent))
            storage.prefix = str(Path(name).parent)  # type: ignore[attr-defined]
            yield asset.name, storage
