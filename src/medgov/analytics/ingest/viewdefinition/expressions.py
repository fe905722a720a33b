"""Translate FHIRPath syntax trees into DuckDB SQL expressions over JSON resources.

FHIRPath (N1, section "Collections") evaluates every expression to a collection. In SQL a collection has one of
four shapes, chosen so that the common cases stay cheap:

- ITEM: one JSON value that is never an array, or NULL for the empty collection (the resource itself, a forEach
  item, the variable of a list lambda, the result of first()).
- JSON: a JSON value straight from `json_extract`, where an array stands for its elements and NULL for empty.
  FHIR JSON never nests arrays directly, so the reading is unambiguous.
- LIST: a `JSON[]` list, never NULL (empty is `[]`).
- SCALAR: a typed SQL value (VARCHAR, BOOLEAN, BIGINT, DOUBLE) from a literal, a constant or an operator;
  NULL is empty.

Equality follows FHIRPath N1 "Equality": collections are equal when they have the same items in the same order,
and either side empty yields empty. Values are compared through a tagged text form (`s:` string, `n:` number,
`b:` boolean, `o:` other) so that a JSON number equals an integer constant and never a string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from medgov.analytics.ingest.viewdefinition import fhirpath
from medgov.analytics.ingest.viewdefinition.errors import ViewDefinitionError

# Raised errors carry this prefix so that run_view can tell them from engine failures.
ERROR_MARKER = "[sql-on-fhir] "
EMPTY_LIST = "CAST([] AS JSON[])"
_NUMERIC_JSON_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')"
_NUMERIC_SQL_TYPES = frozenset({"BIGINT", "INTEGER", "DOUBLE"})
_SIMPLE_SQL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\])?|'(?:[^']|'')*'|-?[0-9]+(?:\.[0-9]+)?")
_MEMBER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Well-known FHIRPath environment constants (FHIRPath N1 "Environment variables").
_ENVIRONMENT = {"ucum": "http://unitsofmeasure.org", "sct": "http://snomed.info/sct", "loinc": "http://loinc.org"}


class Kind(Enum):
    ITEM = "item"
    JSON = "json"
    LIST = "list"
    SCALAR = "scalar"


@dataclass(frozen=True)
class Value:
    """A compiled FHIRPath collection: its SQL, its shape and, for SCALAR, its SQL type."""

    sql: str
    kind: Kind
    sql_type: str = "JSON"
    fhir_type: str | None = None  # known only after ofType(); lowBoundary() needs it to tell dateTime from date


@dataclass
class Names:
    """Hands out SQL names that cannot clash with each other or with the source table's columns."""

    counter: int = 0

    def new(self, prefix: str) -> str:
        self.counter += 1
        return f"_{prefix}{self.counter}"


@dataclass
class Extraction:
    """JSON paths read from one item in a single ``json_extract(item, [path, ...])`` call.

    Every ``json_extract`` parses its whole document, so a view that reads twenty members of a resource would
    parse it twenty times (and the shape checks around each read parse it again). Reading them all in one call
    parses the resource once per row; the paths' values are then small JSON fragments in the list ``column``.
    """

    column: str
    item: str
    paths: list[str] = field(default_factory=list)

    def value(self, path: str) -> str:
        """SQL for the JSON value at ``path`` (a JSONPath from the item, e.g. ``$.code``), NULL when absent."""
        if path not in self.paths:
            self.paths.append(path)
        return f"{self.column}[{self.paths.index(path) + 1}]"

    def sql(self, source: str) -> str:
        """The list of the paths' values, read from the JSON column ``source``."""
        if not self.paths:
            return "CAST([] AS JSON[])"
        return f"json_extract({source}, [{', '.join(sql_string(path) for path in self.paths)}])"


@dataclass(frozen=True)
class Scope:
    """What an expression can see: its focus ($this), the resource, %rowIndex and the view's constants."""

    focus: Value
    resource: Value
    resource_type: str
    row_index: str
    constants: Mapping[str, Value]
    names: Names = field(compare=False)
    extraction: Extraction | None = field(default=None, compare=False)

    def with_focus(self, focus: Value) -> Scope:
        return Scope(
            focus, self.resource, self.resource_type, self.row_index, self.constants, self.names, self.extraction
        )


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def raise_sql(message: str) -> str:
    """SQL that fails the query with `message` when (and only when) the row reaches it."""
    return f"error({sql_string(ERROR_MARKER + message)})"


def _json_path(name: str) -> str:
    if _MEMBER_NAME.fullmatch(name):
        return f"'$.{name}'"
    return sql_string('$."' + name.replace('"', '\\"') + '"')


def bind(names: Names, sql: str, build: Callable[[str], str]) -> str:
    """Use `sql` several times in `build` without repeating its text (which would grow exponentially)."""
    if _SIMPLE_SQL.fullmatch(sql):
        return build(sql)
    variable = names.new("b")
    return f"list_transform([{sql}], lambda {variable}: {build(variable)})[1]"


