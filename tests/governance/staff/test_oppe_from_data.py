"""OPPE from the measure engine on a generated hospital: the numbers are the engine's, the planted outlier shows."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from medgov.analytics import api
from medgov.analytics.synth import SynthConfig, generate
from medgov.governance.staff import services
from medgov.governance.staff.models import OppeProfile, PrivilegeGrant

PATIENTS = 6000
SEED = 7
PERIOD_START = dt.date(2019, 1, 1)
PERIOD_END = dt.date(2024, 12, 31)
OBSERVED_EXPECTED = ("in-hospital-mortality", "readmission-30-day", "length-of-stay")
HOSPITAL_ACQUIRED = ("falls-with-injury", "pressure-injuries", "cauti", "clabsi")


@pytest.fixture(scope="module")
def hospital(tmp_path_factory):
    folder = tmp_path_factory.mktemp("oppe-hospital")
    generate(SynthConfig(patients=PATIENTS, seed=SEED), folder / "fhir")
    warehouse = folder / "warehouse.duckdb"
    api.ingest([folder / "fhir"], warehouse)
    planted = json.loads((folder / "fhir" / "planted.json").read_text())["practitioners"][0]
    return warehouse, planted


@pytest.fixture(scope="module")
def run(hospital):
    warehouse, _ = hospital
    return api.run_measures(
        warehouse, api.Period(PERIOD_START, PERIOD_END), api.oppe_measure_ids(), stratifiers=api.OPPE_STRATIFIERS
    )


@pytest.fixture(scope="module")
def oppe(hospital, run):
    _, planted = hospital
    return api.oppe_results_from_run(
        run, department_id=planted["department_id"], period_start=PERIOD_START, period_end=PERIOD_END
    )


def test_oppe_numbers_equal_the_measure_engines_results_for_every_practitioner(hospital, run, oppe):
    _, planted = hospital
    rows = run.results.to_pandas()
    rows = rows[(rows["stratifier"] == "department+practitioner") & (rows["department"] == planted["department_id"])]
    assert sorted(result.practitioner_id for result in oppe.practitioners) == sorted(set(rows["practitioner"]))
    for result in oppe.practitioners:
        mine = rows[rows["practitioner"] == result.practitioner_id]
        indicators = {indicator.measure_id: indicator for indicator in result.indicators}
        stays = mine[mine["measure_id"] == "length-of-stay"].iloc[0]
        assert (indicators["volume"].cases, indicators["volume"].value) == (
            int(stays["initial_population"]),
            float(stays["initial_population"]),
        )
        for measure_id in OBSERVED_EXPECTED:
            engine = mine[mine["measure_id"] == measure_id].iloc[0]
            ours = indicators[measure_id]
            assert (ours.cases, ours.observed, ours.expected, ours.value, ours.lower, ours.upper) == (
                int(engine["denominator"]),
                float(engine["observed"]),
                float(engine["expected"]),
                float(engine["oe_ratio"]),
                float(engine["oe_lower"]),
                float(engine["oe_upper"]),
            )
        complications = mine[mine["measure_id"].isin(HOSPITAL_ACQUIRED)]
        assert indicators["hospital-acquired-conditions"].value == sum(complications["observed"].tolist())
        assert indicators["hospital-acquired-conditions"].expected == sum(complications["expected"].tolist())


def test_practitioner_oppe_results_runs_the_same_measures_for_the_department(hospital, oppe):
    warehouse, planted = hospital
    fresh = api.practitioner_oppe_results(
        warehouse, department_id=planted["department_id"], period_start=PERIOD_START, period_end=PERIOD_END
    )
    assert [result.practitioner_id for result in fresh.practitioners] == [
        result.practitioner_id for result in oppe.practitioners
    ]
    assert [[item.cases for item in result.indicators] for result in fresh.practitioners] == [
        [item.cases for item in result.indicators] for result in oppe.practitioners
    ]
    assert (fresh.indicators, fresh.source) == (oppe.indicators, oppe.source)


def test_department_funnels_place_every_practitioner_with_expected_events(oppe):
    funnels = {funnel.measure_id: funnel for funnel in oppe.funnels}
    assert sorted(funnels) == sorted([*OBSERVED_EXPECTED, "hospital-acquired-conditions"])
    assert {funnel.size_label for funnel in oppe.funnels} == {"expected events", "expected bed days"}
    assert len(funnels["readmission-30-day"].points) == len(oppe.practitioners)
    assert oppe.source.startswith("measure engine, cauti@")


def _privileged(practitioner, item, office, chief, cmo):
    request = services.do_submit_privilege_request(
        practitioner, kind="initial", items=[item], is_complete=True, actor=office
    )
    services.do_review_privilege_request(request, step="department_chief", outcome="approve", actor=chief)
    for step in ("credentials_committee", "medical_executive_committee", "board"):
        services.do_review_privilege_request(request, step=step, outcome="approve", actor=cmo)


@pytest.fixture
def department_on_file(hospital, department, core_item, make_practitioner, office, chief, cmo):
    """The planted practitioner's department on file: its warehouse practitioners and one without any stays."""
    warehouse, planted = hospital
    department.warehouse_id = planted["department_id"]
    department.save()
    members = [
        record for record in api.practitioner_directory(warehouse) if record.organization_id == planted["department_id"]
    ]
    on_file = {}
    for record in members:
        on_file[record.id] = make_practitioner(npi=record.npi, family_name=record.family, warehouse_id=record.id)
    on_file["no-stays"] = make_practitioner(warehouse_id="no-stays")
    for practitioner in on_file.values():
        _privileged(practitioner, core_item, office, chief, cmo)
    return on_file


