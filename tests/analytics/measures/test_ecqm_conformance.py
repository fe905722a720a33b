from pathlib import Path

import duckdb
import ibis
import pytest

from medgov.analytics import api
from medgov.analytics.measures import engine, registry
from medgov.analytics.measures.spec import MeasureContext, Period
from tests.fixtures.ecqm_cases import EcqmCase, cases

CMS529 = "CMSFHIR529HybridHospitalWideReadmission"
CMS844 = "CMSFHIR844HybridHospitalWideMortality"
MEASURES = {CMS529: "hybrid-hospital-wide-readmission", CMS844: "hybrid-hospital-wide-mortality"}


@pytest.fixture(scope="module")
def initial_population_by_patient(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, int]]:
    """Each suite's cases loaded by ``api.ingest`` into one warehouse, the measure run once: the initial
    population count of every patient."""
    counts: dict[str, dict[str, int]] = {}
    for suite, measure_id in MEASURES.items():
        suite_cases = cases(suite)
        (period,) = {(case.period_start, case.period_end) for case in suite_cases}
        warehouse: Path = tmp_path_factory.mktemp(suite) / "warehouse.duckdb"
        api.ingest([case.folder for case in suite_cases], warehouse)
        connection = duckdb.connect(str(warehouse), read_only=True)
        try:
            context = MeasureContext(ibis.duckdb.from_connection(connection), Period(*period))
            subjects = engine.subject_frame(registry.get(measure_id), context)
            context.release()
        finally:
            connection.close()
        in_population = subjects[subjects["initial_population"]]
        counts[suite] = {str(key): int(value) for key, value in in_population.groupby("patient_id").size().items()}
    return counts


def _initial_population(case: EcqmCase, counts: dict[str, int]) -> int:
    return sum(counts.get(patient_id, 0) for patient_id in case.patient_ids)


@pytest.mark.parametrize("case", cases(CMS529), ids=lambda case: case.title)
def test_cms529_initial_population_matches_the_test_case(
    case: EcqmCase, initial_population_by_patient: dict[str, dict[str, int]]
) -> None:
    assert _initial_population(case, initial_population_by_patient[CMS529]) == case.expected["initial-population"]


@pytest.mark.parametrize("case", cases(CMS844), ids=lambda case: case.title)
def test_cms844_initial_population_matches_the_test_case(
    case: EcqmCase, initial_population_by_patient: dict[str, dict[str, int]]
) -> None:
    assert _initial_population(case, initial_population_by_patient[CMS844]) == case.expected["initial-population"]


def test_every_development_case_is_collected_with_its_own_patient() -> None:
    suites = [cases(CMS529), cases(CMS844)]
    assert [len(suite) for suite in suites] == [30, 25]
    assert all(len(case.patient_ids) == 1 for suite in suites for case in suite)
