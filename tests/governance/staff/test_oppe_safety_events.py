import datetime as dt

import duckdb

from medgov.analytics import api as analytics
from medgov.analytics.api import AttendedEncounter
from medgov.governance.safety import services as safety
from medgov.governance.safety.models import SafetyEvent
from medgov.governance.staff import services
from tests.governance.staff.test_peer_review_and_oppe import _privileged, _results

UTC = dt.UTC


def _event(unit, occurred_at, mrn="", status="submitted", deleted=False):
    return SafetyEvent.objects.create(
        status=status,
        event_class="incident",
        category="medication",
        occurred_at=occurred_at,
        unit=unit,
        patient_mrn=mrn,
        description="x",
        reported_harm="mild",
        deleted_at=occurred_at if deleted else None,
    )


def test_oppe_counts_safety_events_in_the_practitioners_encounters_and_on_their_units(
    office, chief, cmo, make_practitioner, core_item
):
    practitioner = make_practitioner(warehouse_id="prac-outlier")
    _privileged(practitioner, core_item, office, chief, cmo)
    ward = safety.do_create_unit(
        code="4W", name="4 West", hospital="General", warehouse_location_id="loc-4w", actor=None
    )
    icu = safety.do_create_unit(code="ICU", name="ICU", hospital="General", warehouse_location_id="loc-icu", actor=None)
    stay = (dt.datetime(2025, 5, 1, 8, 0), dt.datetime(2025, 5, 6, 12, 0))  # naive UTC, as the warehouse holds it
    encounters = [
        AttendedEncounter("prac-outlier", "MRN-1", "loc-4w", *stay),
        AttendedEncounter("prac-other", "MRN-2", "loc-icu", *stay),
    ]
    in_stay = dt.datetime(2025, 5, 3, 2, 0, tzinfo=UTC)
    _event(ward, in_stay, mrn="MRN-1")  # in care and on the unit
    _event(ward, dt.datetime(2025, 5, 9, 2, 0, tzinfo=UTC), mrn="MRN-1")  # after discharge: on the unit only
    _event(ward, in_stay)  # no MRN (e.g. anonymous): on the unit only
    _event(ward, in_stay, mrn="MRN-1", status="draft")  # never submitted
    _event(ward, in_stay, mrn="MRN-1", deleted=True)  # removed
    _event(ward, dt.datetime(2024, 12, 31, 12, 0, tzinfo=UTC), mrn="MRN-1")  # before the period
    _event(icu, in_stay, mrn="MRN-2")  # another practitioner's patient on another unit
    [profile] = services.do_record_oppe_results(
        core_item.department, _results("prac-outlier", "x"), actor=office, encounters=encounters
    )
    rows = {i.code: (i.kind, i.cases, i.value, i.position, i.is_flagged) for i in profile.indicators.all()}
    assert rows["safety-events-in-care"] == ("count", 1, 1.0, "not_applicable", False)
    assert rows["safety-events-on-units"] == ("count", 1, 3.0, "not_applicable", False)
    assert profile.is_flagged is True  # from the mortality O/E, not the counts


def test_oppe_without_encounters_records_no_safety_event_counts(office, chief, cmo, make_practitioner, core_item):
    practitioner = make_practitioner(warehouse_id="prac-outlier")
    _privileged(practitioner, core_item, office, chief, cmo)
    [profile] = services.do_record_oppe_results(core_item.department, _results("prac-outlier", "x"), actor=office)
    assert [i.code for i in profile.indicators.all()] == ["volume", "mortality-oe", "readmission-oe"]


def test_attended_encounters_come_from_the_warehouse_with_mrn_and_location(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE TABLE patient (id VARCHAR, mrn VARCHAR)")
        connection.execute(
            "CREATE TABLE encounter (id VARCHAR, patient_id VARCHAR, location_id VARCHAR,"
            " attending_practitioner_id VARCHAR, period_start TIMESTAMP, period_end TIMESTAMP)"
        )
        connection.execute("INSERT INTO patient VALUES ('p1', 'MRN-1'), ('p2', 'MRN-2')")
        connection.execute(
            "INSERT INTO encounter VALUES"
            " ('e1', 'p1', 'loc-4w', 'prac-a', '2025-05-01 08:00', '2025-05-06 12:00'),"
            " ('e2', 'p2', 'loc-icu', 'prac-a', '2024-12-30 08:00', '2024-12-31 12:00'),"
            " ('e3', 'p2', 'loc-icu', 'prac-b', '2025-06-01 08:00', NULL)"
        )
    rows = analytics.attended_encounters(warehouse, ["prac-a", "prac-b"], dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert rows == (
        AttendedEncounter("prac-a", "MRN-1", "loc-4w", dt.datetime(2025, 5, 1, 8, 0), dt.datetime(2025, 5, 6, 12, 0)),
        AttendedEncounter("prac-b", "MRN-2", "loc-icu", dt.datetime(2025, 6, 1, 8, 0), None),
    )
