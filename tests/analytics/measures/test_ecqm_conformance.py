import duckdb
import ibis
import pytest

from medgov.analytics.measures import engine, registry
from medgov.analytics.measures.spec import Period
from tests.fixtures.ecqm_cases import EcqmCase, case_warehouse, cases

CMS529 = "CMSFHIR529HybridHospitalWideReadmission"
CMS844 = "CMSFHIR844HybridHospitalWideMortality"


def _initial_population(case: EcqmCase, measure_id: str) -> int:
    connection = duckdb.connect()
    case_warehouse(case, connection)
    backend = ibis.duckdb.from_connection(connection)
    spec = registry.get(measure_id)
    subjects = engine.subject_frame(spec, engine.MeasureContext(backend, Period(case.period_start, case.period_end)))
    return int(subjects["initial_population"].sum())


@pytest.mark.parametrize("case", cases(CMS529), ids=lambda case: case.title)
def test_cms529_initial_population_matches_the_test_case(case: EcqmCase) -> None:
    assert _initial_population(case, "hybrid-hospital-wide-readmission") == case.expected["initial-population"]


@pytest.mark.parametrize("case", cases(CMS844), ids=lambda case: case.title)
def test_cms844_initial_population_matches_the_test_case(case: EcqmCase) -> None:
    assert _initial_population(case, "hybrid-hospital-wide-mortality") == case.expected["initial-population"]


def test_every_development_case_is_collected() -> None:
    assert (len(cases(CMS529)), len(cases(CMS844))) == (30, 25)