# Shape conversions ----------------------------------------------------------------------------------------------


def as_list(value: Value, names: Names) -> str:
    if value.kind is Kind.LIST:
        return value.sql
    if value.kind is Kind.JSON:
        return bind(
            names,
            value.sql,
            lambda v: (
                f"CASE coalesce(json_type({v}), 'NULL') WHEN 'ARRAY' THEN CAST({v} AS JSON[]) "
                f"WHEN 'NULL' THEN {EMPTY_LIST} ELSE [{v}] END"
            ),
        )
    if value.kind is Kind.ITEM:
        return bind(names, value.sql, lambda v: f"CASE WHEN {v} IS NULL THEN {EMPTY_LIST} ELSE [{v}] END")
    return bind(names, value.sql, lambda v: f"CASE WHEN {v} IS NULL THEN {EMPTY_LIST} ELSE [to_json({v})] END")


def as_single(value: Value, names: Names, too_many: str) -> Value:
    """The collection's only item (ITEM or SCALAR); `too_many` is the error raised when it has several."""
    if value.kind in (Kind.ITEM, Kind.SCALAR):
        return value
    if value.kind is Kind.LIST:
        sql = bind(names, value.sql, lambda v: f"CASE WHEN len({v}) > 1 THEN {raise_sql(too_many)} ELSE {v}[1] END")
        return Value(sql, Kind.ITEM, fhir_type=value.fhir_type)
    sql = bind(
        names,
        value.sql,
        lambda v: (
            f"CASE json_type({v}) WHEN 'ARRAY' THEN (CASE WHEN json_array_length({v}) > 1 THEN {raise_sql(too_many)} "
            f"ELSE json_extract({v}, '$[0]') END) WHEN 'NULL' THEN NULL ELSE {v} END"
        ),
    )
    return Value(sql, Kind.ITEM, fhir_type=value.fhir_type)


def first_item(value: Value, names: Names) -> Value:
    if value.kind in (Kind.ITEM, Kind.SCALAR):
        return value
    if value.kind is Kind.LIST:
        return Value(f"({value.sql})[1]", Kind.ITEM)
    sql = bind(
        names,
        value.sql,
        lambda v: f"CASE json_type({v}) WHEN 'ARRAY' THEN json_extract({v}, '$[0]') WHEN 'NULL' THEN NULL ELSE {v} END",
    )
    return Value(sql, Kind.ITEM)


def convert(single: Value, sql_type: str, *, strict: bool) -> str:
    """A single value (ITEM or SCALAR) as SQL of `sql_type`; lenient conversion yields NULL for a mismatch."""
    cast = "CAST" if strict else "TRY_CAST"
    if single.kind is Kind.SCALAR:
        if single.sql_type == sql_type:
            return single.sql
        if sql_type == "JSON":
            return f"to_json({single.sql})"
        return f"{cast}({single.sql} AS {sql_type})"
    if sql_type == "JSON":
        return single.sql
    if sql_type == "VARCHAR":
        return f"json_extract_string({single.sql}, '$')"
    return f"{cast}({single.sql} AS {sql_type})"


def _tagged(single: Value, names: Names, *, fold_case: bool = False) -> str:
    """The tagged text form used for equality (see the module docstring)."""
    text = "lower({})" if fold_case else "{}"
    if single.kind is Kind.SCALAR:
        if single.sql_type == "VARCHAR":
            return "('s:' || " + text.format(single.sql) + ")"
        if single.sql_type == "BOOLEAN":
            return f"('b:' || CAST({single.sql} AS VARCHAR))"
        if single.sql_type in _NUMERIC_SQL_TYPES:
            return f"('n:' || CAST(CAST({single.sql} AS DOUBLE) AS VARCHAR))"
        single = Value(single.sql, Kind.ITEM)
    return bind(
        names,
        single.sql,
        lambda v: (
            f"CASE json_type({v}) WHEN 'VARCHAR' THEN 's:' || "
            + text.format(f"json_extract_string({v}, '$')")
            + f" WHEN 'BOOLEAN' THEN 'b:' || json_extract_string({v}, '$') "
            f"WHEN 'BIGINT' THEN 'n:' || CAST(CAST({v} AS DOUBLE) AS VARCHAR) "
            f"WHEN 'UBIGINT' THEN 'n:' || CAST(CAST({v} AS DOUBLE) AS VARCHAR) "
            f"WHEN 'DOUBLE' THEN 'n:' || CAST(CAST({v} AS DOUBLE) AS VARCHAR) "
            f"ELSE 'o:' || CAST({v} AS VARCHAR) END"
        ),
    )


def _equals_scalar(item: str, scalar: Value, names: Names) -> str:
    """FHIRPath `=` between one JSON item and one typed SQL value: equal only if the JSON has the matching type."""
    json_types = {"VARCHAR": "('VARCHAR')", "BOOLEAN": "('BOOLEAN')"}.get(scalar.sql_type, _NUMERIC_JSON_TYPES)
    sql_type = "DOUBLE" if scalar.sql_type in _NUMERIC_SQL_TYPES else scalar.sql_type
    value = convert(Value(item, Kind.ITEM), sql_type, strict=False)
    return f"(json_type({item}) IN {json_types} AND {value} = {convert(scalar, sql_type, strict=False)})"


