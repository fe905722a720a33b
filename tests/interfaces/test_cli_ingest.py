from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medgov.interfaces.cli.main import app
from tests.anchors import REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "ingest" / "hospital"


def test_ingest_loads_into_the_warehouse_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "wh.duckdb"
    monkeypatch.setenv("MEDGOV_WAREHOUSE", str(warehouse))

    result = CliRunner().invoke(app, ["ingest", str(FIXTURE), "--chunk-size", "5"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert "load 1 into " in result.output
    assert re.search(r"total\s*│\s*25\s*│\s*25\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*0\s*│", result.output)
    assert warehouse.exists()


def test_warehouse_info_lists_tables_and_the_last_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    warehouse = tmp_path / "wh.duckdb"
    CliRunner().invoke(app, ["ingest", str(FIXTURE), "--warehouse", str(warehouse)])

    result = CliRunner().invoke(app, ["warehouse", "info", "--warehouse", str(warehouse)], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert re.search(r"│ encounter\s*│\s*3 │", result.output)
    assert "last load 1 finished" in result.output
    assert "25 read, 25 new, 0 replaced, 0 unchanged, 0 stale, 0 quarantined" in result.output


def test_ingest_names_a_missing_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope.ndjson"), "--warehouse", str(tmp_path / "w")])

    assert result.exit_code == 2
    assert "no such file or folder:" in result.output
    assert not (tmp_path / "w").exists()
