"""Measures registered by id and version.

Each module in ``measures/library`` declares its specs and registers them with :func:`register` at import;
:func:`all_measures` imports the library once. Several versions of a measure may be registered side by side:
``get(id)`` returns the latest (versions compare as dotted integers), ``get(id, version)`` an exact one.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from medgov.analytics.measures.spec import MeasureSpec


class UnknownMeasureError(LookupError):
    """A measure id (or id and version) that no library module registers."""

    def __init__(self, measure_id: str, version: str | None, known: list[str]) -> None:
        wanted = measure_id if version is None else f"{measure_id} version {version}"
        super().__init__(f"unknown measure {wanted!r}; known measures: {', '.join(known) or 'none'}")
        self.measure_id = measure_id
        self.version = version


_REGISTRY: dict[tuple[str, str], MeasureSpec] = {}


def register(spec: MeasureSpec) -> MeasureSpec:
    """Add ``spec`` under (id, version); registering a different spec under a taken key is an error."""
    existing = _REGISTRY.get(spec.key)
    if existing is not None and existing is not spec:
        raise ValueError(f"measure {spec.id} version {spec.version} is registered twice")
    _REGISTRY[spec.key] = spec
    return spec


@cache
def _load_library() -> None:
    from medgov.analytics.measures import library

    for info in pkgutil.iter_modules(library.__path__, library.__name__ + "."):
        importlib.import_module(info.name)


def _version_key(version: str) -> tuple[int | str, ...]:
    return tuple(int(part) if part.isdigit() else part for part in version.split("."))


def all_measures() -> list[MeasureSpec]:
    """Every registered measure version, ordered by id then version."""
    _load_library()
    return sorted(_REGISTRY.values(), key=lambda spec: (spec.id, _version_key(spec.version)))


def get(measure_id: str, version: str | None = None) -> MeasureSpec:
    """The measure ``measure_id`` at ``version``, or its latest version when ``version`` is None."""
    _load_library()
    if version is not None:
        spec = _REGISTRY.get((measure_id, version))
        if spec is not None:
            return spec
    else:
        versions = [spec for (name, _), spec in _REGISTRY.items() if name == measure_id]
        if versions:
            return max(versions, key=lambda spec: _version_key(spec.version))
    raise UnknownMeasureError(measure_id, version, sorted({name for name, _ in _REGISTRY}))
