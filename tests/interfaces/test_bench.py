from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from medgov.analytics.bench import Bench, BenchConfig, BenchResult
from medgov.analytics.bench.runner import compare_measure_counts
from medgov.interfaces.cli.bench import markdown_table, render
from medgov.interfaces.cli.main import app


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> BenchResult:
    work = tmp_path_factory.mktemp("bench")
    config = BenchConfig(
        patients=200,
        work_dir=work,
        venv_dir=work / "venvs",
        stages=("ingest", "measures", "stats"),
        peers=False,
        peer_python=Path(sys.executable),
    )
    return Bench(config).run()


def test_bench_runs_the_in_process_stages_and_their_pandas_peers(small_run: BenchResult) -> None:
    stages = {stage.stage: stage for stage in small_run.stages}

    assert list(stages) == ["ingest", "measures", "measures: full set", "stats"]
    ingest = stages["ingest"]
    assert [peer.implementation for peer in ingest.peers] == [
        "duckdb read_ndjson_objects (floor)",
        "pandas + orjson loader",
    ]
    assert ingest.medgov.work == 7110
    assert ingest.medgov.details["quarantined"] == 0
    assert stages["measures"].peers[0].implementation == "pandas"
    assert stages["stats"].peers == ()
    full = stages["measures: full set"]
    assert (full.peers, full.medgov.details["measures"], full.medgov.details["dimensions"]) == ((), 16, 11)


def test_bench_results_are_equal_across_implementations(small_run: BenchResult) -> None:
    peers = {(stage.stage, peer.implementation): peer.equal for stage in small_run.stages for peer in stage.peers}

    assert peers == {
        ("ingest", "duckdb read_ndjson_objects (floor)"): True,
        ("ingest", "pandas + orjson loader"): True,
        ("measures", "pandas"): True,
    }


def test_bench_measures_time_memory_and_ratios(small_run: BenchResult) -> None:
    for stage in small_run.stages:
        assert stage.medgov.seconds > 0
        assert stage.medgov.cpu_seconds > 0
        assert stage.medgov.peak_memory_bytes > 10 * 2**20
        for peer in stage.peers:
            assert stage.ratio(peer) == stage.medgov.seconds / peer.seconds


def test_bench_json_and_table_carry_every_implementation(small_run: BenchResult) -> None:
    document = json.loads(json.dumps(small_run.to_json()))
    console = Console(width=200, record=True)
    console.print(render(small_run))
    text = console.export_text()

    assert document["patients"] == 200
    assert [stage["stage"] for stage in document["stages"]] == ["ingest", "measures", "measures: full set", "stats"]
    assert set(document["stages"][0]["peers"][0]) >= {"seconds", "cpu_seconds", "peak_memory_bytes", "ratio"}
    markdown = markdown_table(document)
    for name in ("medgov ingest", "pandas + orjson loader", "medgov measure engine", "medgov statistics"):
        assert name in text
        assert f"| {name} |" in markdown
    assert "| stage | implementation | wall s | CPU s | peak MiB | throughput | equal | medgov/peer |" in markdown


def test_compare_measure_counts_names_each_difference() -> None:
    medgov = [
        {"measure_id": "m", "period_start": "2020-01-01", "stratifier": "department", "stratum": "a",
         "denominator": 10, "denominator_exclusion": 1, "numerator": 2},
        {"measure_id": "m", "period_start": "2020-01-01", "stratifier": "", "stratum": "",
         "denominator": 10, "denominator_exclusion": 1, "numerator": 2},
    ]  # fmt: skip
    same = [{"measure_id": "m", "period_start": "2020-01-01", "stratum": "a", "denominator": 10,
             "denominator_exclusion": 1, "numerator": 2}]  # fmt: skip
    different = [{**same[0], "numerator": 3}, {**same[0], "stratum": "b"}]

    assert compare_measure_counts(medgov, same) == []
    assert compare_measure_counts(medgov, different) == [
        "measures differ at ('m', '2020-01-01', 'a'): medgov (10, 1, 2), peer (10, 1, 3)",
        "measures differ at ('m', '2020-01-01', 'b'): medgov None, peer (10, 1, 2)",
    ]


def test_bench_rejects_an_unknown_stage() -> None:
    result = CliRunner().invoke(app, ["bench", "--patients", "10", "--stages", "ingest,warp"])

    assert result.exit_code == 2
    assert "unknown stage 'warp'; stages are: ingest, measures, stats, web" in result.output


def test_bench_rejects_a_population_folder_without_ndjson(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["bench", "--patients", "10", "--stages", "stats", "--population", str(tmp_path), "--work-dir", str(tmp_path)],
    )

    assert result.exit_code == 2
    assert f"the population folder {tmp_path} holds no .ndjson files" in result.output


def test_bench_rejects_a_population_of_another_size(tmp_path: Path) -> None:
    (tmp_path / "Patient.ndjson").write_text('{"resourceType": "Patient", "id": "a"}\n' * 3)

    result = CliRunner().invoke(
        app,
        ["bench", "--patients", "10", "--stages", "stats", "--population", str(tmp_path), "--work-dir", str(tmp_path)],
    )

    assert result.exit_code == 2
    assert f"the population folder {tmp_path} holds 3 patients, not 10: pass --patients 3" in result.output


def test_bench_does_not_ingest_into_a_given_warehouse(tmp_path: Path) -> None:
    warehouse = tmp_path / "given.duckdb"
    warehouse.write_bytes(b"kept")

    result = CliRunner().invoke(
        app,
        ["bench", "--patients", "10", "--stages", "ingest", "--warehouse", str(warehouse), "--work-dir", str(tmp_path)],
    )

    assert result.exit_code == 2
    assert "the ingest stage rebuilds its warehouse, so it cannot run on the given warehouse" in result.output
    assert warehouse.read_bytes() == b"kept"
