"""Scratch tables on the warehouse backend (intermediate results kept for one computation) and fetching.

Ibis's own ``Table.cache`` cannot be used with DuckDB 2.0 (its clean-up issues a malformed ``DROP TABLE``
and ``list_tables`` calls a removed DuckDB method), so scratch tables are managed here: on DuckDB a
``CREATE TEMP TABLE ... AS`` (materialised, private to the connection), on any other backend a temporary view
(Spark: ``createOrReplaceTempView`` through Ibis ``create_view``). Names are unique per process.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Iterator

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

_NAMES = itertools.count(1)


def create_scratch_table(backend: BaseBackend, expression: ir.Table, *, label: str) -> tuple[str, ir.Table]:
    """Materialise ``expression`` under a new scratch name; returns the name and the table reading it."""
    name = f"medgov_scratch_{label}_{next(_NAMES)}"
    if backend.name == "duckdb":
        sql = ibis.to_sql(expression, dialect="duckdb")
        backend.raw_sql(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')
        return name, backend.table(name)
    return name, backend.create_view(name, expression, overwrite=True)


def drop_scratch_tables(backend: BaseBackend, names: list[str]) -> None:
    """Drop the scratch tables ``names`` (missing ones are ignored)."""
    for name in names:
        if backend.name == "duckdb":
            backend.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
        else:
            # Ibis's drop_view emits a DROP without the name under the installed sqlglot.
            backend.raw_sql(f"DROP VIEW IF EXISTS `{name}`")


def fetch_arrow(backend: BaseBackend, expression: ir.Table) -> pa.Table:
    """Run ``expression`` and return its rows as Arrow.

    On DuckDB 2.0 Ibis's ``to_pyarrow`` calls the deprecated ``fetch_arrow_table``; the compiled SQL is run
    through DuckDB's own ``to_arrow_table`` instead. Other backends use Ibis as is.
    """
    if backend.name == "duckdb":
        sql = ibis.to_sql(expression, dialect="duckdb")
        result: pa.Table = backend.con.sql(sql).to_arrow_table()
        return result
    return expression.to_pyarrow()


@contextlib.contextmanager
def quiet_ibis_duckdb_deprecations() -> Iterator[None]:
    """Silence the deprecations Ibis 12 itself triggers on DuckDB 2.0 (``fetch_arrow_table``, used by
    ``Backend.table`` and ``get_schema``) and on pandas 3 (reading the ``future.infer_string`` option when
    it converts results), which the test settings would turn into errors. Nothing else is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"fetch_arrow_table\(\) is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"The 'future.infer_string' option is deprecated")
        yield