def _tagged_list(value: Value, names: Names, *, fold_case: bool = False) -> str:
    if value.kind is Kind.SCALAR:
        return bind(
            names,
            value.sql,
            lambda v: (
                f"CASE WHEN {v} IS NULL THEN CAST([] AS VARCHAR[]) "
                f"ELSE [{_tagged(Value(v, Kind.SCALAR, value.sql_type), names, fold_case=fold_case)}] END"
            ),
        )
    variable = names.new("v")
    element = _tagged(Value(variable, Kind.ITEM), names, fold_case=fold_case)
    return f"list_transform({as_list(value, names)}, lambda {variable}: {element})"


def to_boolean(value: Value, names: Names, *, required: str | None = None) -> str:
    """FHIRPath N1 "Singleton evaluation of collections" for a boolean context.

    With `required` set (a ViewDefinition `where`), anything but a single boolean fails with that message.
    """
    if value.kind is Kind.SCALAR:
        if value.sql_type == "BOOLEAN":
            return value.sql
        if required is not None:
            raise ViewDefinitionError(required)
        return f"(CASE WHEN {value.sql} IS NOT NULL THEN true END)"
    single = as_single(value, names, required or "a boolean expression yields more than one value")
    otherwise = raise_sql(required) if required is not None else "true"
    return bind(
        names,
        single.sql,
        lambda v: (
            f"CASE WHEN {v} IS NULL THEN NULL WHEN json_type({v}) = 'BOOLEAN' THEN CAST({v} AS BOOLEAN) "
            f"ELSE {otherwise} END"
        ),
    )


def exists(value: Value, names: Names) -> str:
    if value.kind is Kind.LIST:
        return f"(len({value.sql}) > 0)"
    if value.kind is Kind.JSON:
        return bind(
            names,
            value.sql,
            lambda v: (
                f"CASE coalesce(json_type({v}), 'NULL') WHEN 'NULL' THEN false "
                f"WHEN 'ARRAY' THEN json_array_length({v}) > 0 ELSE true END"
            ),
        )
    return f"({value.sql} IS NOT NULL)"


def _capitalised(type_name: str) -> str:
    return type_name[:1].upper() + type_name[1:]


def _type_name(node: fhirpath.Node, function: str) -> str:
    if isinstance(node, fhirpath.Identifier):
        return node.name
    if isinstance(node, fhirpath.Member):
        return node.name  # a qualified name such as FHIR.Quantity or System.String
    if isinstance(node, fhirpath.Literal) and node.kind == "string" and isinstance(node.value, str):
        return node.value
    raise ViewDefinitionError(f"{function}() takes a type name, e.g. {function}(Patient)")


# Reference keys: SQL-on-FHIR v2 getResourceKey()/getReferenceKey(); keys are resource ids, so a literal relative or
# absolute reference "Type/id" (optionally with "/_history/n") yields "id". Bundle-internal "urn:uuid:" references
# carry no type; they yield the uuid whatever type is asked for, because Bundles use the uuid as the resource id.
_REFERENCE_PATTERN = r"'(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]{1,64})(?:/_history/[^/]+)?$'"


def plain_reference_key(text: str, type_name: str | None) -> tuple[str, str] | None:
    """For the JSON text ``text`` of a reference string: a test that it is a plain ``"Type/id"`` (of ``type_name``
    when given) and, where it is, its key; None when reference_key() could never find one of that type.

    Such a reference has nothing to unescape and the id is the text after the slash, so it needs neither
    json_extract_string nor the capturing match of reference_key(), which gives the same key. Other references
    (absolute, versioned, urn:uuid:, another type) fail the test and go to reference_key().
    """
    if type_name is None:
        pattern, prefix = r'"[A-Z][A-Za-z]+/[A-Za-z0-9\-\.]{1,64}"', None
    elif re.fullmatch(r"[A-Z][A-Za-z]+", type_name):
        pattern, prefix = f'"{type_name}/' + r'[A-Za-z0-9\-\.]{1,64}"', f'"{type_name}/'
    else:
        return None
    key = f"split_part({text}, '/', 2)[1:-2]" if prefix is None else f"{text}[{len(prefix) + 1}:-2]"
    return f"regexp_full_match({text}, {sql_string(pattern)})", key


