"""Errors raised for ViewDefinitions that cannot be compiled or evaluated."""

from __future__ import annotations


class ViewDefinitionError(ValueError):
    """A ViewDefinition is invalid (SQL-on-FHIR v2, "ViewDefinition validation"); the message names the problem."""


class ViewEvaluationError(ViewDefinitionError):
    """A valid-looking ViewDefinition met data it cannot describe, e.g. several values in a non-collection column.

    SQL-on-FHIR v2 makes these errors of the view, not of the data: a column whose path can yield more than one
    value must say `collection: true`, and a `where` path must yield a single boolean.
    """
