"""Comorbidity indices from diagnosis codes: Charlson, Elixhauser (Quan 2005 ICD-10) and AHRQ Elixhauser Refined.

All functions are set-based: they take a long table with one row per (patient or encounter id, ICD-10 code),
match every distinct code once with pandas joins and return one row per id, sorted by id. Ids whose codes match
nothing still get a row of zeros. Codes are normalised before matching: upper case, dots and spaces removed.

The code maps and weights are data files in ``statistics/data`` (see its README for their sources).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd

CHARLSON_HIERARCHY: tuple[tuple[str, str], ...] = (("mld", "msld"), ("diab", "diabwc"), ("canc", "metacanc"))
"""(milder, more severe) Charlson pairs: with the hierarchy the milder flag is zeroed when the severe one is set."""

ELIXHAUSER_HIERARCHY: tuple[tuple[str, str], ...] = (
    ("hypunc", "hypc"),
    ("diabunc", "diabc"),
    ("solidtum", "metacanc"),
)
"""(milder, more severe) Elixhauser pairs, as in R ``comorbidity`` with ``assign0 = TRUE``."""

CMR_HIERARCHY: tuple[tuple[str, str], ...] = (
    ("DIAB_UNCX", "DIAB_CX"),
    ("HTN_UNCX", "HTN_CX"),
    ("CANCER_SOLID", "CANCER_METS"),
    ("CANCER_NSITU", "CANCER_METS"),
    ("CANCER_NSITU", "CANCER_SOLID"),
)
"""AHRQ CMR hierarchy (CMR_Mapping_Program_v2023-1.sas): the first flag is zeroed when the second is set.
Metastatic cancer does not remove lymphoma or leukaemia."""

CMR_POA_HIERARCHY: tuple[tuple[str, str], ...] = (("LIVER_MLD", "LIVER_SEV"), ("RENLFL_MOD", "RENLFL_SEV"))
"""AHRQ CMR hierarchy applied only when present-on-admission data are available."""

CmrWeightsVersion = Literal["v2022_1", "v2023_1", "v2026_1"]

_DATA = "data"
_POA_YES = frozenset({"Y", "W"})


# --- Quan 2005 ICD-10 Charlson and Elixhauser ----------------------------------------------------------------


def charlson(
    diagnoses: pd.DataFrame,
    *,
    id_column: str = "id",
    code_column: str = "code",
    apply_hierarchy: bool = False,
) -> pd.DataFrame:
    """Charlson comorbidity flags and scores from ICD-10 codes (Quan 2005 coding).

    A category is flagged when any of the id's codes starts with one of its prefixes (Quan et al., Med Care
    2005;43:1130-9, table 1, as coded by R ``comorbidity``). With ``apply_hierarchy`` the milder category of
    each pair in :data:`CHARLSON_HIERARCHY` is zeroed when the severe one is present (R ``assign0 = TRUE``).

    Columns: ``id_column``; the 17 flags (0/1) ``mi, chf, pvd, cevd, dementia, cpd, rheumd, pud, mld, diab,
    diabwc, hp, rend, canc, msld, metacanc, aids``; ``score_unweighted`` (number of flags);
    ``score_charlson`` = sum of flags x original weights (Charlson et al., J Chronic Dis 1987;40:373-83);
    ``score_quan`` = sum of flags x Quan 2011 updated weights (Am J Epidemiol 2011;173:676-82).
    """
    return _quan_index(diagnoses, "charlson", id_column, code_column, CHARLSON_HIERARCHY if apply_hierarchy else ())


def elixhauser(
    diagnoses: pd.DataFrame,
    *,
    id_column: str = "id",
    code_column: str = "code",
    apply_hierarchy: bool = False,
) -> pd.DataFrame:
    """Elixhauser comorbidity flags and scores from ICD-10 codes (Quan 2005 coding, 31 categories).

    Prefix matching as in :func:`charlson`; with ``apply_hierarchy`` the pairs in :data:`ELIXHAUSER_HIERARCHY`
    (uncomplicated/complicated hypertension and diabetes, solid tumour/metastatic cancer) keep only the severe
    flag. Columns: ``id_column``; the 31 flags ``chf, carit, valv, pcd, pvd, hypunc, hypc, para, ond, cpd,
    diabunc, diabc, hypothy, rf, ld, pud, aids, lymph, metacanc, solidtum, rheumd, coag, obes, wloss, fed,
    blane, dane, alcohol, drug, psycho, depre``; ``score_unweighted``; ``score_vw`` (van Walraven et al., Med
    Care 2009;47:626-33) and ``score_swiss`` (Swiss weights as in R ``comorbidity``).
    """
    return _quan_index(diagnoses, "elixhauser", id_column, code_column, ELIXHAUSER_HIERARCHY if apply_hierarchy else ())


def _quan_index(
    diagnoses: pd.DataFrame,
    index: Literal["charlson", "elixhauser"],
    id_column: str,
    code_column: str,
    hierarchy: Sequence[tuple[str, str]],
) -> pd.DataFrame:
    _require_columns(diagnoses, id_column, code_column)
    prefixes: dict[str, list[str]] = _quan_maps()[index]
    categories = list(prefixes)
    codes = _distinct_codes(diagnoses, id_column, code_column)
    table = pd.DataFrame(
        [(prefix, category) for category, items in prefixes.items() for prefix in items],
        columns=["prefix", "category"],
    )
    hits = []
    for length in sorted(set(table["prefix"].str.len())):
        of_length = table[table["prefix"].str.len() == length]
        keyed = codes.assign(prefix=codes["code"].str[:length])
        hits.append(keyed.merge(of_length, on="prefix")[["id", "category"]])
    flags = _flag_matrix(codes["id"], pd.concat(hits, ignore_index=True), categories)
    for milder, severe in hierarchy:
        flags.loc[flags[severe] == 1, milder] = 0
    result = flags.copy()
    result["score_unweighted"] = flags.sum(axis=1)
    for name, weights in _comorbidity_weights()[index].items():
        vector = np.array([weights[category] for category in categories], dtype=np.int64)
        result[f"score_{name}"] = flags.to_numpy(dtype=np.int64) @ vector
    return result.rename_axis(id_column).reset_index()


# --- AHRQ Elixhauser Comorbidity Software Refined (CMR) ---------------------------------------------------


def ahrq_elixhauser_refined(
    diagnoses: pd.DataFrame,
    *,
    id_column: str = "id",
    code_column: str = "code",
    poa_column: str | None = "poa",
    principal_column: str | None = None,
    assume_present_on_admission: bool = False,
    poa_exempt_codes: Collection[str] = frozenset(),
    weights_version: CmrWeightsVersion = "v2026_1",
) -> pd.DataFrame:
    """AHRQ Elixhauser Comorbidity Software Refined for ICD-10-CM v2026.1: 38 flags and two indices.

    Logic of ``CMR_Mapping_Program`` (v2023-1, unchanged in v2026-1) on the v2026.1 code table:

    * Only secondary diagnoses count: rows with ``principal_column`` true are dropped (without that column
      every row is taken as secondary).
    * The 20 POA-neutral measures count whatever the present-on-admission indicator; the 19 POA-dependent ones
      (including CBVD_POA and CBVD_SQLA) count only when the code's POA is ``Y`` or ``W`` or the code is in
      ``poa_exempt_codes``. A code that sets several measures (e.g. I11.0: HTN_CX and HF) is judged per measure.
    * ``CBVD = CBVD_POA or (not CBVD_NPOA and CBVD_SQLA)``, where CBVD_NPOA is a CBVD_POA code not present on
      admission.
    * Hierarchy: :data:`CMR_HIERARCHY`, and with POA data :data:`CMR_POA_HIERARCHY`.
    * Without POA data (``poa_column=None``) the POA-dependent flags and both indices are missing (``<NA>``),
      as the SAS program does with ``POA=0``; ``assume_present_on_admission=True`` instead treats every code as
      present on admission.
    * ``mortality_index = sum_k mw_k CMR_k`` and ``readmission_index = sum_k rw_k CMR_k`` with the AHRQ weights
      of ``weights_version`` (``CMR_Index_Program``).

    AHRQ's POA-exempt lists are not shipped with this package (see ``data/README.md``); pass them as
    ``poa_exempt_codes`` (codes without dots).

    Columns: ``id_column``; the 38 measures (``AIDS`` ... ``WGHTLOSS``, nullable integers 0/1);
    ``mortality_index`` and ``readmission_index`` (nullable integers).
    """
    _require_columns(diagnoses, id_column, code_column, *(c for c in (poa_column, principal_column) if c is not None))
    if weights_version not in _cmr()["index_weights"]:
        raise ValueError(f"weights_version must be one of {sorted(_cmr()['index_weights'])}, not {weights_version!r}")
    measures: dict[str, dict[str, Any]] = _cmr()["measures"]
    poa_dependent = {name for name, spec in measures.items() if spec["uses_poa"]} | {"CBVD_POA", "CBVD_SQLA"}
    has_poa = poa_column is not None or assume_present_on_admission

    rows = diagnoses
    if principal_column is not None:
        rows = rows[~rows[principal_column].fillna(False).astype(bool)]
    frame = pd.DataFrame(
        {
            "id": rows[id_column].to_numpy(),
            "code": _normalise(rows[code_column]).to_numpy(),
            "poa": (
                rows[poa_column].astype("string").str.strip().str.upper().to_numpy()
                if poa_column is not None
                else pd.array([pd.NA] * len(rows), dtype="string")
            ),
        }
    )
    exempt = {_normalise_one(code) for code in poa_exempt_codes}
    frame["poa_ok"] = (
        True
        if assume_present_on_admission and poa_column is None
        else frame["poa"].isin(_POA_YES).fillna(False).astype(bool) | frame["code"].isin(exempt)
    )
    ids = frame["id"].dropna().drop_duplicates()
    hits = frame.merge(_cmr_table(), on="code")
    hits = hits.assign(measure=hits["measures"].str.split(";")).explode("measure")
    counts = ~hits["measure"].isin(poa_dependent) | hits["poa_ok"]
    flags = _flag_matrix(ids, hits.loc[counts, ["id", "measure"]].rename(columns={"measure": "category"}), [])
    for column in [*measures, "CBVD_POA", "CBVD_SQLA"]:
        if column not in flags:
            flags[column] = 0
    not_on_admission = hits.loc[(hits["measure"] == "CBVD_POA") & ~hits["poa_ok"], "id"].unique()
    cbvd_npoa = flags.index.isin(not_on_admission)
    flags["CBVD"] = ((flags["CBVD_POA"] == 1) | (~cbvd_npoa & (flags["CBVD_SQLA"] == 1))).astype(np.int64)
    flags = flags[list(measures)]
    for milder, severe in CMR_HIERARCHY + (CMR_POA_HIERARCHY if has_poa else ()):
        flags.loc[flags[severe] == 1, milder] = 0

    result = flags.astype("Int64")
    if not has_poa:
        result.loc[:, sorted(set(measures) & poa_dependent)] = pd.NA
    weights = _cmr()["index_weights"][weights_version]
    indices = {
        index_name: (result[list(measures)] * pd.Series(weights[key], dtype="Int64")[list(measures)])
        .sum(axis=1, skipna=False)
        .astype("Int64")
        for index_name, key in (("mortality_index", "mortality"), ("readmission_index", "readmission"))
    }
    result = result.assign(**indices)
    return result.rename_axis(id_column).reset_index()


# --- shared helpers -------------------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, *columns: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"diagnoses is missing column(s) {missing}; it has {list(frame.columns)}")


def _normalise(codes: pd.Series[Any]) -> pd.Series[Any]:
    return codes.astype("string").str.upper().str.replace(r"[.\s]", "", regex=True)


def _normalise_one(code: str) -> str:
    return code.upper().replace(".", "").replace(" ", "")


def _distinct_codes(diagnoses: pd.DataFrame, id_column: str, code_column: str) -> pd.DataFrame:
    codes = pd.DataFrame({"id": diagnoses[id_column].to_numpy(), "code": _normalise(diagnoses[code_column])})
    return codes.dropna(subset=["id"]).drop_duplicates()


def _flag_matrix(ids: pd.Series[Any], hits: pd.DataFrame, categories: Sequence[str]) -> pd.DataFrame:
    """0/1 matrix, one row per distinct id (sorted), one column per category (in the given order, then others)."""
    all_ids = pd.Index(ids.dropna().unique()).sort_values()
    present = hits.drop_duplicates().assign(flag=1)
    matrix = present.pivot_table(index="id", columns="category", values="flag", aggfunc="max", fill_value=0)
    extra = [column for column in matrix.columns if column not in categories]
    matrix = matrix.reindex(index=all_ids, columns=[*categories, *extra], fill_value=0)
    matrix = matrix.fillna(0).astype(np.int64)
    matrix.columns.name = None
    return matrix


def _load_json(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(_DATA, name).read_text(encoding="utf-8"))


@cache
def _quan_maps() -> Mapping[str, dict[str, list[str]]]:
    data = _load_json("quan2005_icd10_maps.json")
    return {"charlson": data["charlson"], "elixhauser": data["elixhauser"]}


@cache
def _comorbidity_weights() -> Mapping[str, dict[str, dict[str, int]]]:
    data = _load_json("comorbidity_weights.json")
    return {"charlson": data["charlson"], "elixhauser": data["elixhauser"]}


@cache
def _cmr() -> dict[str, Any]:
    data: dict[str, Any] = _load_json("ahrq_cmr_measures_and_weights.json")
    return data


@cache
def _cmr_table() -> pd.DataFrame:
    lines = resources.files(__package__).joinpath(_DATA, "ahrq_cmr_v2026_1_dx_to_comorb.csv").read_text("utf-8")
    rows = [line.split(",", 1) for line in lines.splitlines() if line and not line.startswith("#")]
    return pd.DataFrame(rows[1:], columns=rows[0])
