import numpy as np
import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from medgov.analytics.measures import engine, registry
from medgov.analytics.measures.spec import Period
from tests.fixtures import hospital

PERIOD = Period(hospital.PERIOD_START, hospital.PERIOD_END)
STRATIFIERS = ("practitioner", "hospital+unit", "payer", "age_band")


@pytest.mark.parametrize("measure_id", ["readmission-30-day", "falls-with-injury", "cauti"])
def test_grains_summed_from_months_equal_grains_grouped_from_the_subjects(
    hospital_backend: BaseBackend, monkeypatch: pytest.MonkeyPatch, measure_id: str
) -> None:
    spec = registry.get(measure_id)
    [evaluation] = engine.evaluate(
        hospital_backend, [spec], PERIOD, grains=engine.GRAINS, stratifiers=STRATIFIERS,
        reference_period=Period.parse("2025-01-01..2025-06-30"),
    )  # fmt: skip

    def direct(*arguments: object, ratio: bool, expected: bool) -> str:
        return engine._grouping_query(*arguments, observations=False, ratio=ratio, expected=expected)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_monthly_rollup_query", direct)
    stratifiers = engine.normalise_stratifiers(STRATIFIERS)
    grouped = engine.aggregate(spec, evaluation.subjects, PERIOD, engine.GRAINS, stratifiers, 0.95, evaluation.model)
    assert grouped.num_rows == evaluation.table.num_rows
    for name in grouped.column_names:
        ours, theirs = evaluation.table[name], grouped[name]
        if pa.types.is_floating(ours.type):
            assert np.allclose(ours.to_numpy(zero_copy_only=False), theirs.to_numpy(zero_copy_only=False),
                               rtol=1e-12, atol=0, equal_nan=True), name  # fmt: skip
        else:
            assert ours.equals(theirs), name
