"""The organisation's structure as the warehouse knows it: names of hospitals, departments, units and
practitioners, and who sits under whom, for labelling and drilling through measure results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medgov.analytics.warehouse.connection import connect


@dataclass(frozen=True)
class Structure:
    """``labels[dimension][key]`` is a display name; ``parents[dimension][key]`` the key one level up
    (department -> hospital, unit -> department, practitioner -> department)."""

    labels: dict[str, dict[str, str]]
    parents: dict[str, dict[str, str]]


PAYER_LABELS = {
    "medicare": "Medicare",
    "medicaid": "Medicaid",
    "private": "Private insurance",
    "no-payment": "Self-pay / no payment",
    "other-government": "Other government",
    "blue-cross-blue-shield": "Blue Cross Blue Shield",
    "managed-care-unspecified": "Managed care",
    "corrections": "Corrections",
    "miscellaneous": "Other",
}
# OMB race and ethnicity categories (CDC Race & Ethnicity code system, as US Core uses them).
RACE_LABELS = {
    "1002-5": "American Indian or Alaska Native",
    "2028-9": "Asian",
    "2054-5": "Black or African American",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2106-3": "White",
    "2131-1": "Other race",
}
ETHNICITY_LABELS = {"2135-2": "Hispanic or Latino", "2186-5": "Not Hispanic or Latino"}
SEX_LABELS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}
LANGUAGE_LABELS = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "ar": "Arabic",
    "fr": "French",
    "ko": "Korean",
    "ru": "Russian",
    "tl": "Tagalog",
    "ht": "Haitian Creole",
    "pt": "Portuguese",
}


def _rows(connection: object, sql: str) -> list[tuple[object, ...]]:
    import duckdb

    assert isinstance(connection, duckdb.DuckDBPyConnection)
    return connection.execute(sql).fetchall()


def read_structure(warehouse: Path | str) -> Structure:
    labels: dict[str, dict[str, str]] = {
        "payer": dict(PAYER_LABELS),
        "race": dict(RACE_LABELS),
        "ethnicity": dict(ETHNICITY_LABELS),
        "sex": dict(SEX_LABELS),
        "language": dict(LANGUAGE_LABELS),
    }
    parents: dict[str, dict[str, str]] = {"hospital": {}, "department": {}, "unit": {}, "practitioner": {}}
    path = Path(warehouse)
    if not path.exists():
        return Structure(labels, parents)
    connection = connect(path, read_only=True)
    try:
        hospitals: dict[str, str] = {}
        departments: dict[str, str] = {}
        for identifier, name, type_code, part_of in _rows(
            connection, "SELECT id, name, type_code, part_of_id FROM organization"
        ):
            key, label = str(identifier), str(name or identifier)
            if type_code == "prov":
                hospitals[key] = label
                parents["hospital"][key] = "all"
            elif type_code == "dept":
                departments[key] = label
                if part_of:
                    parents["department"][key] = str(part_of)
        labels["hospital"] = hospitals
        labels["department"] = {
            key: f"{label} ({hospitals.get(parents['department'].get(key, ''), '')})".replace(" ()", "")
            for key, label in departments.items()
        }
        units = {}
        for identifier, name, managing in _rows(connection, "SELECT id, name, managing_organization_id FROM location"):
            units[str(identifier)] = str(name or identifier)
            if managing:
                parents["unit"][str(identifier)] = str(managing)
        labels["unit"] = units
        labels["practitioner"] = {
            str(identifier): str(name or identifier)
            for identifier, name in _rows(connection, "SELECT id, name FROM practitioner")
        }
        for practitioner, organization in _rows(
            connection,
            "SELECT practitioner_id, organization_id FROM practitioner_role WHERE organization_id IS NOT NULL ORDER BY id",
        ):
            parents["practitioner"].setdefault(str(practitioner), str(organization))
        labels["service_line"] = {
            str(code): str(display or code)
            for code, display in _rows(
                connection,
                "SELECT DISTINCT service_line_code, service_line_display FROM encounter WHERE service_line_code IS NOT NULL",
            )
        }
    finally:
        connection.close()
    return Structure(labels, parents)
