from __future__ import annotations

import datetime as dt
import gzip
import itertools
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from medgov.analytics.synth import (
    PLANTED_FILE,
    SynthConfig,
    SynthSummary,
    generate,
    is_valid_npi,
    npi_check_digit,
    planted_outliers,
)
from medgov.analytics.synth.fhir import RESOURCE_TYPES

SEED = 7
PATIENTS = 5_000
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def read(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthSummary, dict[str, list[dict[str, Any]]]]:
    out = tmp_path_factory.mktemp("synth")
    summary = generate(SynthConfig(patients=PATIENTS, seed=SEED), out)
    return summary, {name: read(out / f"{name}.ndjson") for name in RESOURCE_TYPES}


def code_of(concept: dict[str, Any]) -> str:
    return str(concept["coding"][0]["code"])


def admissions_of(resources: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [e for e in resources["Encounter"] if e["class"]["code"] == "IMP" and "partOf" not in e]


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    generate(SynthConfig(patients=300, seed=3), tmp_path / "first")
    generate(SynthConfig(patients=300, seed=3), tmp_path / "second")

    assert file_bytes(tmp_path / "first") == file_bytes(tmp_path / "second")


def test_output_does_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    generate(SynthConfig(patients=500, seed=3, workers=1, chunk_patients=200), tmp_path / "one")
    generate(SynthConfig(patients=500, seed=3, workers=2, chunk_patients=200), tmp_path / "two")

    assert file_bytes(tmp_path / "one") == file_bytes(tmp_path / "two")


def test_different_seed_writes_different_data(tmp_path: Path) -> None:
    generate(SynthConfig(patients=300, seed=3), tmp_path / "three")
    generate(SynthConfig(patients=300, seed=4), tmp_path / "four")

    three, four = file_bytes(tmp_path / "three"), file_bytes(tmp_path / "four")
    assert three.keys() == four.keys()
    assert all(three[name] != four[name] for name in ("Patient.ndjson", "Encounter.ndjson", "Practitioner.ndjson"))


def test_gzip_output_holds_the_same_lines_reproducibly(tmp_path: Path) -> None:
    generate(SynthConfig(patients=300, seed=3), tmp_path / "plain")
    generate(SynthConfig(patients=300, seed=3, gzip=True), tmp_path / "gzip")
    generate(SynthConfig(patients=300, seed=3, gzip=True), tmp_path / "gzip-again")

    for name in RESOURCE_TYPES:
        packed = (tmp_path / "gzip" / f"{name}.ndjson.gz").read_bytes()
        assert gzip.decompress(packed) == (tmp_path / "plain" / f"{name}.ndjson").read_bytes()
    assert file_bytes(tmp_path / "gzip") == file_bytes(tmp_path / "gzip-again")


def test_npi_check_digit_matches_the_cms_example() -> None:
    assert npi_check_digit("123456789") == 3
    assert is_valid_npi("1234567893")
    assert not is_valid_npi("1234567890")
    assert not is_valid_npi("123456789")


def test_every_practitioner_and_hospital_has_a_valid_npi(export: Any) -> None:
    _, resources = export
    npis = [
        identifier["value"]
        for resource in resources["Practitioner"] + resources["Organization"]
        for identifier in resource.get("identifier", [])
        if identifier["system"] == "http://hl7.org/fhir/sid/us-npi"
    ]

    assert len(npis) == 97 + 3
    assert len(set(npis)) == len(npis)
    assert all(is_valid_npi(npi) for npi in npis)


def test_resource_ids_are_unique_within_each_type(export: Any) -> None:
    _, resources = export
    for name, items in resources.items():
        ids = [item["id"] for item in items]
        assert len(ids) == len(set(ids)), name


def test_every_reference_resolves_within_the_export(export: Any) -> None:
    summary, resources = export
    known = {f"{name}/{item['id']}".encode() for name, items in resources.items() for item in items}
    found = [
        reference
        for name in RESOURCE_TYPES
        for reference in re.findall(rb'"reference":"([^"]+)"', (summary.out / f"{name}.ndjson").read_bytes())
    ]
    dangling = Counter(reference for reference in found if reference not in known)

    assert len(found) == 474_534
    assert dangling == Counter()


def test_resource_counts_for_a_fixed_seed(export: Any) -> None:
    summary, resources = export

    assert {name: len(items) for name, items in resources.items()} == summary.resources
    assert summary.resources == {
        "Organization": 33,
        "Location": 30,
        "Practitioner": 97,
        "PractitionerRole": 97,
        "Patient": 5000,
        "Coverage": 5490,
        "Encounter": 53706,
        "Condition": 31190,
        "Procedure": 2171,
        "Observation": 35513,
        "MedicationRequest": 6268,
        "MedicationAdministration": 23910,
    }


def test_hospital_structure_follows_the_warehouse_contract(export: Any) -> None:
    _, resources = export
    organizations = {o["id"]: o for o in resources["Organization"]}
    hospitals = [o for o in organizations.values() if code_of(o["type"][0]) == "prov"]
    departments = [o for o in organizations.values() if code_of(o["type"][0]) == "dept"]
    locations = resources["Location"]

    assert len(hospitals) == 3
    assert all(code_of(organizations[d["partOf"]["reference"].split("/")[1]]["type"][0]) == "prov" for d in departments)
    assert all(code_of(location["physicalType"]) == "wa" for location in locations)
    assert all("partOf" not in location for location in locations)
    assert {location["managingOrganization"]["reference"] for location in locations} <= {
        f"Organization/{d['id']}" for d in departments
    }
    assert sum(code_of(location["type"][0]) == "ICU" for location in locations) == 4
    roles = resources["PractitionerRole"]
    assert {r["practitioner"]["reference"] for r in roles} == {
        f"Practitioner/{p['id']}" for p in resources["Practitioner"]
    }
    assert all(r["organization"]["reference"].removeprefix("Organization/") in organizations for r in roles)


def test_every_inpatient_encounter_has_an_attending_service_line_and_unit(export: Any) -> None:
    _, resources = export
    inpatient = [e for e in resources["Encounter"] if e["class"]["code"] == "IMP"]

    for encounter in inpatient:
        attendings = [
            p for p in encounter["participant"]
            if p["type"][0]["coding"][0] == {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND", "display": "attender"
            }
        ]  # fmt: skip
        assert len(attendings) == 1
        assert encounter["serviceType"]["coding"][0]["system"] == "urn:medgov:service-line"
        assert encounter["location"][0]["location"]["reference"].startswith("Location/")
        assert encounter["serviceProvider"]["reference"].startswith("Organization/org-")


def test_icu_stays_are_part_of_their_admission_in_an_icu(export: Any) -> None:
    _, resources = export
    encounters = {e["id"]: e for e in resources["Encounter"]}
    icu_locations = {f"Location/{loc['id']}" for loc in resources["Location"] if code_of(loc["type"][0]) == "ICU"}
    icu_stays = [e for e in resources["Encounter"] if "partOf" in e]

    assert len(icu_stays) == 613
    for stay in icu_stays:
        admission = encounters[stay["partOf"]["reference"].removeprefix("Encounter/")]
        assert stay["class"]["code"] == "IMP"
        assert stay["location"][0]["location"]["reference"] in icu_locations
        assert (
            admission["period"]["start"]
            <= stay["period"]["start"]
            <= stay["period"]["end"]
            <= admission["period"]["end"]
        )


def test_admissions_have_a_principal_diagnosis_priority_and_disposition(export: Any) -> None:
    _, resources = export
    conditions = {c["id"]: c for c in resources["Condition"]}
    admissions = admissions_of(resources)
    priorities = Counter(code_of(a["priority"]) for a in admissions)
    dispositions = Counter(code_of(a["hospitalization"]["dischargeDisposition"]) for a in admissions)
    principal_prefixes = Counter()

    for admission in admissions:
        principal = [d for d in admission["diagnosis"] if d["rank"] == 1]
        assert len(principal) == 1
        condition = conditions[principal[0]["condition"]["reference"].removeprefix("Condition/")]
        assert condition["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"
        assert condition["encounter"]["reference"] == f"Encounter/{admission['id']}"
        principal_prefixes[code_of(condition["code"])[:3]] += 1

    assert len(admissions) == 3_924
    assert set(priorities) == {"EM", "UR", "EL"}
    assert {"home", "alt-home", "snf", "rehab", "hosp", "other-hcf", "aadvice", "psy", "exp"} <= set(dispositions)
    assert {"I21", "I50", "J18", "A41", "I63", "J44", "S72", "M17", "M16"} <= set(principal_prefixes)


def test_realised_mortality_and_readmission_rates_are_national_order(export: Any) -> None:
    summary, resources = export
    admissions = sorted(admissions_of(resources), key=lambda e: (e["subject"]["reference"], e["period"]["start"]))
    deaths = sum(code_of(a["hospitalization"]["dischargeDisposition"]) == "exp" for a in admissions)
    index_stays = readmitted = 0
    for current, following in zip(admissions, [*admissions[1:], None], strict=True):
        if code_of(current["hospitalization"]["dischargeDisposition"]) in {"exp", "other-hcf", "aadvice"}:
            continue
        index_stays += 1
        if following is not None and following["subject"] == current["subject"]:
            gap = dt.datetime.fromisoformat(following["period"]["start"]) - dt.datetime.fromisoformat(
                current["period"]["end"]
            )
            readmitted += gap <= dt.timedelta(days=30)

    assert (deaths, index_stays, readmitted) == (94, 3_705, 661)
    assert 0.01 <= deaths / len(admissions) <= 0.06
    assert 0.10 <= readmitted / index_stays <= 0.20
    assert summary.in_hospital_mortality == deaths / len(admissions)
    assert summary.readmission_30_day == pytest.approx(readmitted / index_stays, abs=0.002)


def test_patients_who_die_in_hospital_have_a_date_of_death(export: Any) -> None:
    _, resources = export
    deceased = {f"Patient/{p['id']}": p["deceasedDateTime"] for p in resources["Patient"] if "deceasedDateTime" in p}
    expired = [a for a in admissions_of(resources) if code_of(a["hospitalization"]["dischargeDisposition"]) == "exp"]

    assert all(deceased[a["subject"]["reference"]] == a["period"]["end"] for a in expired)
    last_start = defaultdict(str)
    for encounter in resources["Encounter"]:
        reference = encounter["subject"]["reference"]
        last_start[reference] = max(last_start[reference], encounter["period"]["start"])
    assert all(last_start[reference] <= when for reference, when in deceased.items() if reference in last_start)


def test_hospital_acquired_conditions_start_after_admission(export: Any) -> None:
    _, resources = export
    encounters = {f"Encounter/{e['id']}": e for e in resources["Encounter"]}
    acquired = [c for c in resources["Condition"] if "-hac-" in c["id"]]
    kinds = Counter(code_of(c["code"])[:3] for c in acquired)

    for condition in acquired:
        period = encounters[condition["encounter"]["reference"]]["period"]
        assert period["start"] < condition["onsetDateTime"] <= period["end"]
    assert kinds["L89"] > 0
    assert kinds["W19"] > 0
    assert kinds["T83"] + kinds["T80"] > 0


def test_device_procedures_span_insertion_to_removal_within_the_stay(export: Any) -> None:
    _, resources = export
    encounters = {f"Encounter/{e['id']}": e for e in resources["Encounter"]}
    devices = [p for p in resources["Procedure"] if code_of(p["code"]) in {"45211000", "233527006"}]

    assert len(devices) == 1_667
    for procedure in devices:
        period = encounters[procedure["encounter"]["reference"]]["period"]
        performed = procedure["performedPeriod"]
        assert period["start"] <= performed["start"] < performed["end"] <= period["end"]


def test_patients_carry_us_core_demographics_and_an_mrn(export: Any) -> None:
    _, resources = export
    for patient in resources["Patient"][:500]:
        urls = {extension["url"] for extension in patient["extension"]}
        assert "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race" in urls
        assert "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity" in urls
        assert code_of(patient["identifier"][0]["type"]) == "MR"
        assert patient["communication"][0]["language"]["coding"][0]["system"] == "urn:ietf:bcp:47"
        assert len(patient["address"][0]["postalCode"]) == 5
        assert patient["gender"] in {"female", "male"}


def test_payer_depends_on_age(export: Any) -> None:
    _, resources = export
    birth = {f"Patient/{p['id']}": p["birthDate"] for p in resources["Patient"]}
    first_coverage = [c for c in resources["Coverage"] if c["id"].endswith("-cov1")]
    over_65 = [c for c in first_coverage if birth[c["beneficiary"]["reference"]] <= "1953-12-31"]
    under_65 = [c for c in first_coverage if birth[c["beneficiary"]["reference"]] >= "1955-01-01"]

    assert sum(code_of(c["type"]) == "1" for c in over_65) / len(over_65) > 0.9
    assert {code_of(c["type"]) for c in under_65} == {"1", "2", "5", "81"}
    assert sum(code_of(c["type"]) == "5" for c in under_65) / len(under_65) > 0.6


def test_outpatient_visits_carry_blood_pressure_panels_and_hba1c(export: Any) -> None:
    _, resources = export
    codes = Counter(code_of(o["code"]) for o in resources["Observation"])
    panel = next(o for o in resources["Observation"] if code_of(o["code"]) == "85354-9")

    assert set(codes) == {"85354-9", "4548-4"}
    assert [code_of(component["code"]) for component in panel["component"]] == ["8480-6", "8462-4"]
    assert panel["component"][0]["valueQuantity"]["code"] == "mm[Hg]"


def test_emergency_visits_include_72_hour_returns(export: Any) -> None:
    summary, resources = export
    visits = sorted(
        (e for e in resources["Encounter"] if e["class"]["code"] == "EMER"),
        key=lambda e: (e["subject"]["reference"], e["period"]["start"]),
    )
    returns = sum(
        1
        for current, following in itertools.pairwise(visits)
        if current["subject"] == following["subject"]
        and dt.datetime.fromisoformat(following["period"]["start"])
        - dt.datetime.fromisoformat(current["period"]["end"])
        <= dt.timedelta(hours=72)
    )

    assert len(visits) == 9_659
    assert 0.03 <= returns / len(visits) <= 0.07
    assert summary.emergency_return_72h == pytest.approx(returns / len(visits), abs=0.005)


def test_medicines_use_rxnorm_and_administrations_follow_their_order(export: Any) -> None:
    _, resources = export
    requests = {f"MedicationRequest/{r['id']}": r for r in resources["MedicationRequest"]}
    codes = {code_of(r["medicationCodeableConcept"]) for r in requests.values()}

    assert {"854235", "1659263", "1364445", "2003714", "1665188", "311034"} <= codes
    for administration in resources["MedicationAdministration"][:2_000]:
        request = requests[administration["request"]["reference"]]
        assert administration["context"] == request["encounter"]
        assert administration["effectivePeriod"]["start"] >= request["authoredOn"]


def test_planted_outliers_are_written_beside_the_data(export: Any) -> None:
    summary, _ = export
    written = orjson.loads((summary.out / PLANTED_FILE).read_bytes())
    planted = planted_outliers(SEED)

    assert written == planted.as_dict()
    assert len(planted.practitioners) == 3
    assert len(planted.units) == 3
    assert [unit.changes_on for unit in planted.units] == [None, None, dt.date(2022, 8, 1)]
    assert planted_outliers(SEED) == planted
    assert planted_outliers(SEED + 1) != planted


def test_a_planted_effect_scale_raises_every_planted_ratio_to_its_power() -> None:
    documented = planted_outliers(SEED).as_dict()
    scaled = planted_outliers(SEED, effect_scale=2.0).as_dict()

    assert scaled["practitioners"][0]["effects"] == {
        name: ratio**2 for name, ratio in documented["practitioners"][0]["effects"].items()
    }
    assert [unit["effects"]["fall_rate_ratio"] for unit in scaled["units"]] == [9.0, 1.0, 9.0]
    assert [unit["location_id"] for unit in scaled["units"]] == [unit["location_id"] for unit in documented["units"]]


def test_a_planted_effect_scale_keeps_the_hospital_system_and_writes_the_scaled_effects(tmp_path: Path) -> None:
    generate(SynthConfig(patients=300, seed=SEED), tmp_path / "documented")
    generate(SynthConfig(patients=300, seed=SEED, planted_effect_scale=3.0), tmp_path / "scaled")
    structure = [
        [(tmp_path / name / f"{kind}.ndjson").read_bytes() for kind in ("Organization", "Location", "Practitioner")]
        for name in ("documented", "scaled")
    ]
    planted = [orjson.loads((tmp_path / name / PLANTED_FILE).read_bytes()) for name in ("documented", "scaled")]

    assert structure[0] == structure[1]
    assert planted[0]["units"][0]["effects"]["fall_rate_ratio"] == 3.0
    assert planted[1]["units"][0]["effects"]["fall_rate_ratio"] == 27.0


@pytest.mark.parametrize("scale", [0.0, -1.0, 11.0, float("nan")], ids=["zero", "negative", "too-large", "nan"])
def test_a_planted_effect_scale_out_of_range_is_refused(scale: float) -> None:
    with pytest.raises(ValueError, match=r"planted_effect_scale must be above 0 and at most 10, got"):
        SynthConfig(patients=10, planted_effect_scale=scale)


def test_planted_practitioners_are_worse_than_their_department_peers(export: Any) -> None:
    _, resources = export
    planted = planted_outliers(SEED)
    admissions = admissions_of(resources)
    attending = {
        a["id"]: a["participant"][0]["individual"]["reference"].removeprefix("Practitioner/") for a in admissions
    }
    department = {
        r["practitioner"]["reference"].removeprefix("Practitioner/"): r["organization"]["reference"]
        for r in resources["PractitionerRole"]
    }
    died = {a["id"]: code_of(a["hospitalization"]["dischargeDisposition"]) == "exp" for a in admissions}
    worse_mortality = {p.practitioner_id for p in planted.practitioners if p.effects.mortality_odds_ratio > 1}

    def mortality(keep: Any) -> float:
        chosen = [admission_id for admission_id, practitioner in attending.items() if keep(practitioner)]
        return sum(died[admission_id] for admission_id in chosen) / len(chosen)

    departments = {department[p] for p in worse_mortality}
    planted_rate = mortality(lambda p: p in worse_mortality)
    peer_rate = mortality(lambda p: p not in worse_mortality and department[p] in departments)
    assert planted_rate / peer_rate > 1.5


def test_planted_units_are_used_by_admissions(export: Any) -> None:
    _, resources = export
    used = Counter(a["location"][0]["location"]["reference"] for a in admissions_of(resources))

    assert all(used[f"Location/{unit.location_id}"] > 100 for unit in planted_outliers(SEED).units)


def test_cli_writes_the_export(tmp_path: Path) -> None:
    from medgov.interfaces.cli.main import app

    result = CliRunner().invoke(
        app, ["synth", "--patients", "50", "--seed", "2", "--out", str(tmp_path), "--workers", "1"]
    )

    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [f"{name}.ndjson" for name in RESOURCE_TYPES] + [PLANTED_FILE]
    )
    assert "in-hospital mortality" in result.output


def test_cli_rejects_a_bad_start_date(tmp_path: Path) -> None:
    from medgov.interfaces.cli.main import app

    result = CliRunner().invoke(app, ["synth", "--patients", "5", "--out", str(tmp_path), "--start", "2019-13-01"])

    assert result.exit_code == 2
    assert "--start must be a date" in result.output


def test_the_generator_imports_no_django() -> None:
    code = "import sys, medgov.analytics.synth; sys.exit(1 if any(m.startswith('django') for m in sys.modules) else 0)"

    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
