"""Compile a SQL-on-FHIR v2 ViewDefinition into one set-based DuckDB query.

The query is a chain of common table expressions over the source table, one step per construct of the view
(SQL-on-FHIR v2, "Processing Algorithm"):

- the first step keeps the resources of the view's type that satisfy every `where` path;
- `forEach`/`forEachOrNull`/`repeat` add a step that unnests the focus collection (a row per item, with
  its position for %rowIndex); sibling selects unnest one after another, which is the cross join the spec
  asks for;
- `column` adds a step that evaluates the paths against the current focus;
- `unionAll` unions its branches, each continuing from the same step.

The final SELECT renames the generated columns to the view's names in the spec's order: a select's own
columns, then its nested selects', then its unionAll's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medgov.analytics.ingest.viewdefinition import fhirpath
from medgov.analytics.ingest.viewdefinition.errors import ViewDefinitionError
from medgov.analytics.ingest.viewdefinition.expressions import (
    EMPTY_LIST,
    Compiler,
    Extraction,
    Kind,
    Names,
    Scope,
    Value,
    as_list,
    as_single,
    convert,
    plain_reference_key,
    reference_key,
    sql_string,
    to_boolean,
)
from medgov.analytics.ingest.viewdefinition.shapes import Shape, Shortcut, item_shape, shortcut

_COLUMN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SOURCE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
_SELECT_KEYS = frozenset({"column", "select", "forEach", "forEachOrNull", "repeat", "unionAll"})

# FHIR primitive types (R4, "Data Types") and the DuckDB types their columns get. Dates and times stay text:
# FHIR allows partial dates ("1970-06") and times zones that SQL DATE/TIMESTAMP cannot hold.
_SQL_TYPES = {
    "boolean": "BOOLEAN",
    "integer": "INTEGER",
    "positiveInt": "INTEGER",
    "unsignedInt": "INTEGER",
    "integer64": "BIGINT",
    "decimal": "DOUBLE",
    **dict.fromkeys(
        (
            "string",
            "code",
            "id",
            "uri",
            "url",
            "canonical",
            "oid",
            "uuid",
            "markdown",
            "base64Binary",
            "xhtml",
            "date",
            "dateTime",
            "instant",
            "time",
        ),
        "VARCHAR",
    ),
}

# Constant value[x] keys (SQL-on-FHIR v2 ViewDefinition.constant.value[x]) and the SQL type of their literal.
_CONSTANT_TYPES = {
    "valueBoolean": "BOOLEAN",
    "valueInteger": "BIGINT",
    "valuePositiveInt": "BIGINT",
    "valueUnsignedInt": "BIGINT",
    "valueInteger64": "BIGINT",
    "valueDecimal": "DOUBLE",
    **dict.fromkeys(
        (
            "valueString",
            "valueCode",
            "valueId",
            "valueUri",
            "valueUrl",
            "valueCanonical",
            "valueOid",
            "valueUuid",
            "valueBase64Binary",
            "valueDate",
            "valueDateTime",
            "valueInstant",
            "valueTime",
        ),
        "VARCHAR",
    ),
}


@dataclass(frozen=True)
class Column:
    """One column of a view: its name, its declared FHIR type (if any) and whether it holds a list."""

    name: str
    type: str | None
    collection: bool


@dataclass(frozen=True)
class CompiledView:
    """The SELECT that produces a view's rows, and the view's columns in order."""

    sql: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class _Relation:
    """A step of the query and the columns it carries."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class _Output:
    sql_name: str
    column: Column


def _sql_type(column: Column, where: str) -> str:
    if column.type is None:
        return "VARCHAR"
    if column.type in _SQL_TYPES:
        return _SQL_TYPES[column.type]
    if column.type[:1].isupper():
        return "JSON"  # a complex FHIR type (Coding, Quantity, ...) keeps its JSON form
    raise ViewDefinitionError(f"{where}: unknown type {column.type!r}")


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source_sql(source: str) -> str:
    if not isinstance(source, str) or not _SOURCE_NAME.fullmatch(source):
        raise ViewDefinitionError(f"source must name a table or view, e.g. 'resources' or 'raw.resources': {source!r}")
    return ".".join(_quote_identifier(part) for part in source.split("."))


