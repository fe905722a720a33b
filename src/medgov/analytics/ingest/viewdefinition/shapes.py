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

A path ending in `first()` may also filter: `coding.where(system = 'S').code.first()`,
`extension('url').value.ofType(Coding).code.first()`, `participant.where(type.coding.where(code = 'ATND').exists())
.individual.getReferenceKey(Practitioner).first()`. The shortcut guesses that the first candidate of each filtered
array passes and reads the path through it; the guess is taken only on rows where the first candidate's members are
seen to satisfy the criteria (a member equal to a plain string, or present, for `exists()`), which makes it the
first item the filter keeps. Where the first candidate of the first filtered array plainly fails an equality (its
member is another plain string), a second guess reads through the second candidate on the same terms. Any other
row takes the general translation.
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

SAMPLED_FROM_ROWS = 20_000
"""The sample is drawn from the first this many resources of the type in storage order, not from all of them: a
sample of all a million encounters of a large warehouse would read every one of them (0.8 s at 100,000 patients);
the shape only makes the query faster, and rows of another shape take the general translation."""

_MEMBER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def observed_shape(connection: duckdb.DuckDBPyConnection, source: str, resource_type: str) -> Shape:
    """The merged JSON structure of a sample of the ``resource_type`` resources in ``source`` (empty if none), drawn
    from the first ``SAMPLED_FROM_ROWS`` of them.

    ``source`` must already be a valid table name (the compiler's check); the sample is repeatable, so the same
    data compiles to the same SQL.
    """
    rows = connection.execute(
        f"""
        SELECT json_group_structure(resource)
        FROM (SELECT resource FROM {source} WHERE resource_type = ? LIMIT {SAMPLED_FROM_ROWS})
        USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (1)
        """,
        [resource_type],
    ).fetchall()
    structure = rows[0][0] if rows else None
    shape = json.loads(structure) if structure is not None else {}
    return shape if isinstance(shape, dict) else {}


@dataclass(frozen=True)
class Shortcut:
    """A column path read by one JSONPath: ``path`` finds the first (or only) item, or the reference to key.

    ``checks`` are the guess a path with `where()` makes: (JSONPath, JSON text) pairs that must all hold for
    ``path`` to be the first item. Each pair says the member is that string (the JSON text of a string literal) or,
    with None for text, that the member exists.
    """

    path: str
    first: bool
    reference: bool
    reference_type: str | None
    checks: tuple[tuple[str, str | None], ...] = ()
    root: str = ""
    """The JSONPath of the path's first member (``$.code``): where it is absent, the path yields nothing."""
    excluded: tuple[tuple[str, str], ...] = ()
    """For a guess on a where()'s second candidate: (JSONPath, JSON text) pairs of the first candidate, any of which,
    being a plain string other than that text, shows the first fails the where()."""


@dataclass(frozen=True)
class _Condition:
    """Part of a guess that a where()'s first candidate passes: the member at ``arrays`` (array steps taken at their
    first item), then ``singles`` (steps that must be single values), exists and, unless ``equals`` is None, is the
    string ``equals``."""

    arrays: tuple[str, ...]
    singles: tuple[str, ...]
    equals: str | None


@dataclass(frozen=True)
class _Filter:
    """A where() step: its items pass when every condition holds (a sufficient test, not a necessary one)."""

    conditions: tuple[_Condition, ...]


_Step = str | _Filter


