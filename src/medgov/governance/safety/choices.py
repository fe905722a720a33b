"""States and code lists of patient-safety events. Standard lists cite their source."""

from __future__ import annotations

from django.db import models


class EventStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    RCA = "rca", "Root-cause analysis"
    ACTIONS_IN_PROGRESS = "actions_in_progress", "Actions in progress"
    CLOSED = "closed", "Closed"


class EventClass(models.TextChoices):
    # AHRQ Common Formats Hospital v2.0: incident, near miss, unsafe condition.
    INCIDENT = "incident", "Incident (reached the patient)"
    NEAR_MISS = "near_miss", "Near miss (did not reach the patient)"
    UNSAFE_CONDITION = "unsafe_condition", "Unsafe condition"


class EventCategory(models.TextChoices):
    # AHRQ Common Formats for Event Reporting - Hospital v2.0, event-specific categories. Health IT is recorded
    # separately as a contributing factor (SafetyEvent.health_it_contributed), as the Common Formats do.
    BLOOD = "blood", "Blood or blood product"
    DEVICE = "device", "Device or medical/surgical supply"
    FALL = "fall", "Fall"
    MEDICATION = "medication", "Medication or other substance"
    PERINATAL = "perinatal", "Perinatal"
    PRESSURE_INJURY = "pressure_injury", "Pressure injury"
    SURGERY = "surgery", "Surgery or invasive procedure"
    ANAESTHESIA = "anaesthesia", "Anaesthesia"
    VENOUS_THROMBOEMBOLISM = "vte", "Venous thromboembolism"
    OTHER = "other", "Other"


class HarmLevel(models.TextChoices):
    # AHRQ Common Formats Harm Scale v1.2.
    DEATH = "death", "Death"
    SEVERE = "severe", "Severe harm"
    MODERATE = "moderate", "Moderate harm"
    MILD = "mild", "Mild harm"
    NO_HARM = "no_harm", "No harm"
    UNKNOWN = "unknown", "Unknown"


class NccMerpCategory(models.TextChoices):
    # NCC MERP Index for Categorizing Medication Errors (2001).
    A = "A", "A: circumstances or events that have the capacity to cause error"
    B = "B", "B: an error occurred but did not reach the patient"
    C = "C", "C: reached the patient, did not cause harm"
    D = "D", "D: reached the patient, required monitoring to confirm no harm"
    E = "E", "E: temporary harm, required intervention"
    F = "F", "F: temporary harm, initial or prolonged hospitalisation"
    G = "G", "G: permanent harm"
    H = "H", "H: intervention required to sustain life"
    I = "I", "I: contributed to or resulted in death"  # noqa: E741 - the category's own name


class SacSeverity(models.TextChoices):
    # VA National Center for Patient Safety, Safety Assessment Code matrix.
    CATASTROPHIC = "catastrophic", "Catastrophic"
    MAJOR = "major", "Major"
    MODERATE = "moderate", "Moderate"
    MINOR = "minor", "Minor"


class SacProbability(models.TextChoices):
    # VA NCPS Safety Assessment Code matrix.
    FREQUENT = "frequent", "Frequent"
    OCCASIONAL = "occasional", "Occasional"
    UNCOMMON = "uncommon", "Uncommon"
    REMOTE = "remote", "Remote"


class SentinelType(models.TextChoices):
    # The Joint Commission, Sentinel Event Policy (CAMH, chapter SE), events that are sentinel events
    # regardless of the patient's harm.
    SUICIDE = "suicide", "Suicide in a round-the-clock care setting or within 72 hours of discharge"
    INFANT_DEATH = "infant_death", "Unanticipated death of a full-term infant"
    INFANT_WRONG_FAMILY = "infant_wrong_family", "Discharge of an infant to the wrong family"
    ABDUCTION = "abduction", "Abduction of any patient receiving care, treatment or services"
    ELOPEMENT = "elopement", "Elopement leading to death, permanent harm or severe temporary harm"
    HAEMOLYTIC_TRANSFUSION = (
        "haemolytic_transfusion",
        "Haemolytic transfusion reaction (major blood group incompatibility)",
    )
    ASSAULT = "assault", "Rape, assault or homicide of a patient, staff member or visitor on site"
    WRONG_SITE_SURGERY = (
        "wrong_site",
        "Invasive procedure on the wrong patient, at the wrong site or the wrong procedure",
    )
    RETAINED_FOREIGN_OBJECT = "retained_object", "Unintended retention of a foreign object after a procedure"
    HYPERBILIRUBINAEMIA = "hyperbilirubinaemia", "Severe neonatal hyperbilirubinaemia (bilirubin > 30 mg/dL)"
    FLUOROSCOPY = (
        "fluoroscopy",
        "Prolonged fluoroscopy (> 1,500 rad) or radiotherapy to the wrong region or > 25% above dose",
    )
    FIRE = "fire", "Fire, flame, or unanticipated smoke, heat or flashes during patient care"
    MATERNAL_DEATH = "maternal_death", "Intrapartum maternal death"
    SEVERE_MATERNAL_MORBIDITY = "severe_maternal_morbidity", "Severe maternal morbidity"


class ActionStrength(models.TextChoices):
    # RCA2: Improving Root Cause Analyses and Actions to Prevent Harm (NPSF 2015), action hierarchy.
    STRONGER = "stronger", "Stronger (architectural, forcing functions, standardisation, simplification)"
    INTERMEDIATE = "intermediate", "Intermediate (checklists, redundancy, staffing, software enhancements)"
    WEAKER = "weaker", "Weaker (double checks, warnings, new policy, training)"


class ActionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    IMPLEMENTED = "implemented", "Implemented"


class RcaStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class ContributingFactorCategory(models.TextChoices):
    # RCA2 triage questions / VA NCPS triage cards.
    COMMUNICATION = "communication", "Communication"
    TRAINING = "training", "Training"
    FATIGUE_SCHEDULING = "fatigue_scheduling", "Fatigue and scheduling"
    ENVIRONMENT_EQUIPMENT = "environment_equipment", "Environment and equipment"
    RULES_POLICIES = "rules_policies", "Rules, policies and procedures"
    BARRIERS = "barriers", "Barriers"
    PATIENT = "patient", "Patient factors"
    HEALTH_IT = "health_it", "Health IT"


class BehaviourType(models.TextChoices):
    # Just Culture (Marx 2001; Outcome Engenuity algorithm).
    HUMAN_ERROR = "human_error", "Human error"
    AT_RISK = "at_risk", "At-risk behaviour"
    RECKLESS = "reckless", "Reckless behaviour"


class JustCultureResponse(models.TextChoices):
    CONSOLE = "console", "Console"
    COACH = "coach", "Coach"
    REMEDIAL = "remedial", "Remedial or disciplinary action"
