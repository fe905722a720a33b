"""Materialise the canonical warehouse tables (docs/warehouse.md) from the landed resources.

Each table starts from its SQL-on-FHIR v2 ViewDefinition (``views/<table>.json``), compiled to SQL and run
set-based in DuckDB over ``raw_resource``. The view's text columns are then cast to the warehouse's types, and
the few columns that need another table or arithmetic are derived in the same statement:

- ``encounter.department_id``: the managing organization of the encounter's unit (``location_id``).
- ``encounter.length_of_stay_days``: calendar days from admission date to discharge date (the midnight-census
  convention, so a same-day stay is 0), NULL while the encounter has no end.
- ``encounter_diagnosis.code_system``/``code``: the referenced Condition's code; ``is_principal``: rank 1.
- ``procedure.performed_*``, ``medication_administration.effective_*``: from the dateTime or the Period
  (an instant event starts and ends at the same time).
- ``observation``: a component row takes the component's code and value and the panel's code as
  ``panel_code``; an observation without components keeps its own.
- ``practitioner.name``: ``name.text``, else given names and family name.

A load rebuilds, whole and in its own transaction, the tables whose resource type it changed, the tables that
join one of those, and any table whose definition (view and columns) differs from the one it was built with; the
others cannot have changed. So the tables never disagree with the raw layer.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import duckdb

from medgov.analytics.ingest.viewdefinition import Shape, compile_view, observed_shape
from medgov.analytics.warehouse.connection import run, scalar

RAW_SOURCE = "raw_resource"

# Which definition each canonical table was last built from (see materialise()).
MATERIALISED_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS materialised_table (name VARCHAR PRIMARY KEY, definition VARCHAR NOT NULL)
"""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    expression: str | None = None
    """SQL over the view's row ``v`` (and any joined table); None casts the view's column of the same name."""


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    joins: str = ""
    joined_tables: tuple[str, ...] = ()
    """The tables ``joins`` reads: this table is rebuilt whenever one of them is."""

    def select_sql(self, view_sql: str) -> str:
        expressions = ",\n    ".join(_expression(column) for column in self.columns)
        return f"SELECT\n    {expressions}\nFROM (\n{view_sql}\n) AS v\n{self.joins}"


def _expression(column: Column) -> str:
    source = column.expression or f"v.{column.name}"
    if column.expression is not None:
        return f"CAST({source} AS {column.type}) AS {column.name}"
    if column.type == "TIMESTAMP":
        return f"fhir_timestamp(CAST({source} AS VARCHAR)) AS {column.name}"
    if column.type == "DATE":
        return f"fhir_date(CAST({source} AS VARCHAR)) AS {column.name}"
    if column.type == "VARCHAR":
        return f"CAST({source} AS VARCHAR) AS {column.name}"
    return f"TRY_CAST({source} AS {column.type}) AS {column.name}"


def _text(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "VARCHAR") for name in names)


# FHIR dateTime and date allow reduced precision (YYYY, YYYY-MM); the warehouse keeps the start of the period
# they name. A value that is not a date at all becomes NULL here and stays intact in raw_resource.
_MACROS = (
    """
    CREATE OR REPLACE TEMP MACRO fhir_timestamp(value) AS
    CASE
        WHEN value IS NULL THEN NULL
        WHEN length(value) = 4 THEN TRY_CAST(value || '-01-01' AS TIMESTAMP)
        WHEN length(value) = 7 THEN TRY_CAST(value || '-01' AS TIMESTAMP)
        WHEN length(value) = 10 THEN TRY_CAST(value AS TIMESTAMP)
        ELSE CAST(TRY_CAST(value AS TIMESTAMPTZ) AS TIMESTAMP)
    END
    """,
    """
    CREATE OR REPLACE TEMP MACRO fhir_date(value) AS
    CASE
        WHEN value IS NULL THEN NULL
        WHEN length(value) = 4 THEN TRY_CAST(value || '-01-01' AS DATE)
        WHEN length(value) = 7 THEN TRY_CAST(value || '-01' AS DATE)
        ELSE TRY_CAST(substr(value, 1, 10) AS DATE)
    END
    """,
)

