"""A synthetic multi-hospital system written as FHIR R4 Bulk Data NDJSON.

Three hospitals with departments, units (ICUs among them), practitioners with valid NPIs, and adult patients
with demographics, payers, chronic conditions, inpatient admissions (ICD-10-CM case mix, ICU stays, devices,
medicines, hospital-acquired conditions, deaths and readmissions driven by age and comorbidity), emergency
visits with 72-hour returns, and outpatient visits with blood pressure and HbA1c results. A small, documented set
of practitioners and units is planted as worse than its peers, one unit with a step change part-way through;
``planted_outliers`` names them and ``generate`` writes them to ``planted.json`` beside the data.

Usage: ``generate(SynthConfig(patients=10_000, seed=1), Path("var/synth"))``.
"""

from medgov.analytics.synth.generator import PLANTED_FILE, SynthConfig, SynthSummary, generate
from medgov.analytics.synth.npi import is_valid_npi, npi_check_digit
from medgov.analytics.synth.structure import (
    Effects,
    PlantedOutliers,
    PlantedPractitioner,
    PlantedUnit,
    planted_outliers,
)

__all__ = [
    "PLANTED_FILE",
    "Effects",
    "PlantedOutliers",
    "PlantedPractitioner",
    "PlantedUnit",
    "SynthConfig",
    "SynthSummary",
    "generate",
    "is_valid_npi",
    "npi_check_digit",
    "planted_outliers",
]