def reference_key(reference: str, type_name: str | None, names: Names) -> str:
    def build(r: str) -> str:
        if type_name is None:
            key = f"nullif(regexp_extract({r}, {_REFERENCE_PATTERN}, 2), '')"
        else:
            # One match gives both groups; matching twice (type, then id) was most of a reference column's cost.
            parts = names.new("b")
            key = (
                f"list_transform([regexp_extract({r}, {_REFERENCE_PATTERN}, ['type', 'id'])], lambda {parts}: "
                f"CASE WHEN {parts}.type = {sql_string(type_name)} THEN nullif({parts}.id, '') END)[1]"
            )
        return f"CASE WHEN starts_with({r}, 'urn:uuid:') THEN substr({r}, 10) ELSE {key} END"

    return bind(names, reference, build)


# lowBoundary()/highBoundary() (FHIRPath N1 draft, "lowBoundary", "highBoundary"): the least and greatest value a
# partial date, dateTime, time or decimal can stand for. Missing date parts become the first or last month/day,
# missing time parts 00 or 59 and .000 or .999, a missing time zone +14:00 (low) or -12:00 (high), and a
# decimal widens by half a unit of its last digit.
_DATETIME_PATTERN = (
    r"'^([0-9]{4})(?:-([0-9]{2}))?(?:-([0-9]{2}))?(?:T([0-9]{2})(?::([0-9]{2}))?(?::([0-9]{2}))?(\.[0-9]+)?)?"
    r"(Z|[+\-][0-9]{2}:[0-9]{2})?$'"
)
_TIME_PATTERN = r"'^([0-9]{2})(?::([0-9]{2}))?(?::([0-9]{2}))?(\.[0-9]+)?$'"


def _boundary(single: Value, low: bool, names: Names) -> str:
    def part(text: str, pattern: str, group: int, default: str) -> str:
        return f"coalesce(nullif(regexp_extract({text}, {pattern}, {group}), ''), {default})"

    def date(text: str) -> str:
        year = part(text, _DATETIME_PATTERN, 1, "NULL")
        month = part(text, _DATETIME_PATTERN, 2, "'01'" if low else "'12'")
        first_of_month = f"CAST({year} || '-' || {month} || '-01' AS DATE)"
        last_day = f"strftime(last_day({first_of_month}), '%d')"
        day = part(text, _DATETIME_PATTERN, 3, "'01'" if low else last_day)
        return f"{year} || '-' || {month} || '-' || {day}"

    def clock(text: str, pattern: str, first_group: int) -> str:
        limit = "'00'" if low else "'59'"
        hour = part(text, pattern, first_group, "'00'" if low else "'23'")
        minute = part(text, pattern, first_group + 1, limit)
        second = part(text, pattern, first_group + 2, limit)
        fraction = part(text, pattern, first_group + 3, "'.000'" if low else "'.999'")
        return f"{hour} || ':' || {minute} || ':' || {second} || {fraction}"

    def build(text: str) -> str:
        zone = part(text, _DATETIME_PATTERN, 8, "'+14:00'" if low else "'-12:00'")
        date_time = f"{date(text)} || 'T' || {clock(text, _DATETIME_PATTERN, 4)} || {zone}"
        date_only = "false" if single.fhir_type in ("dateTime", "instant") else "true"
        return (
            f"CASE WHEN regexp_full_match({text}, {_TIME_PATTERN}) THEN {clock(text, _TIME_PATTERN, 1)} "
            f"WHEN {date_only} AND regexp_full_match({text}, '[0-9]{{4}}(-[0-9]{{2}}){{0,2}}') THEN {date(text)} "
            f"WHEN regexp_full_match({text}, {_DATETIME_PATTERN}) THEN {date_time} END"
        )

    def decimal(number: str) -> str:
        digits = f"coalesce(length(regexp_extract(CAST({number} AS VARCHAR), '\\.([0-9]+)', 1)), 0)"
        sign = "-" if low else "+"
        widened = f"round(CAST({number} AS DOUBLE) {sign} 0.5 * pow(10, -{digits}), CAST({digits} + 1 AS INTEGER))"
        return f"CAST({widened} AS VARCHAR)"

    if single.kind is Kind.SCALAR:
        if single.sql_type in _NUMERIC_SQL_TYPES:
            return bind(names, single.sql, decimal)
        return bind(names, convert(single, "VARCHAR", strict=False), build)

    def dispatch(v: str) -> str:
        text = bind(names, f"json_extract_string({v}, '$')", build)
        return f"CASE WHEN json_type({v}) IN {_NUMERIC_JSON_TYPES} THEN {decimal(v)} WHEN json_type({v}) = 'VARCHAR' THEN {text} END"

    return bind(names, single.sql, dispatch)


