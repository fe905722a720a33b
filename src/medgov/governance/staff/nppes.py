"""Reading the NPPES downloadable file (CMS National Plan and Provider Enumeration System).

CMS publishes the data as a CSV file with every field quoted plus a separate ``..._fileheader.csv`` naming the
columns. Some identifiers are masked with ``<UNAVAIL>``; those are read as empty. The whole file is checked before
anything is stored, so an error anywhere imports nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from medgov.governance.staff import rules

NPI = "NPI"
ENTITY_TYPE = "Entity Type Code"
LAST_NAME = "Provider Last Name (Legal Name)"
FIRST_NAME = "Provider First Name"
MIDDLE_NAME = "Provider Middle Name"
CREDENTIAL = "Provider Credential Text"
DEACTIVATION_DATE = "NPI Deactivation Date"
REQUIRED_COLUMNS = (NPI, ENTITY_TYPE, LAST_NAME, FIRST_NAME)
TAXONOMY_COLUMNS = 15  # "Healthcare Provider Taxonomy Code_1" .. "_15"
MASKED = {"<UNAVAIL>", "<UNAVAILABLE>"}
INDIVIDUAL = "1"


class NppesFileError(ValueError):
    """The NPPES files cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class NppesPractitioner:
    npi: str
    family_name: str
    given_name: str
    middle_name: str
    credential_text: str
    taxonomy_code: str
    licence_number: str
    licence_state: str
    line: int


def _value(row: dict[str, str], column: str) -> str:
    value = (row.get(column) or "").strip()
    return "" if value.upper() in MASKED else value


def _reader(text: str, name: str) -> Any:
    if "\x00" in text:
        raise NppesFileError(f"{name}: contains NUL bytes; this is not an NPPES CSV file")
    return csv.reader(io.StringIO(text, newline=""), strict=True, doublequote=True)


def parse_nppes(header_text: str, data_text: str, *, header_name: str, data_name: str) -> list[NppesPractitioner]:
    """Individual practitioners (entity type 1) with an active NPI; organisations and deactivated NPIs are skipped."""
    try:
        header_rows = [row for row in _reader(header_text, header_name) if row]
    except csv.Error as error:
        raise NppesFileError(f"{header_name}: not a valid CSV header ({error})") from None
    if len(header_rows) != 1:
        raise NppesFileError(f"{header_name}: expected exactly one header line, found {len(header_rows)}")
    columns = [column.strip() for column in header_rows[0]]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise NppesFileError(f"{header_name}: missing NPPES column(s): {', '.join(repr(c) for c in missing)}")
    if len(set(columns)) != len(columns):
        raise NppesFileError(f"{header_name}: repeated column names")

    practitioners: list[NppesPractitioner] = []
    seen: dict[str, int] = {}
    reader = _reader(data_text, data_name)
    line = 0
    try:
        for values in reader:
            line = reader.line_num
            if not values or values == [""]:
                continue
            if [value.strip() for value in values] == columns:
                continue  # the data file may repeat the header line
            if len(values) != len(columns):
                raise NppesFileError(
                    f"{data_name}, line {line}: {len(values)} fields where the header names {len(columns)}"
                )
            row = dict(zip(columns, values, strict=True))
            if _value(row, ENTITY_TYPE) != INDIVIDUAL or _value(row, DEACTIVATION_DATE):
                continue
            npi = _value(row, NPI)
            problem = rules.npi_error(npi)
            if problem is not None:
                raise NppesFileError(f"{data_name}, line {line}: {problem}")
            if npi in seen:
                raise NppesFileError(f"{data_name}, line {line}: NPI {npi} already appears on line {seen[npi]}")
            seen[npi] = line
            family, given = _value(row, LAST_NAME), _value(row, FIRST_NAME)
            if not family or not given:
                raise NppesFileError(f"{data_name}, line {line}: NPI {npi} has no provider last or first name")
            taxonomy, licence, state = _primary_taxonomy(row)
            practitioners.append(
                NppesPractitioner(
                    npi=npi,
                    family_name=family.title() if family.isupper() else family,
                    given_name=given.title() if given.isupper() else given,
                    middle_name=_value(row, MIDDLE_NAME).title(),
                    credential_text=_value(row, CREDENTIAL).replace(".", ""),
                    taxonomy_code=taxonomy,
                    licence_number=licence,
                    licence_state=state,
                    line=line,
                )
            )
    except csv.Error as error:
        raise NppesFileError(f"{data_name}, line {reader.line_num}: bad CSV quoting ({error})") from None
    return practitioners


def _primary_taxonomy(row: dict[str, str]) -> tuple[str, str, str]:
    """The taxonomy marked primary (switch 'Y'), else the first one, with its licence number and state."""
    first: tuple[str, str, str] | None = None
    for index in range(1, TAXONOMY_COLUMNS + 1):
        code = _value(row, f"Healthcare Provider Taxonomy Code_{index}")
        if not code:
            continue
        entry = (
            code,
            _value(row, f"Provider License Number_{index}"),
            _value(row, f"Provider License Number State Code_{index}"),
        )
        if _value(row, f"Healthcare Provider Primary Taxonomy Switch_{index}").upper() == "Y":
            return entry
        first = first or entry
    return first or ("", "", "")
