"""``medgov bench``: performance as a measured, repeatable fact.

A population of a chosen size is generated with the synthetic hospital; each stage (ingest, measures,
statistics, web) runs medgov and, on the identical input in the same run, the alternatives it replaces: DuckDB's
NDJSON reader as the floor, fhir4ds on the same ViewDefinitions, and the pandas code an analyst would write.
Results are checked equal before any time is compared, and each peer is reported as a ratio, which holds on a
noisy machine where absolute seconds do not. See docs/benchmarks.md.
"""

from medgov.analytics.bench.results import BenchResult, Measured, StageResult
from medgov.analytics.bench.runner import STAGES, Bench, BenchConfig

__all__ = ["STAGES", "Bench", "BenchConfig", "BenchResult", "Measured", "StageResult"]