def test_the_planted_outlier_is_flagged_and_its_peers_are_not(hospital, oppe, department_on_file, office):
    _, planted = hospital
    department = next(iter(department_on_file.values())).department
    profiles = services.do_record_oppe_results(department, oppe, actor=office)
    flagged = {profile.practitioner.warehouse_id: profile.is_flagged for profile in profiles}
    assert flagged == {key: key == planted["practitioner_id"] for key in department_on_file}
    outlier = OppeProfile.objects.get(practitioner=department_on_file[planted["practitioner_id"]])
    readmission = outlier.indicators.get(code="readmission-30-day")
    assert readmission.position == "above"
    assert readmission.value > readmission.funnel_upper
    nobody = OppeProfile.objects.get(practitioner=department_on_file["no-stays"])
    assert sorted(nobody.indicators.values_list("code", "cases")) == [
        ("hospital-acquired-conditions", 0),
        ("in-hospital-mortality", 0),
        ("length-of-stay", 0),
        ("readmission-30-day", 0),
        ("volume", 0),
    ]
    assert {indicator.position for indicator in nobody.indicators.exclude(code="volume")} == {"no_cases"}


def test_due_oppe_is_recorded_once_a_year_for_each_privileged_practitioner(hospital, department_on_file, office):
    _, planted = hospital
    PrivilegeGrant.objects.update(starts_on=dt.date(2023, 1, 1))
    recent = department_on_file["no-stays"]
    department = recent.department
    OppeProfile.objects.create(
        practitioner=recent, department=department, period_start=dt.date(2023, 7, 1), period_end=dt.date(2024, 6, 30)
    )
    report = services.do_record_due_oppe(warehouse=hospital[0], today=dt.date(2025, 1, 15), actor=office)
    assert (report.period_start, report.period_end, report.skipped) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31), ())
    assert report.recorded == len(department_on_file) - 1
    assert OppeProfile.objects.filter(period_end=dt.date(2024, 12, 31)).count() == len(department_on_file) - 1
    again = services.do_record_due_oppe(warehouse=hospital[0], today=dt.date(2025, 2, 20), actor=office)
    assert again.recorded == 0
    assert planted["practitioner_id"] in set(
        OppeProfile.objects.filter(period_end=dt.date(2024, 12, 31)).values_list(
            "practitioner__warehouse_id", flat=True
        )
    )