# In dependency order: a table is built after the tables its derived columns join.
TABLES: tuple[Table, ...] = (
    Table("organization", (*_text("id", "name", "type_code", "part_of_id"),)),
    Table(
        "location",
        _text("id", "name", "type_code", "physical_type_code", "managing_organization_id", "part_of_id"),
    ),
    Table(
        "practitioner",
        (
            *_text("id", "npi", "family", "given"),
            Column("name", "VARCHAR", "coalesce(v.name_text, nullif(concat_ws(' ', v.given, v.family), ''))"),
            Column("gender", "VARCHAR"),
        ),
    ),
    Table(
        "practitioner_role",
        _text(
            "id",
            "practitioner_id",
            "organization_id",
            "location_id",
            "role_code",
            "specialty_system",
            "specialty_code",
            "specialty_display",
        ),
    ),
    Table(
        "patient",
        (
            *_text("id", "mrn"),
            Column("birth_date", "DATE"),
            Column("deceased_datetime", "TIMESTAMP"),
            *_text(
                "sex",
                "race_system",
                "race_code",
                "race_display",
                "ethnicity_system",
                "ethnicity_code",
                "ethnicity_display",
                "language_code",
                "postal_code",
                "managing_organization_id",
            ),
        ),
    ),
    Table(
        "coverage",
        (
            *_text("id", "patient_id", "payor_id", "type_system", "type_code", "type_display"),
            Column("period_start", "TIMESTAMP"),
            Column("period_end", "TIMESTAMP"),
        ),
    ),
    Table(
        "condition",
        (
            *_text(
                "id",
                "patient_id",
                "encounter_id",
                "code_system",
                "code",
                "display",
                "category_code",
                "clinical_status",
                "verification_status",
            ),
            Column("onset_datetime", "TIMESTAMP"),
            Column("abatement_datetime", "TIMESTAMP"),
            Column("recorded_date", "DATE"),
        ),
    ),
    Table(
        "encounter",
        (
            *_text(
                "id",
                "patient_id",
                "status",
                "class_code",
                "type_system",
                "type_code",
                "service_line_code",
                "service_line_display",
                "priority_code",
            ),
            Column("period_start", "TIMESTAMP"),
            Column("period_end", "TIMESTAMP"),
            Column(
                "length_of_stay_days",
                "INTEGER",
                "date_diff('day', CAST(fhir_timestamp(CAST(v.period_start AS VARCHAR)) AS DATE),"
                " CAST(fhir_timestamp(CAST(v.period_end AS VARCHAR)) AS DATE))",
            ),
            *_text(
                "admit_source_code",
                "discharge_disposition_system",
                "discharge_disposition_code",
                "hospital_id",
                "location_id",
                "attending_practitioner_id",
                "part_of_id",
            ),
            Column("department_id", "VARCHAR", "unit.managing_organization_id"),
        ),
        joins="LEFT JOIN location AS unit ON unit.id = CAST(v.location_id AS VARCHAR)",
        joined_tables=("location",),
    ),
    Table(
        "encounter_diagnosis",
        (
            *_text("encounter_id", "condition_id"),
            Column("rank", "INTEGER"),
            Column("use_code", "VARCHAR"),
            Column("code_system", "VARCHAR", "diagnosis.code_system"),
            Column("code", "VARCHAR", "diagnosis.code"),
            Column("is_principal", "BOOLEAN", "coalesce(TRY_CAST(v.rank AS INTEGER) = 1, false)"),
        ),
        joins="LEFT JOIN condition AS diagnosis ON diagnosis.id = CAST(v.condition_id AS VARCHAR)",
        joined_tables=("condition",),
    ),
    Table(
        "procedure",
        (
            *_text("id", "patient_id", "encounter_id", "code_system", "code", "display", "status"),
            Column(
                "performed_start",
                "TIMESTAMP",
                "fhir_timestamp(CAST(coalesce(v.performed_datetime, v.performed_period_start) AS VARCHAR))",
            ),
            Column(
                "performed_end",
                "TIMESTAMP",
                "fhir_timestamp(CAST(coalesce(v.performed_period_end, v.performed_datetime) AS VARCHAR))",
            ),
        ),
    ),
    Table(
        "observation",
        (
            *_text("id", "patient_id", "encounter_id", "status", "category_code"),
            Column("code_system", "VARCHAR", "coalesce(v.component_code_system, v.observation_code_system)"),
            Column("code", "VARCHAR", "coalesce(v.component_code, v.observation_code)"),
            Column("display", "VARCHAR", "coalesce(v.component_display, v.observation_display)"),
            Column(
                "effective_datetime",
                "TIMESTAMP",
                "fhir_timestamp(CAST(coalesce(v.effective_datetime, v.effective_instant, v.effective_period_start)"
                " AS VARCHAR))",
            ),
            Column(
                "value_number",
                "DOUBLE",
                "TRY_CAST(CASE WHEN v.component_code IS NULL THEN v.observation_value_number"
                " ELSE v.component_value_number END AS DOUBLE)",
            ),
            Column(
                "value_unit",
                "VARCHAR",
                "CASE WHEN v.component_code IS NULL THEN v.observation_value_unit ELSE v.component_value_unit END",
            ),
            Column(
                "value_code_system",
                "VARCHAR",
                "CASE WHEN v.component_code IS NULL THEN v.observation_value_code_system"
                " ELSE v.component_value_code_system END",
            ),
            Column(
                "value_code",
                "VARCHAR",
                "CASE WHEN v.component_code IS NULL THEN v.observation_value_code ELSE v.component_value_code END",
            ),
            Column(
                "panel_code",
                "VARCHAR",
                "CASE WHEN v.component_code IS NULL THEN NULL ELSE v.observation_code END",
            ),
        ),
    ),
    Table(
        "medication_request",
        (
            *_text(
                "id",
                "patient_id",
                "encounter_id",
                "status",
                "intent",
                "medication_system",
                "medication_code",
                "medication_display",
            ),
            Column("authored_on", "TIMESTAMP"),
            Column("requester_id", "VARCHAR"),
            # doNotPerform is a modifier that means "false" when absent (FHIR R4 MedicationRequest).
            Column("do_not_perform", "BOOLEAN", "coalesce(TRY_CAST(v.do_not_perform AS BOOLEAN), false)"),
        ),
    ),
    Table(
        "medication_administration",
        (
            *_text(
                "id",
                "patient_id",
                "encounter_id",
                "status",
                "medication_system",
                "medication_code",
                "medication_display",
            ),
            Column(
                "effective_start",
                "TIMESTAMP",
                "fhir_timestamp(CAST(coalesce(v.effective_datetime, v.effective_period_start) AS VARCHAR))",
            ),
            Column(
                "effective_end",
                "TIMESTAMP",
                "fhir_timestamp(CAST(coalesce(v.effective_period_end, v.effective_datetime) AS VARCHAR))",
            ),
        ),
    ),
)

