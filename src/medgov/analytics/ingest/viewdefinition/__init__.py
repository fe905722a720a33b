"""SQL-on-FHIR v2 ViewDefinitions compiled to set-based DuckDB SQL over raw FHIR resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from medgov.analytics.ingest.viewdefinition.compiler import Column, CompiledView, compile_view
from medgov.analytics.ingest.viewdefinition.errors import ViewDefinitionError, ViewEvaluationError
from medgov.analytics.ingest.viewdefinition.expressions import ERROR_MARKER
from medgov.analytics.ingest.viewdefinition.shapes import Shape, observed_shape

__all__ = [
    "Column",
    "CompiledView",
    "Shape",
    "ViewDefinitionError",
    "ViewEvaluationError",
    "compile_view",
    "observed_shape",
    "run_view",
]


def run_view(
    connection: duckdb.DuckDBPyConnection,
    view: Mapping[str, Any],
    *,
    source: str = "resources",
    shape: Shape | None = None,
) -> pa.Table:
    """Run a SQL-on-FHIR v2 ViewDefinition over `source` and return its rows (SQL-on-FHIR v2, "Processing Algorithm").

    Raises ViewDefinitionError for an invalid view and ViewEvaluationError (a ViewDefinitionError) when the data
    shows the view to be wrong, e.g. several values in a column that is not `collection: true`.
    """
    compiled = compile_view(view, source=source, shape=shape)
    try:
        return connection.sql(compiled.sql).to_arrow_table()
    except duckdb.Error as error:
        message = str(error)
        if ERROR_MARKER in message:
            raise ViewEvaluationError(message.split(ERROR_MARKER, 1)[1].strip()) from error
        raise
