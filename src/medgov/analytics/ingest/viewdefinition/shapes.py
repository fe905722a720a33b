"""Shortcuts for the common column paths, guided by the shape the resources were seen to have.

The general translation of a FHIRPath (expressions.py) cannot know whether an element holds one value or an
array, so every step checks the JSON type, unpacks arrays into lists and flattens them again: a dozen JSON
parses for `type.coding.code.first()`. Most columns of real views are plain paths (`status`, `period.start`,
`code.coding.code.first()`, `subject.getReferenceKey(Patient)`), and in real data an element is either always an
array or never one. A shortcut reads such a path with one JSONPath (`$.code.coding[0].code`) chosen from the
observed shape, inside the single extraction of the resource (expressions.Extraction).

A shortcut is a guess checked on every row: the JSONPath only finds a value when each step has the shape the
guess assumed (DuckDB's `$.a.b` finds nothing when `a` is an array, `$.a[0]` nothing when it is an object), and
when it finds one that value is exactly what the general translation yields. A row where it finds nothing, or
finds an array, takes the general translation. So the shape only decides how fast a view runs, never what it
returns: a wrong or missing shape falls back, row by row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from medgov.analytics.ingest.viewdefinition import fhirpath

Shape = Mapping[str, Any]
"""The JSON structure of a resource type as DuckDB's ``json_group_structure`` reports it: an object is a mapping of
member to structure, an array a one-item list of its items' structure, anything else a type name."""

SAMPLE_ROWS = 2000
"""Resources sampled to observe a type's shape: enough to see every element a view reads, cheap to scan."""

_MEMBER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def observed_shape(connection: duckdb.DuckDBPyConnection, source: str, resource_type: str) -> Shape:
    """The merged JSON structure of a sample of the ``resource_type`` resources in ``source`` (empty if none).

    ``source`` must already be a valid table name (the compiler's check); the sample is repeatable, so the same
    data compiles to the same SQL.
    """
    rows = connection.execute(
        f"""
        SELECT json_group_structure(resource)
        FROM (SELECT resource FROM {source} WHERE resource_type = ?)
        USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (1)
        """,
        [resource_type],
    ).fetchall()
    structure = rows[0][0] if rows else None
    shape = json.loads(structure) if structure is not None else {}
    return shape if isinstance(shape, dict) else {}


@dataclass(frozen=True)
class Shortcut:
    """A column path read by one JSONPath: ``path`` finds the first (or only) item, or the reference to key."""

    path: str
    first: bool
    reference: bool
    reference_type: str | None


def shortcut(node: fhirpath.Node, resource_type: str, shape: Shape) -> Shortcut | None:
    """The shortcut for a column's path from the resource, or None when the path is not a plain one.

    Plain paths: element names (`a.b.c`, optionally starting with the resource type), where a step may be a choice
    element picked with `ofType(T)`, optionally followed by `getReferenceKey([T])`, optionally ending in `first()`.
    A path without `first()` gets a shortcut only when no step is an array in ``shape``, since only then is it a
    single value.
    """
    first = False
    if isinstance(node, fhirpath.Call) and node.name == "first" and not node.arguments and node.target is not None:
        first, node = True, node.target
    reference, reference_type = False, None
    if isinstance(node, fhirpath.Call) and node.name == "getReferenceKey" and node.target is not None:
        if len(node.arguments) > 1:
            return None
        if node.arguments:
            argument = node.arguments[0]
            if not isinstance(argument, fhirpath.Identifier):
                return None
            reference_type = argument.name
        reference, node = True, node.target
    steps = _steps(node, resource_type)
    if not steps:
        return None
    parts = ["$"]
    current: Any = shape
    for step in steps:
        child = current.get(step) if isinstance(current, Mapping) else None
        if isinstance(child, list):
            if not first:
                return None
            parts.append(f".{step}[0]")
            current = child[0] if child else None
        else:
            parts.append(f".{step}")
            current = child
    if reference:
        parts.append(".reference")
    return Shortcut("".join(parts), first, reference, reference_type)


def item_shape(node: fhirpath.Node, resource_type: str, shape: Shape) -> Shape | None:
    """The shape of the items a forEach over ``node`` (a path of element names) visits, or None if unknown."""
    steps = _steps(node, resource_type)
    if not steps:
        return None
    current: Any = shape
    for step in steps:
        current = current.get(step) if isinstance(current, Mapping) else None
        if isinstance(current, list):
            current = current[0] if current else None
    return current if isinstance(current, Mapping) else None


def _steps(node: fhirpath.Node, resource_type: str) -> list[str] | None:
    steps: list[str] = []
    while True:
        if isinstance(node, fhirpath.Member):
            steps.insert(0, node.name)
            node = node.target
        elif (
            isinstance(node, fhirpath.Call)
            and node.name == "ofType"
            and len(node.arguments) == 1
            and isinstance(node.arguments[0], fhirpath.Identifier)
            and isinstance(node.target, fhirpath.Identifier | fhirpath.Member)
        ):
            # A choice element (value[x]) is stored under its type: value.ofType(Quantity) is valueQuantity.
            type_name = node.arguments[0].name
            choice = node.target
            steps.insert(0, choice.name + type_name[:1].upper() + type_name[1:])
            if isinstance(choice, fhirpath.Member):
                node = choice.target
            else:
                break
        elif isinstance(node, fhirpath.Identifier):
            if node.name != resource_type:
                steps.insert(0, node.name)
            break
        else:
            return None
    if not steps or not all(_MEMBER_NAME.fullmatch(step) for step in steps):
        return None
    return steps