TABLE_NAMES: tuple[str, ...] = tuple(table.name for table in TABLES)


@cache
def load_view(name: str) -> Mapping[str, Any]:
    """The ViewDefinition for canonical table ``name``, as kept in ``warehouse/views/<name>.json``."""
    text = resources.files("medgov.analytics.warehouse").joinpath("views", f"{name}.json").read_text("utf-8")
    view: dict[str, Any] = json.loads(text)
    return view


def table_sql(table: Table, *, source: str = RAW_SOURCE, shape: Shape | None = None) -> str:
    """The SELECT that produces ``table`` from the landed resources in ``source``.

    ``shape``, the structure of the table's resources in ``source``, makes the query faster, not different.
    """
    compiled = compile_view(load_view(table.name), source=source, shape=shape)
    return table.select_sql(compiled.sql)


def definition(table: Table) -> str:
    """A fingerprint of what ``table`` is built from: its ViewDefinition and its columns and joins."""
    text = json.dumps([load_view(table.name), repr(table), _MACROS], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def materialise(
    connection: duckdb.DuckDBPyConnection,
    *,
    source: str = RAW_SOURCE,
    changed_resource_types: Collection[str] | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, int]:
    """Build the canonical tables from ``source``; returns each table's row count.

    With ``changed_resource_types`` (the types a load added or replaced resources of), only the tables that can
    differ are rebuilt: those of a changed type, those joining a rebuilt table, and those missing or built from
    another definition (``materialised_table`` keeps the definition each was built from). Without, every table
    is rebuilt. ``timings``, when given, receives each rebuilt table's seconds.

    Runs in the caller's transaction, if any, so a failure leaves the previous tables in place.
    """
    for macro in _MACROS:
        run(connection, macro)
    run(connection, MATERIALISED_TABLE_DDL)
    built = dict(connection.execute("SELECT name, definition FROM materialised_table").fetchall())
    rebuilt: set[str] = set()
    counts: dict[str, int] = {}
    # Tables of one resource type (encounter, encounter_diagnosis) share its shape: the source does not change here.
    shapes: dict[str, Shape] = {}
    for table in TABLES:
        resource_type = load_view(table.name)["resource"]
        fingerprint = definition(table)
        if (
            changed_resource_types is None
            or resource_type in changed_resource_types
            or rebuilt.intersection(table.joined_tables)
            or built.get(table.name) != fingerprint
        ):
            started = time.perf_counter()
            if resource_type not in shapes:
                shapes[resource_type] = observed_shape(connection, source, resource_type)
            shape = shapes[resource_type]
            run(connection, f"CREATE OR REPLACE TABLE {table.name} AS {table_sql(table, source=source, shape=shape)}")
            run(
                connection,
                "INSERT OR REPLACE INTO materialised_table VALUES (?, ?)",
                [table.name, fingerprint],
            )
            rebuilt.add(table.name)
            if timings is not None:
                timings[table.name] = time.perf_counter() - started
        counts[table.name] = int(scalar(connection, f"SELECT count(*) FROM {table.name}"))
    return counts
