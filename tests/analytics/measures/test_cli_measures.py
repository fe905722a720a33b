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


def test_measures_run_reports_each_model_in_sample_and_held_out(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["measures", "run", "--period", "2025", "-m", "in-hospital-mortality",
                                      "--reference-period", "2025-01-01..2025-06-30", "--warehouse",
                                      str(_warehouse(tmp_path))], env={"COLUMNS": "400"})  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    in_sample = next(line for line in lines if line.startswith("in sample:"))
    held_out = next(line for line in lines if line.startswith("held out:"))
    assert in_sample.startswith("in sample: n=64, O=6, ")
    assert held_out.startswith("held out: n=73, O=8, E=4.8, O/E=1.658, c=0.454, calibration-in-the-large=0.605, ")
    assert "Hosmer-Lemeshow=31.2 (p=0.000), O/E by decile of risk: 0.000 12.114 " in held_out