def shortcut(node: fhirpath.Node, resource_type: str, shape: Shape, *, second: bool = False) -> Shortcut | None:
    """The shortcut for a column's path from the resource, or None when the path is not a plain one.

    With ``second``, the guess for a path with `where()` that the first where()'s first candidate fails (an
    equality of its own member is plainly false) and its second passes (extension('url') where the extension
    sought is usually the second, say); None when there is no such where() or equality.

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
    if not steps or not isinstance(steps[-1], str) or (not first and any(isinstance(s, _Filter) for s in steps)):
        return None
    parts = ["$"]
    checks: list[tuple[str, str | None]] = []
    excluded: list[tuple[str, str]] = []
    current: Any = shape
    for step in steps:
        if isinstance(step, _Filter):
            if second and not excluded:
                if not parts[-1].endswith("[0]"):
                    return None
                first_candidate = "".join(parts)
                for condition in step.conditions:
                    if not condition.arrays and condition.equals is not None:
                        check = _check(first_candidate, current, condition)
                        if check is not None and check[1] is not None:
                            excluded.append((check[0], check[1]))
                if not excluded:
                    return None
                parts[-1] = parts[-1][: -len("[0]")] + "[1]"
            for condition in step.conditions:
                check = _check("".join(parts), current, condition)
                if check is None:
                    return None
                checks.append(check)
            continue
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
    if second and not excluded:
        return None
    return Shortcut("".join(parts), first, reference, reference_type, tuple(checks), f"$.{steps[0]}", tuple(excluded))


def _check(item: str, shape: Any, condition: _Condition) -> tuple[str, str | None] | None:
    """The JSONPath and value that show ``condition`` holds for the item at ``item`` (of ``shape``)."""
    parts, current = [item], shape
    for step in condition.arrays:
        current = current.get(step) if isinstance(current, Mapping) else None
        if isinstance(current, list):
            parts.append(f".{step}[0]")
            current = current[0] if current else None
        else:
            parts.append(f".{step}")
    for step in condition.singles:
        current = current.get(step) if isinstance(current, Mapping) else None
        if isinstance(current, list):
            return None  # equality with a repeating member compares whole collections
        parts.append(f".{step}")
    return "".join(parts), None if condition.equals is None else '"' + condition.equals + '"'


# A string that JSON writes as itself between quotes: json_extract's text for it is known without parsing.
_PLAIN_STRING = re.compile(r"[A-Za-z0-9 :/._-]*")


def _conditions(node: fhirpath.Node) -> tuple[_Condition, ...] | None:
    """Conditions that, all holding for an item, make where(``node``) keep it; None for criteria not understood.

    Understood: `member.path = 'string'` (either way round), `a and b`, and `path.exists()`,
    `path.exists(criteria)` or `path.where(criteria).exists()`, where a path of element names may cross
    repeating elements (its first items witness the existence)."""
    if isinstance(node, fhirpath.Binary) and node.operator == "and":
        left, right = _conditions(node.left), _conditions(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, fhirpath.Binary) and node.operator == "=":
        for path, literal in ((node.left, node.right), (node.right, node.left)):
            names = _names(path)
            if (
                names
                and isinstance(literal, fhirpath.Literal)
                and literal.kind == "string"
                and isinstance(literal.value, str)
                and _PLAIN_STRING.fullmatch(literal.value)
            ):
                return (_Condition((), tuple(names), literal.value),)
        return None
    if isinstance(node, fhirpath.Call) and node.name == "exists" and node.target is not None:
        target, criteria = node.target, node.arguments[0] if len(node.arguments) == 1 else None
        if len(node.arguments) > 1:
            return None
        if (
            criteria is None
            and isinstance(target, fhirpath.Call)
            and target.name == "where"
            and len(target.arguments) == 1
            and target.target is not None
        ):
            criteria = target.arguments[0]
            target = target.target
        names = _names(target)
        if not names:
            return None
        if criteria is None:
            return (_Condition(tuple(names), (), None),)
        inner = _conditions(criteria)
        if inner is None:
            return None
        return tuple(_Condition((*names, *c.arrays), c.singles, c.equals) for c in inner)
    return None


def _names(node: fhirpath.Node) -> list[str] | None:
    """The element names of a plain path from the focus (`a.b.c`), or None."""
    names: list[str] = []
    while isinstance(node, fhirpath.Member):
        names.insert(0, node.name)
        node = node.target
    if not isinstance(node, fhirpath.Identifier):
        return None
    names.insert(0, node.name)
    return names if all(_MEMBER_NAME.fullmatch(name) for name in names) else None


def item_shape(node: fhirpath.Node, resource_type: str, shape: Shape) -> Shape | None:
    """The shape of the items a forEach over ``node`` (a path of element names) visits, or None if unknown."""
    steps = _steps(node, resource_type)
    if not steps:
        return None
    current: Any = shape
    for step in steps:
        if isinstance(step, _Filter):
            continue  # a where() keeps some of the items, of the same shape
        current = current.get(step) if isinstance(current, Mapping) else None
        if isinstance(current, list):
            current = current[0] if current else None
    return current if isinstance(current, Mapping) else None


def _steps(node: fhirpath.Node, resource_type: str) -> list[_Step] | None:
    steps: list[_Step] = []
    while True:
        if isinstance(node, fhirpath.Member):
            steps.insert(0, node.name)
            node = node.target
        elif (
            isinstance(node, fhirpath.Call)
            and node.name == "where"
            and len(node.arguments) == 1
            and isinstance(node.target, fhirpath.Identifier | fhirpath.Member)
        ):
            conditions = _conditions(node.arguments[0])
            if conditions is None:
                return None
            steps.insert(0, _Filter(conditions))
            node = node.target
        elif (
            isinstance(node, fhirpath.Call)
            and node.name == "extension"
            and len(node.arguments) == 1
            and isinstance(node.arguments[0], fhirpath.Literal)
            and isinstance(node.arguments[0].value, str)
            and _PLAIN_STRING.fullmatch(node.arguments[0].value)
        ):
            # extension(url) is extension.where(url = url) (FHIRPath, FHIR-specific functions).
            steps[0:0] = ["extension", _Filter((_Condition((), ("url",), node.arguments[0].value),))]
            if node.target is None:
                break
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
    if not steps or not all(isinstance(step, _Filter) or _MEMBER_NAME.fullmatch(step) for step in steps):
        return None
    if isinstance(steps[0], _Filter):
        return None  # a where() on the focus itself
    return steps