class Compiler:
    """Compiles one FHIRPath expression in a scope; see the module docstring for the SQL shapes it produces."""

    def __init__(self, expression: str) -> None:
        self.expression = expression

    def error(self, message: str) -> ViewDefinitionError:
        return ViewDefinitionError(f"FHIRPath {self.expression!r}: {message}")

    def compile(self, node: fhirpath.Node, scope: Scope) -> Value:
        names = scope.names
        match node:
            case fhirpath.Literal():
                return self.literal(node)
            case fhirpath.Identifier(name=name):
                if name == scope.resource_type and scope.focus is scope.resource:
                    return scope.focus
                return self.navigate(scope.focus, name, names, scope.extraction)
            case fhirpath.Member(target=target, name=name):
                return self.navigate(self.compile(target, scope), name, names, scope.extraction)
            case fhirpath.Constant(name=name):
                return self.constant(name, scope)
            case fhirpath.Special(name=name):
                if name == "$this":
                    return scope.focus
                raise self.error(f"{name} is not supported")
            case fhirpath.Index(target=target, index=index):
                return self.index(self.compile(target, scope), self.compile(index, scope), names)
            case fhirpath.Unary(operator=operator, operand=operand):
                number = self.number(self.compile(operand, scope), names)
                return number if operator == "+" else Value(f"(-{number.sql})", Kind.SCALAR, number.sql_type)
            case fhirpath.Binary():
                return self.binary(node, scope)
            case fhirpath.Call():
                return self.call(node, scope)
        raise self.error(f"unsupported expression {node!r}")  # pragma: no cover - the match is exhaustive

    def literal(self, node: fhirpath.Literal) -> Value:
        if node.kind == "empty":
            return Value(EMPTY_LIST, Kind.LIST)
        if node.kind == "boolean":
            return Value("true" if node.value else "false", Kind.SCALAR, "BOOLEAN")
        if node.kind == "integer":
            return Value(f"CAST({node.value} AS BIGINT)", Kind.SCALAR, "BIGINT")
        if node.kind == "decimal":
            return Value(f"CAST({node.value} AS DOUBLE)", Kind.SCALAR, "DOUBLE")
        return Value(sql_string(str(node.value)), Kind.SCALAR, "VARCHAR")

    def constant(self, name: str, scope: Scope) -> Value:
        if name in scope.constants:
            return scope.constants[name]
        if name == "rowIndex":
            return Value(scope.row_index, Kind.SCALAR, "BIGINT")
        if name in ("resource", "rootResource", "context"):
            return scope.resource
        if name in _ENVIRONMENT:
            return Value(sql_string(_ENVIRONMENT[name]), Kind.SCALAR, "VARCHAR")
        raise self.error(f"constant %{name} is not defined in the view's 'constant' list")

    def navigate(self, value: Value, name: str, names: Names, extraction: Extraction | None = None) -> Value:
        path = _json_path(name)
        if extraction is not None and value.sql == extraction.item and _MEMBER_NAME.fullmatch(name):
            return Value(extraction.value(f"$.{name}"), Kind.JSON)
        if value.kind is Kind.ITEM:
            return Value(f"json_extract({value.sql}, {path})", Kind.JSON)
        if value.kind is Kind.SCALAR:
            return Value(EMPTY_LIST, Kind.LIST)  # primitives have no children
        variable = names.new("v")
        child = as_list(Value(f"json_extract({variable}, {path})", Kind.JSON), names)
        return Value(f"flatten(list_transform({as_list(value, names)}, lambda {variable}: {child}))", Kind.LIST)

    def index(self, value: Value, index: Value, names: Names) -> Value:
        position = convert(as_single(index, names, "an index yields more than one value"), "BIGINT", strict=False)
        if value.kind in (Kind.ITEM, Kind.SCALAR):
            return Value(f"(CASE WHEN {position} = 0 THEN {value.sql} END)", value.kind, value.sql_type)
        return Value(f"list_extract({as_list(value, names)}, ({position}) + 1)", Kind.ITEM)

    def number(self, value: Value, names: Names) -> Value:
        single = as_single(value, names, "an arithmetic operand yields more than one value")
        if single.kind is Kind.SCALAR and single.sql_type in _NUMERIC_SQL_TYPES:
            return single
        return Value(convert(single, "DOUBLE", strict=False), Kind.SCALAR, "DOUBLE")

    def text(self, value: Value, names: Names, role: str) -> Value:
        single = as_single(value, names, f"{role} yields more than one value")
        return Value(convert(single, "VARCHAR", strict=False), Kind.SCALAR, "VARCHAR")

    def boolean(self, value: Value, names: Names) -> Value:
        return Value(to_boolean(value, names), Kind.SCALAR, "BOOLEAN")

    def binary(self, node: fhirpath.Binary, scope: Scope) -> Value:
        names = scope.names
        operator = node.operator
        left = self.compile(node.left, scope)
        right = self.compile(node.right, scope)
        if operator in ("and", "or", "xor", "implies"):
            a, b = to_boolean(left, names), to_boolean(right, names)
            sql = {
                "and": f"({a} AND {b})",
                "or": f"({a} OR {b})",
                "xor": f"({a} <> {b})",
                "implies": f"((NOT {a}) OR {b})",
            }[operator]
            return Value(sql, Kind.SCALAR, "BOOLEAN")
        if operator in ("=", "!=", "~", "!~"):
            return self.equality(operator, left, right, names)
        if operator in ("<", ">", "<=", ">="):
            return self.ordering(operator, left, right, names)
        if operator == "|":
            sql = f"list_distinct(list_concat({as_list(left, names)}, {as_list(right, names)}))"
            return Value(sql, Kind.LIST)
        if operator in ("in", "contains"):
            item, collection = (left, right) if operator == "in" else (right, left)
            single = as_single(item, names, f"the operand of '{operator}' yields more than one value")
            sql = f"list_contains({_tagged_list(collection, names)}, {_tagged(single, names)})"
            return Value(sql, Kind.SCALAR, "BOOLEAN")
        if operator == "&":
            left_text = self.text(left, names, "an operand of '&'").sql
            right_text = self.text(right, names, "an operand of '&'").sql
            return Value(f"(coalesce({left_text}, '') || coalesce({right_text}, ''))", Kind.SCALAR, "VARCHAR")
        if operator == "+" and "VARCHAR" in (left.sql_type, right.sql_type):
            left_text = self.text(left, names, "an operand of '+'").sql
            right_text = self.text(right, names, "an operand of '+'").sql
            return Value(f"({left_text} || {right_text})", Kind.SCALAR, "VARCHAR")
        a_number, b_number = self.number(left, names), self.number(right, names)
        integral = a_number.sql_type == b_number.sql_type == "BIGINT"
        if operator == "/":
            return Value(f"(CAST({a_number.sql} AS DOUBLE) / {b_number.sql})", Kind.SCALAR, "DOUBLE")
        if operator == "div":
            sql = f"CAST(trunc(CAST({a_number.sql} AS DOUBLE) / {b_number.sql}) AS BIGINT)"
            return Value(sql, Kind.SCALAR, "BIGINT")
        symbol = {"+": "+", "-": "-", "*": "*", "mod": "%"}[operator]
        return Value(f"({a_number.sql} {symbol} {b_number.sql})", Kind.SCALAR, "BIGINT" if integral else "DOUBLE")

    def equality(self, operator: str, left: Value, right: Value, names: Names) -> Value:
        negate = operator.startswith("!")
        if operator in ("~", "!~"):
            # FHIRPath N1 "Equivalence": order-insensitive, case-insensitive, and empty ~ empty is true.
            a = f"list_sort({_tagged_list(left, names, fold_case=True)})"
            b = f"list_sort({_tagged_list(right, names, fold_case=True)})"
            sql = f"({a} = {b})"
        elif left.kind in (Kind.ITEM, Kind.SCALAR) and right.kind in (Kind.ITEM, Kind.SCALAR):
            if left.kind is right.kind is Kind.SCALAR and left.sql_type == right.sql_type:
                sql = f"({left.sql} = {right.sql})"
            elif Kind.SCALAR in (left.kind, right.kind) and "JSON" not in (left.sql_type, right.sql_type):
                item, scalar = (left, right) if right.kind is Kind.SCALAR else (right, left)
                sql = _equals_scalar(item.sql, scalar, names)
            else:
                sql = f"({_tagged(left, names)} = {_tagged(right, names)})"
        elif Kind.SCALAR in (left.kind, right.kind) and Kind.JSON in (left.kind, right.kind):
            # The common `element = constant`: only a repeating element needs the collection comparison.
            element, scalar = (left, right) if right.kind is Kind.SCALAR else (right, left)

            def compare(t: str) -> str:
                collection = self.equality("=", Value(f"CAST({t} AS JSON[])", Kind.LIST), scalar, names).sql
                return (
                    f"CASE WHEN json_type({t}) = 'ARRAY' THEN {collection} ELSE {_equals_scalar(t, scalar, names)} END"
                )

            sql = bind(names, element.sql, compare)
        else:
            a_list, b_list = _tagged_list(left, names), _tagged_list(right, names)
            sql = bind(
                names,
                a_list,
                lambda a: bind(
                    names, b_list, lambda b: f"CASE WHEN len({a}) = 0 OR len({b}) = 0 THEN NULL ELSE {a} = {b} END"
                ),
            )
        return Value(f"(NOT {sql})" if negate else sql, Kind.SCALAR, "BOOLEAN")

    def ordering(self, operator: str, left: Value, right: Value, names: Names) -> Value:
        too_many = f"an operand of '{operator}' yields more than one value"
        a, b = as_single(left, names, too_many), as_single(right, names, too_many)
        if a.kind is Kind.SCALAR or b.kind is Kind.SCALAR:
            sql_type = a.sql_type if a.kind is Kind.SCALAR else b.sql_type
            if a.kind is b.kind is Kind.SCALAR and a.sql_type != b.sql_type:
                both_numeric = {a.sql_type, b.sql_type} <= _NUMERIC_SQL_TYPES
                sql_type = "DOUBLE" if both_numeric else "VARCHAR"
            sql = f"({convert(a, sql_type, strict=False)} {operator} {convert(b, sql_type, strict=False)})"
            return Value(sql, Kind.SCALAR, "BOOLEAN")
        sql = bind(
            names,
            a.sql,
            lambda x: bind(
                names,
                b.sql,
                lambda y: (
                    f"CASE WHEN json_type({x}) IN {_NUMERIC_JSON_TYPES} AND json_type({y}) IN {_NUMERIC_JSON_TYPES} "
                    f"THEN CAST({x} AS DOUBLE) {operator} CAST({y} AS DOUBLE) "
                    f"ELSE json_extract_string({x}, '$') {operator} json_extract_string({y}, '$') END"
                ),
            ),
        )
        return Value(sql, Kind.SCALAR, "BOOLEAN")

    def call(self, node: fhirpath.Call, scope: Scope) -> Value:
        names = scope.names
        name, arguments = node.name, node.arguments

        def arity(minimum: int, maximum: int) -> None:
            if not minimum <= len(arguments) <= maximum:
                expected = str(minimum) if minimum == maximum else f"{minimum} to {maximum}"
                raise self.error(f"{name}() takes {expected} argument(s), got {len(arguments)}")

        if name in ("ofType", "is"):
            arity(1, 1)
            value = self.of_type(node.target, _type_name(arguments[0], name), scope)
            return Value(exists(value, names), Kind.SCALAR, "BOOLEAN") if name == "is" else value
        focus = scope.focus if node.target is None else self.compile(node.target, scope)
        if name in ("exists", "empty"):
            arity(0, 1)
            if arguments:
                focus = self.where(focus, arguments[0], scope)
            sql = exists(focus, names)
            return Value(sql if name == "exists" else f"(NOT {sql})", Kind.SCALAR, "BOOLEAN")
        if name == "where":
            arity(1, 1)
            return self.where(focus, arguments[0], scope)
        if name == "select":
            arity(1, 1)
            return self.select(focus, arguments[0], scope)
        if name == "not":
            arity(0, 0)
            return Value(f"(NOT {to_boolean(focus, names)})", Kind.SCALAR, "BOOLEAN")
        if name == "first":
            arity(0, 0)
            return first_item(focus, names)
        if name == "last":
            arity(0, 0)
            if focus.kind in (Kind.ITEM, Kind.SCALAR):
                return focus
            return Value(f"({as_list(focus, names)})[-1]", Kind.ITEM)
        if name == "single":
            arity(0, 0)
            return as_single(focus, names, "single() applies to a collection with more than one item")
        if name == "count":
            arity(0, 0)
            return Value(f"len({as_list(focus, names)})", Kind.SCALAR, "BIGINT")
        if name == "distinct":
            arity(0, 0)
            return Value(f"list_distinct({as_list(focus, names)})", Kind.LIST)
        if name in ("skip", "take"):
            arity(1, 1)
            count = convert(self.number(self.compile(arguments[0], scope), names), "BIGINT", strict=False)
            bounds = f"({count}) + 1, len({{0}})" if name == "skip" else f"1, {count}"
            return Value(
                bind(names, as_list(focus, names), lambda v: f"list_slice({v}, {bounds.format(v)})"), Kind.LIST
            )
        if name == "join":
            arity(0, 1)
            separator = "''"
            if arguments:
                separator = self.text(self.compile(arguments[0], scope), names, "the separator of join()").sql
            variable = names.new("v")
            strings = (
                f"list_transform({as_list(focus, names)}, lambda {variable}: json_extract_string({variable}, '$'))"
            )
            return Value(f"array_to_string({strings}, {separator})", Kind.SCALAR, "VARCHAR")
        if name == "extension":
            arity(1, 1)
            url = self.text(self.compile(arguments[0], scope), names, "the url of extension()").sql
            variable = names.new("v")
            extensions = as_list(self.navigate(focus, "extension", names, scope.extraction), names)
            sql = f"list_filter({extensions}, lambda {variable}: json_extract_string({variable}, '$.url') = {url})"
            return Value(sql, Kind.LIST)
        if name == "getResourceKey":
            arity(0, 0)
            single = as_single(focus, names, "getResourceKey() applies to more than one resource")
            return Value(f"json_extract_string({single.sql}, '$.id')", Kind.SCALAR, "VARCHAR")
        if name == "getReferenceKey":
            arity(0, 1)
            type_name = _type_name(arguments[0], name) if arguments else None
            if focus.kind is Kind.ITEM:
                reference = f"json_extract_string({focus.sql}, '$.reference')"
                return Value(reference_key(reference, type_name, names), Kind.SCALAR, "VARCHAR")
            variable = names.new("v")
            key = reference_key(f"json_extract_string({variable}, '$.reference')", type_name, names)
            keys = f"list_transform({as_list(focus, names)}, lambda {variable}: to_json({key}))"
            kept = names.new("v")
            return Value(f"list_filter({keys}, lambda {kept}: {kept} IS NOT NULL)", Kind.LIST)
        if name in ("lowBoundary", "highBoundary"):
            arity(0, 0)
            single = as_single(focus, names, f"the input of {name}() yields more than one value")
            return Value(_boundary(single, name == "lowBoundary", names), Kind.SCALAR, "VARCHAR")
        if name == "hasValue":
            arity(0, 0)
            return Value(exists(focus, names), Kind.SCALAR, "BOOLEAN")
        if name in ("startsWith", "endsWith", "contains", "matches"):
            arity(1, 1)
            subject = self.text(focus, names, f"the input of {name}()").sql
            argument = self.text(self.compile(arguments[0], scope), names, f"the argument of {name}()").sql
            function = {
                "startsWith": "starts_with",
                "endsWith": "ends_with",
                "contains": "contains",
                "matches": "regexp_full_match",
            }[name]
            return Value(f"{function}({subject}, {argument})", Kind.SCALAR, "BOOLEAN")
        if name in ("upper", "lower", "length", "toString"):
            arity(0, 0)
            subject = self.text(focus, names, f"the input of {name}()").sql
            if name == "length":
                return Value(f"length({subject})", Kind.SCALAR, "BIGINT")
            sql = subject if name == "toString" else f"{name}({subject})"
            return Value(sql, Kind.SCALAR, "VARCHAR")
        if name in ("toInteger", "toDecimal"):
            arity(0, 0)
            sql_type = "BIGINT" if name == "toInteger" else "DOUBLE"
            single = as_single(focus, names, f"the input of {name}() yields more than one value")
            if single.kind is Kind.ITEM:
                single = Value(f"json_extract_string({single.sql}, '$')", Kind.SCALAR, "VARCHAR")
            return Value(convert(single, sql_type, strict=False), Kind.SCALAR, sql_type)
        raise self.error(f"function {name}() is not supported")

    def where(self, focus: Value, criteria: fhirpath.Node, scope: Scope) -> Value:
        names = scope.names

        def keep(item: Value) -> str:
            return f"coalesce({to_boolean(self.compile(criteria, scope.with_focus(item)), names)}, false)"

        if focus.kind in (Kind.ITEM, Kind.SCALAR):
            sql = bind(
                names,
                focus.sql,
                lambda v: f"CASE WHEN {keep(Value(v, focus.kind, focus.sql_type))} THEN {v} END",
            )
            return Value(sql, focus.kind, focus.sql_type)
        variable = names.new("v")
        sql = f"list_filter({as_list(focus, names)}, lambda {variable}: {keep(Value(variable, Kind.ITEM))})"
        return Value(sql, Kind.LIST)

    def select(self, focus: Value, projection: fhirpath.Node, scope: Scope) -> Value:
        names = scope.names
        if focus.kind is Kind.ITEM:
            variable = names.new("v")
            inner = as_list(self.compile(projection, scope.with_focus(Value(variable, Kind.ITEM))), names)
            return Value(f"flatten(list_transform({as_list(focus, names)}, lambda {variable}: {inner}))", Kind.LIST)
        if focus.kind is Kind.SCALAR:
            return self.compile(projection, scope.with_focus(focus))
        variable = names.new("v")
        inner = as_list(self.compile(projection, scope.with_focus(Value(variable, Kind.ITEM))), names)
        return Value(f"flatten(list_transform({as_list(focus, names)}, lambda {variable}: {inner}))", Kind.LIST)

    def of_type(self, target: fhirpath.Node | None, type_name: str, scope: Scope) -> Value:
        names = scope.names
        # FHIR choice elements (value[x]) are stored as valueQuantity, valueString, ...: ofType picks the key.
        if isinstance(target, fhirpath.Identifier | fhirpath.Member):
            parent = scope.focus if isinstance(target, fhirpath.Identifier) else self.compile(target.target, scope)
            chosen = self.navigate(parent, target.name + _capitalised(type_name), names, scope.extraction)
            return Value(chosen.sql, chosen.kind, chosen.sql_type, type_name)
        focus = scope.focus if target is None else self.compile(target, scope)
        if focus.kind is Kind.SCALAR:
            matches = {
                "VARCHAR": {"string", "code", "id", "uri", "url", "date", "dateTime", "time", "String"},
                "BOOLEAN": {"boolean", "Boolean"},
                "BIGINT": {"integer", "Integer"},
                "DOUBLE": {"decimal", "Decimal"},
            }.get(focus.sql_type, set())
            return focus if type_name in matches else Value(f"CAST(NULL AS {focus.sql_type})", Kind.SCALAR)
        json_types = {
            "boolean": "('BOOLEAN')",
            "integer": "('BIGINT', 'UBIGINT')",
            "decimal": "('BIGINT', 'UBIGINT', 'DOUBLE')",
        }.get(type_name, "('VARCHAR')" if type_name[:1].islower() else "('OBJECT')")
        variable = names.new("v")
        condition = f"json_type({variable}) IN {json_types}"
        if type_name[:1].isupper():
            resource_type = f"json_extract_string({variable}, '$.resourceType')"
            condition += f" AND coalesce({resource_type} = {sql_string(type_name)}, true)"
        return Value(f"list_filter({as_list(focus, names)}, lambda {variable}: {condition})", Kind.LIST)
