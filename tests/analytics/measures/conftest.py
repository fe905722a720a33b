from __future__ import annotations

import duckdb
import ibis
import pytest
from ibis.backends import BaseBackend

from tests.fixtures import hospital


@pytest.fixture(scope="module")
def hospital_rows() -> hospital.Rows:
    return hospital.build()


@pytest.fixture(scope="module")
def hospital_backend(hospital_rows: hospital.Rows) -> BaseBackend:
    connection = duckdb.connect()
    hospital.load(connection, hospital_rows)
    return ibis.duckdb.from_connection(connection)
