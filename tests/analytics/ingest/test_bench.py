from __future__ import annotations

from medgov.analytics.ingest.bench import IngestBenchmark, Measurement


def test_the_ingest_benchmark_reports_wall_and_cpu_against_the_floor() -> None:
    result = IngestBenchmark(
        ingest=Measurement(
            "medgov ingest",
            2_000_000,
            4_000,
            8.0,
            2**30,
            12.0,
            materialise_seconds=3.0,
            table_seconds=(("patient", 1.5),),
        ),
        floor=Measurement("duckdb read_ndjson_objects", 2_000_000, 4_000, 2.0, 2**29, 6.0),
    )

    assert result.ratio == 4.0
    assert result.cpu_ratio == 2.0
    lines = result.lines()
    assert lines[0].split()[:2] == ["medgov", "ingest"]
    assert "0.2 MB/s" in lines[0] and " 500 resources/s" in lines[0]
    assert "1.0 MB/s" in lines[1] and "2,000 resources/s" in lines[1]
    assert lines[2] == (
        "ingest takes 4.00x the read_json floor (2.00x its CPU time; landing 5.00 s, 2.50x; "
        "materialising the tables 3.00 s)"
    )
    assert lines[3] == "tables (s): patient 1.50"
