"""Scratch tables on the warehouse backend: intermediate results kept for the length of one computation.

Ibis's own ``Table.cache`` cannot be used with DuckDB 2.0 (its clean-up issues a malformed ``DROP TABLE``
and ``list_tables`` calls a removed DuckDB method), so scratch tables are managed here: on DuckDB a
``CREATE TEMP TABLE ... AS`` (materialised, private to the connection), on any other backend a temporary view
(Spark: ``createOrReplaceTempView`` through Ibis ``create_view``). Names are unique per process.
"""

from __future__ import annotations

import itertools

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

_NAMES = itertools.count(1)


def create_scratch_table(backend: BaseBackend, expression: ir.Table, *, label: str) -> tuple[str, ir.Table]:
    """Materialise ``expression`` under a new scratch name; returns the name and the table reading it."""
    name = f"medgov_scratch_{label}_{next(_NAMES)}"
    if backend.name == "duckdb":
        sql = ibis.to_sql(expression, dialect="duckdb")
        backend.raw_sql(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')  # type: ignore[attr-defined]
        return name, backend.table(name)
    return name, backend.create_view(name, expression, overwrite=True)  # type: ignore[attr-defined]


def drop_scratch_tables(backend: BaseBackend, names: list[str]) -> None:
    """Drop the scratch tables ``names`` (missing ones are ignored)."""
    for name in names:
        if backend.name == "duckdb":
            backend.raw_sql(f'DROP TABLE IF EXISTS "{name}"')  # type: ignore[attr-defined]
        else:
            backend.drop_view(name, force=True)  # type: ignore[attr-defined]