class _ViewCompiler:
    def __init__(self, view: Mapping[str, Any], source: str, shape: Shape | None) -> None:
        self.view = view
        self.source = _source_sql(source)
        self.shape = shape
        self.names = Names()
        self.steps: list[tuple[str, str]] = []
        # Each forEach item's extraction, the step that computes it and the step that step reads; the shape each
        # extraction's item was seen to have.
        self.item_extractions: list[tuple[int, Extraction, str]] = []
        self.extraction_shapes: dict[str, Shape | None] = {}

    # Validation helpers -----------------------------------------------------------------------------------------

    def parse(self, path: Any, where: str) -> fhirpath.Node:
        if not isinstance(path, str):
            raise ViewDefinitionError(f"{where}: path must be a FHIRPath string, not {type(path).__name__}")
        try:
            return fhirpath.parse(path)
        except ViewDefinitionError as error:
            raise ViewDefinitionError(f"{where}: {error}") from None

    def evaluate(self, path: Any, scope: Scope, where: str) -> Value:
        node = self.parse(path, where)
        try:
            return Compiler(path).compile(node, scope)
        except ViewDefinitionError as error:
            raise ViewDefinitionError(f"{where}: {error}") from None

    def step(self, sql: str, columns: Sequence[str]) -> _Relation:
        name = self.names.new("s")
        self.steps.append((name, sql))
        return _Relation(name, tuple(columns))

    # The view ----------------------------------------------------------------------------------------------------

    def compile(self) -> CompiledView:
        view = self.view
        if not isinstance(view, Mapping):
            raise ViewDefinitionError(f"a ViewDefinition must be a JSON object, not {type(view).__name__}")
        resource_type = view.get("resource")
        if not isinstance(resource_type, str) or not resource_type:
            raise ViewDefinitionError("ViewDefinition.resource is required: the FHIR resource type the view reads")
        selects = view.get("select")
        if not isinstance(selects, list) or not selects:
            raise ViewDefinitionError("ViewDefinition.select is required: a list of at least one select")
        constants = self.constants(view.get("constant", []))
        resource = Value("resource", Kind.ITEM)
        scope = Scope(resource, resource, resource_type, "CAST(0 AS BIGINT)", constants, self.names)

        conditions = [f"resource_type = {sql_string(resource_type)}"]
        wheres = view.get("where", [])
        if not isinstance(wheres, list):
            raise ViewDefinitionError("ViewDefinition.where must be a list of {path} objects")
        for number, where in enumerate(wheres, start=1):
            label = f"where[{number}]"
            if not isinstance(where, Mapping) or "path" not in where:
                raise ViewDefinitionError(f"{label} must be an object with a 'path'")
            value = self.evaluate(where["path"], scope, label)
            required = f"{label} path {where['path']!r} must evaluate to a single boolean"
            conditions.append(f"coalesce({to_boolean(value, self.names, required=required)}, false)")

        root = Value("_r", Kind.ITEM)
        extraction = Extraction(self.names.new("x"), root.sql)
        self.extraction_shapes[extraction.column] = self.shape
        scope = Scope(root, root, resource_type, "CAST(0 AS BIGINT)", constants, self.names, extraction)
        relation = self.step("", ["_r", extraction.column])
        outputs: list[_Output] = []
        for number, select in enumerate(selects, start=1):
            relation, produced = self.select(select, scope, relation, f"select[{number}]")
            outputs.extend(produced)
        if not outputs:
            raise ViewDefinitionError("the ViewDefinition defines no columns")
        seen: set[str] = set()
        for output in outputs:
            if output.column.name in seen:
                raise ViewDefinitionError(f"column name {output.column.name!r} is used more than once in the view")
            seen.add(output.column.name)

        # The first step is written last: it reads every path the others asked of the resource in one parse. So
        # are the steps that read the paths asked of each forEach item.
        self.steps[0] = (
            self.steps[0][0],
            f"SELECT resource AS _r, {extraction.sql('resource')} AS {extraction.column} "
            f"FROM {self.source} WHERE {' AND '.join(conditions)}",
        )
        for index, item_extraction, source in self.item_extractions:
            self.steps[index] = (
                self.steps[index][0],
                f"SELECT *, {item_extraction.sql(item_extraction.item)} AS {item_extraction.column} FROM {source}",
            )
        selected = ", ".join(f"{output.sql_name} AS {_quote_identifier(output.column.name)}" for output in outputs)
        ctes = ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in self.steps)
        sql = f"WITH {ctes}\nSELECT {selected}\nFROM {relation.name}"
        return CompiledView(sql=sql, columns=tuple(output.column for output in outputs))

    def constants(self, constants: Any) -> dict[str, Value]:
        if not isinstance(constants, list):
            raise ViewDefinitionError("ViewDefinition.constant must be a list")
        values: dict[str, Value] = {}
        for number, constant in enumerate(constants, start=1):
            label = f"constant[{number}]"
            if not isinstance(constant, Mapping):
                raise ViewDefinitionError(f"{label} must be an object with a name and a value[x]")
            name = constant.get("name")
            if not isinstance(name, str) or not _COLUMN_NAME.fullmatch(name):
                raise ViewDefinitionError(f"{label} needs a name made of letters, digits and '_': {name!r}")
            keys = [key for key in constant if key.startswith("value")]
            if len(keys) != 1:
                raise ViewDefinitionError(f"constant {name!r} needs exactly one value[x] (e.g. valueString)")
            key = keys[0]
            if key not in _CONSTANT_TYPES:
                raise ViewDefinitionError(f"constant {name!r}: {key} is not a supported constant type")
            raw = constant[key]
            sql_type = _CONSTANT_TYPES[key]
            if sql_type == "BOOLEAN" and isinstance(raw, bool):
                sql = "true" if raw else "false"
            elif sql_type in ("BIGINT", "DOUBLE") and isinstance(raw, int | float) and not isinstance(raw, bool):
                sql = f"CAST({raw!r} AS {sql_type})"
            elif sql_type == "VARCHAR" and isinstance(raw, str):
                sql = sql_string(raw)
            else:
                raise ViewDefinitionError(f"constant {name!r}: {key} has a value of the wrong type: {raw!r}")
            values[name] = Value(sql, Kind.SCALAR, sql_type)
        return values

    # Selects -----------------------------------------------------------------------------------------------------

    def select(self, select: Any, scope: Scope, relation: _Relation, where: str) -> tuple[_Relation, list[_Output]]:
        if not isinstance(select, Mapping):
            raise ViewDefinitionError(f"{where} must be an object")
        unknown = set(select) - _SELECT_KEYS
        if unknown:
            raise ViewDefinitionError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        iterations = [key for key in ("forEach", "forEachOrNull", "repeat") if key in select]
        if len(iterations) > 1:
            raise ViewDefinitionError(f"{where} may have only one of forEach, forEachOrNull and repeat")
        if iterations:
            relation, scope = self.iterate(iterations[0], select[iterations[0]], scope, relation, where)

        outputs: list[_Output] = []
        if "column" in select:
            relation, produced = self.columns(select["column"], scope, relation, where)
            outputs.extend(produced)
        children = select.get("select", [])
        if not isinstance(children, list):
            raise ViewDefinitionError(f"{where}.select must be a list")
        for number, child in enumerate(children, start=1):
            relation, produced = self.select(child, scope, relation, f"{where}.select[{number}]")
            outputs.extend(produced)
        if "unionAll" in select:
            relation, produced = self.union_all(select["unionAll"], scope, relation, f"{where}.unionAll")
            outputs.extend(produced)
        return relation, outputs

    def iterate(self, key: str, path: Any, scope: Scope, relation: _Relation, where: str) -> tuple[_Relation, Scope]:
        label = f"{where}.{key}"
        if key == "repeat":
            items = self.repeat(path, scope, label)
        else:
            items = as_list(self.evaluate(path, scope, label), self.names)
        items_name, item_name, index_name = self.names.new("l"), self.names.new("f"), self.names.new("i")
        relation = self.step(f"SELECT *, {items} AS {items_name} FROM {relation.name}", [*relation.columns, items_name])
        if key == "forEachOrNull":
            # One row with an empty focus when the collection is empty, so the parent row survives.
            unnested = f"CASE WHEN len({items_name}) = 0 THEN [NULL::JSON] ELSE {items_name} END"
            positions = f"range(greatest(len({items_name}), 1))"
        else:
            unnested, positions = items_name, f"range(len({items_name}))"
        carried = [column for column in relation.columns if column != items_name]
        relation = self.step(
            f"SELECT * EXCLUDE ({items_name}), unnest({unnested}) AS {item_name}, "
            f"unnest({positions}) AS {index_name} FROM {relation.name}",
            [*carried, item_name, index_name],
        )
        # The paths read from each item are extracted in one parse too (the step's SQL is written in compile()).
        item_extraction = Extraction(self.names.new("x"), item_name)
        self.extraction_shapes[item_extraction.column] = self.items_shape(key, path, scope)
        self.item_extractions.append((len(self.steps), item_extraction, relation.name))
        relation = self.step("", [*relation.columns, item_extraction.column])
        focus = Value(item_name, Kind.ITEM)
        return relation, Scope(
            focus, scope.resource, scope.resource_type, index_name, scope.constants, self.names, item_extraction
        )

    def items_shape(self, key: str, path: Any, scope: Scope) -> Shape | None:
        """The shape of a forEach's items, when the focus's shape is known and the path is plain member names."""
        extraction = scope.extraction
        if key == "repeat" or extraction is None or scope.focus.sql != extraction.item:
            return None
        shape = self.extraction_shapes.get(extraction.column)
        if shape is None:
            return None
        resource_type = scope.resource_type if scope.focus is scope.resource else ""
        return item_shape(fhirpath.parse(path), resource_type, shape)

    def repeat(self, paths: Any, scope: Scope, where: str) -> str:
        # FHIRPath repeat() over member paths: the nodes reachable by one or more steps along the paths, in
        # document order (depth first), which is the order %rowIndex numbers them in.
        if not isinstance(paths, list) or not paths or not all(isinstance(path, str) for path in paths):
            raise ViewDefinitionError(f"{where} must be a non-empty list of FHIRPath strings")
        alternatives = []
        for path in paths:
            steps: list[str] = []
            node = self.parse(path, where)
            while isinstance(node, fhirpath.Member):
                steps.insert(0, node.name)
                node = node.target
            if not isinstance(node, fhirpath.Identifier) or not all(
                re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", step) for step in [node.name, *steps]
            ):
                raise ViewDefinitionError(f"{where}: {path!r} must be a path of element names, e.g. 'item'")
            steps.insert(0, node.name)
            alternatives.append("".join(rf"\.{step}(\[[0-9]+\])?" for step in steps))
        pattern = r"\$(" + "|".join(f"({alternative})" for alternative in alternatives) + ")+"
        focus = as_single(scope.focus, self.names, f"{where} applies to more than one item")
        return (
            f"coalesce((SELECT list(value ORDER BY id) FROM json_tree({focus.sql}) "
            f"WHERE type <> 'ARRAY' AND regexp_full_match(fullkey, {sql_string(pattern)})), {EMPTY_LIST})"
        )

    def columns(self, columns: Any, scope: Scope, relation: _Relation, where: str) -> tuple[_Relation, list[_Output]]:
        if not isinstance(columns, list) or not columns:
            raise ViewDefinitionError(f"{where}.column must be a non-empty list")
        expressions: list[str] = []
        outputs: list[_Output] = []
        for number, column in enumerate(columns, start=1):
            label = f"{where}.column[{number}]"
            if not isinstance(column, Mapping):
                raise ViewDefinitionError(f"{label} must be an object with a name and a path")
            name = column.get("name")
            if not isinstance(name, str) or not _COLUMN_NAME.fullmatch(name):
                raise ViewDefinitionError(
                    f"{label}: name must start with a letter and hold only letters, digits and '_': {name!r}"
                )
            label = f"column {name!r}"
            type_name = column.get("type")
            if type_name is not None and not isinstance(type_name, str):
                raise ViewDefinitionError(f"{label}: type must be a string")
            collection = column.get("collection", False)
            if not isinstance(collection, bool):
                raise ViewDefinitionError(f"{label}: collection must be true or false")
            described = Column(name=name, type=type_name, collection=collection)
            value = self.evaluate(column.get("path"), scope, label)
            sql_name = self.names.new("c")
            general = self.column_sql(value, described, column["path"])
            expressions.append(f"{self.shortcut_sql(column['path'], described, scope, general)} AS {sql_name}")
            outputs.append(_Output(sql_name, described))
        relation = self.step(
            f"SELECT *, {', '.join(expressions)} FROM {relation.name}",
            [*relation.columns, *(output.sql_name for output in outputs)],
        )
        return relation, outputs

    def column_sql(self, value: Value, column: Column, path: str) -> str:
        sql_type = _sql_type(column, f"column {column.name!r}")
        if not column.collection:
            too_many = (
                f"column {column.name!r}: path {path!r} yields more than one value; "
                'a column that can hold several values needs "collection": true'
            )
            return convert(as_single(value, self.names, too_many), sql_type, strict=True)
        if value.kind is Kind.SCALAR:
            scalar = convert(value, sql_type, strict=True)
            return f"CASE WHEN {value.sql} IS NULL THEN CAST([] AS {sql_type}[]) ELSE [{scalar}] END"
        variable = self.names.new("v")
        element = convert(Value(variable, Kind.ITEM), sql_type, strict=True)
        return f"list_transform({as_list(value, self.names)}, lambda {variable}: {element})"

    def shortcut_sql(self, path: str, column: Column, scope: Scope, general: str) -> str:
        """The column read with one JSONPath where the row has the observed shape, else ``general`` (shapes.py)."""
        extraction = scope.extraction
        if column.collection or extraction is None or scope.focus.sql != extraction.item:
            return general
        shape = self.extraction_shapes.get(extraction.column)
        if shape is None:
            return general
        # Inside a forEach the focus is an item, where the resource's type names no step.
        resource_type = scope.resource_type if scope.focus is scope.resource else ""
        node = fhirpath.parse(path)
        found = shortcut(node, resource_type, shape)
        if found is None:
            return general
        sql_type = _sql_type(column, f"column {column.name!r}")
        if found.reference and sql_type != "VARCHAR":
            return general
        # Where the path's first member is absent, so is every value the general translation could reach.
        general = f"CASE WHEN {extraction.value(found.root)} IS NULL THEN NULL ELSE {general} END"
        branches = self.shortcut_branches(found, extraction, sql_type, general)
        second = shortcut(node, resource_type, shape, second=True)
        if second is not None:
            # The first candidate plainly fails the where() when a member it compares is another plain string.
            fails = " OR ".join(
                f"(CAST({extraction.value(path)} AS VARCHAR) ^@ '\"' AND "
                f"NOT contains(CAST({extraction.value(path)} AS VARCHAR), '\\') AND "
                f"CAST({extraction.value(path)} AS VARCHAR) <> {sql_string(text)})"
                for path, text in second.excluded
            )
            branches += self.shortcut_branches(second, extraction, sql_type, general, f"({fails}) AND ")
        return f"CASE {branches}ELSE {general} END"

    def shortcut_branches(
        self, found: Shortcut, extraction: Extraction, sql_type: str, general: str, guard: str = ""
    ) -> str:
        """The WHEN ... THEN branches that read the column through ``found`` on the rows it fits."""
        item = extraction.value(found.path)
        # A where() is guessed to keep the first candidate; json_extract writes compact JSON, so a member that is
        # a given string is exactly its JSON text.
        guessed = guard + "".join(
            f"{extraction.value(path)} IS NOT NULL AND CAST({extraction.value(path)} AS VARCHAR) <> 'null' AND "
            if text is None
            else f"CAST({extraction.value(path)} AS VARCHAR) = {sql_string(text)} AND "
            for path, text in found.checks
        )
        text = f"CAST({item} AS VARCHAR)"
        if found.reference:
            key = reference_key(f"json_extract_string({item}, '$')", found.reference_type, self.names)
            # first() skips references whose key is empty (another type, say): the general path finds the next.
            taken = f"coalesce({key}, {general})" if found.first else key
            plain = plain_reference_key(text, found.reference_type)
            fast = "" if plain is None else f"WHEN {guessed}{plain[0]} THEN {plain[1]} "
            return f"{fast}WHEN {guessed}json_type({item}) = 'VARCHAR' THEN {taken} "
        value = convert(Value(item, Kind.ITEM), sql_type, strict=True)
        # The value's JSON text, compact, starts with '[' only for an array and is 'null' only for null.
        return f"WHEN {guessed}NOT ({text} ^@ '[' OR {text} = 'null') THEN {value} "

    def union_all(
        self, branches: Any, scope: Scope, relation: _Relation, where: str
    ) -> tuple[_Relation, list[_Output]]:
        if not isinstance(branches, list) or not branches:
            raise ViewDefinitionError(f"{where} must be a non-empty list of selects")
        results = [
            self.select(branch, scope, relation, f"{where}[{number}]")
            for number, branch in enumerate(branches, start=1)
        ]
        first_names = [output.column.name for output in results[0][1]]
        for number, (_, outputs) in enumerate(results[1:], start=2):
            names = [output.column.name for output in outputs]
            if names != first_names:
                raise ViewDefinitionError(
                    f"{where}: every branch must have the same columns in the same order; "
                    f"branch 1 has {first_names}, branch {number} has {names}"
                )
        union_names = [self.names.new("u") for _ in first_names]
        carried = ", ".join(relation.columns)
        parts = []
        for branch_relation, outputs in results:
            renamed = ", ".join(
                f"{output.sql_name} AS {union_name}" for output, union_name in zip(outputs, union_names, strict=True)
            )
            parts.append(f"SELECT {carried}, {renamed} FROM {branch_relation.name}")
        union = self.step("\n  UNION ALL ".join(parts), [*relation.columns, *union_names])
        outputs = [
            _Output(union_name, output.column) for union_name, output in zip(union_names, results[0][1], strict=True)
        ]
        return union, outputs


def compile_view(view: Mapping[str, Any], *, source: str = "resources", shape: Shape | None = None) -> CompiledView:
    """Compile a SQL-on-FHIR v2 ViewDefinition into one DuckDB SELECT over `source`.

    Implements the ViewDefinition processing algorithm of SQL-on-FHIR v2 (https://sql-on-fhir.org/ig/latest/,
    "ViewDefinition" and "Processing Algorithm") and the FHIRPath N1 subset it requires ("FHIRPath Functionality"):
    path navigation, where(), exists(), empty(), first(), join(), ofType(), extension(), getResourceKey(),
    getReferenceKey(), constants, boolean logic, comparison and arithmetic, with forEach, forEachOrNull, repeat,
    unionAll, nested selects, %rowIndex, column types and collection columns.

    `source` names a table or view with the columns `resource_type VARCHAR` and `resource JSON`, one row per
    resource. `shape`, the structure the resources were seen to have (shapes.observed_shape), lets plain column
    paths be read with one JSONPath where a row has that shape; it changes the speed of the query, not its result.
    Raises ViewDefinitionError, naming the problem, for a view that is not valid.
    """
    return _ViewCompiler(view, source, shape).compile()
