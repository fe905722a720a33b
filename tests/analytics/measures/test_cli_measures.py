import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from medgov.interfaces.cli.main import app
from tests.fixtures import hospital


def _warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    connection = duckdb.connect(str(path))
    hospital.load(connection)
    connection.close()
    return path


def test_measures_list_names_every_registered_measure() -> None:
    result = CliRunner().invoke(app, ["measures", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "readmission-30-day" in result.output
    assert "hybrid-hospital-wide-mortality" in result.output


def test_measures_show_an_unknown_measure_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["measures", "show", "readmision"])
    assert result.exit_code == 2
    assert "medgov: error: unknown measure 'readmision'" in result.output


def test_measures_run_writes_fhir_and_json(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    runner = CliRunner()
    fhir = runner.invoke(app, ["measures", "run", "--period", "2025", "-m", "in-hospital-mortality", "--format",
                               "fhir", "--warehouse", str(warehouse)])  # fmt: skip
    assert fhir.exit_code == 0, fhir.output
    bundle = json.loads(fhir.output)
    assert [entry["resource"]["resourceType"] for entry in bundle["entry"]] == ["MeasureReport"]
    rows = runner.invoke(app, ["measures", "run", "--period", "2025", "-m", "in-hospital-mortality", "--by", "sex",
                               "--format", "json", "--warehouse", str(warehouse)])  # fmt: skip
    assert [row["stratum"] for row in json.loads(rows.output)] == ["", "female", "male"]


def test_measures_run_with_an_unknown_dimension_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["measures", "run", "--period", "2025", "--by", "ward", "--warehouse",
                                      str(_warehouse(tmp_path))])  # fmt: skip
    assert result.exit_code == 2
    assert "unknown dimension 'ward'" in result.output
