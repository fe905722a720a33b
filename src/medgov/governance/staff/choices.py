"""States and code lists of the medical staff office.

Sources: The Joint Commission Medical Staff (MS) chapter (MS.06.01.x privileging, MS.07.01.x appointment,
MS.08.01.01 FPPE, MS.08.01.03 OPPE, EM.02.02.13 disaster privileges); NCQA Credentialing Standards CR 3;
CMS Conditions of Participation 42 CFR 482.22.
"""

from django.db import models


class AppointmentCategory(models.TextChoices):
    # Staff categories as most medical staff bylaws name them.
    ACTIVE = "active", "Active"
    PROVISIONAL = "provisional", "Provisional"
    COURTESY = "courtesy", "Courtesy"
    CONSULTING = "consulting", "Consulting"
    AFFILIATE = "affiliate", "Affiliate"
    TELEMEDICINE = "telemedicine", "Telemedicine"


class PractitionerStatus(models.TextChoices):
    APPLICANT = "applicant", "Applicant"
    ACTIVE = "active", "Active"
    SUSPENDED_CREDENTIAL_LAPSE = "suspended_credential_lapse", "Suspended — credential lapse"
    INACTIVE = "inactive", "Inactive"


class CredentialKind(models.TextChoices):
    STATE_LICENCE = "state_licence", "State licence"
    DEA_REGISTRATION = "dea_registration", "DEA registration"
    BOARD_CERTIFICATION = "board_certification", "Board certification"
    EDUCATION = "education", "Education"
    TRAINING = "training", "Training (residency, fellowship)"
    MALPRACTICE_COVERAGE = "malpractice_coverage", "Malpractice coverage"
    MALPRACTICE_CLAIMS = "malpractice_claims", "Malpractice claims history"
    NPDB_QUERY = "npdb_query", "NPDB query"
    OIG_EXCLUSION = "oig_exclusion", "OIG exclusion screening (LEIE)"
    SAM_EXCLUSION = "sam_exclusion", "SAM exclusion screening"


# Verified once: education and completed training do not change, so their verification never goes stale
# (NCQA CR 3: education and training are verified at initial credentialing only).
VERIFIED_ONCE_KINDS = frozenset({CredentialKind.EDUCATION, CredentialKind.TRAINING})

# Every practitioner with privileges needs these on file (NCQA CR 3; 42 CFR 482.22(a); NPDB query required
# by 45 CFR 60.17 at appointment and every two years).
REQUIRED_KINDS = (
    CredentialKind.STATE_LICENCE,
    CredentialKind.MALPRACTICE_COVERAGE,
    CredentialKind.NPDB_QUERY,
    CredentialKind.OIG_EXCLUSION,
    CredentialKind.SAM_EXCLUSION,
)


class CredentialStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"
    SUPERSEDED = "superseded", "Superseded"


class VerificationResult(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed, nothing adverse"
    ADVERSE = "adverse", "Confirmed with adverse findings (report, claim, exclusion, action)"
    NOT_CONFIRMED = "not_confirmed", "Could not be confirmed"


class PrivilegeKind(models.TextChoices):
    CORE = "core", "Core"
    SPECIAL = "special", "Special (criteria beyond the core)"


class RequestKind(models.TextChoices):
    INITIAL = "initial", "Initial appointment"
    ADDED_PRIVILEGE = "added_privilege", "Added privilege"
    REAPPOINTMENT = "reappointment", "Reappointment"


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", "Awaiting department chief"
    CHIEF_RECOMMENDED = "chief_recommended", "Awaiting credentials committee"
    CREDENTIALS_COMMITTEE_APPROVED = "credentials_committee_approved", "Awaiting medical executive committee"
    MEC_APPROVED = "mec_approved", "Awaiting board"
    GRANTED = "granted", "Granted by the board"
    DENIED = "denied", "Denied"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ReviewStep(models.TextChoices):
    """The approval path of MS.06.01.07 and 482.22(a): each step is recorded on the request."""

    DEPARTMENT_CHIEF = "department_chief", "Department chief recommendation"
    CREDENTIALS_COMMITTEE = "credentials_committee", "Credentials committee"
    MEDICAL_EXECUTIVE_COMMITTEE = "medical_executive_committee", "Medical executive committee"
    BOARD = "board", "Governing board"


class StepOutcome(models.TextChoices):
    APPROVE = "approve", "Recommend / approve"
    DENY = "deny", "Deny"


class GrantKind(models.TextChoices):
    REGULAR = "regular", "Regular"
    TEMPORARY = "temporary", "Temporary"
    DISASTER = "disaster", "Disaster"


class TemporaryReason(models.TextChoices):
    """The only two permitted reasons for temporary privileges (TJC MS.06.01.13)."""

    PATIENT_CARE_NEED = "patient_care_need", "Important patient care, treatment or service need"
    PENDING_CLEAN_APPLICATION = "pending_clean_application", "Complete, clean application awaiting approval"


class GrantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED_CREDENTIAL_LAPSE = "suspended_credential_lapse", "Suspended — credential lapse"
    LIMITED = "limited", "Limited"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    ENDED = "ended", "Ended"


class DisasterContinuation(models.TextChoices):
    """Whether disaster privileges continue, decided within 72 hours of the volunteer's arrival (EM.02.02.13 EP 7)."""

    CONTINUE = "continue", "Continue the disaster privileges"
    END = "end", "End the disaster privileges"


class FppeTrigger(models.TextChoices):
    NEW_APPLICANT = "new_applicant", "New applicant"
    NEW_PRIVILEGE = "new_privilege", "Newly granted privilege"
    FOR_CAUSE_OPPE = "for_cause_oppe", "For cause: OPPE"
    FOR_CAUSE_SAFETY_EVENT = "for_cause_safety_event", "For cause: safety event"


class FppeMethod(models.TextChoices):
    CHART_REVIEW = "chart_review", "Chart review"
    PROCTORING = "proctoring", "Proctoring"
    SIMULATION = "simulation", "Simulation"
    EXTERNAL_REVIEW = "external_review", "External review"


class FppeStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED_SATISFACTORY = "completed_satisfactory", "Completed: competence confirmed"
    COMPLETED_UNSATISFACTORY = "completed_unsatisfactory", "Completed: concerns remain"


class OppeDecision(models.TextChoices):
    CONTINUE = "continue", "Continue privileges"
    LIMIT = "limit", "Limit privileges"
    REVOKE = "revoke", "Revoke privileges"
    OPEN_FPPE = "open_fppe", "Open a focused evaluation (FPPE)"


class OppeStatus(models.TextChoices):
    AWAITING_DECISION = "awaiting_decision", "Awaiting the department chief's decision"
    DECIDED = "decided", "Decided"


class IndicatorKind(models.TextChoices):
    VOLUME = "volume", "Volume"
    OBSERVED_EXPECTED = "observed_expected", "Observed / expected ratio"
    COUNT = "count", "Count"
    DEPARTMENT = "department", "Department-chosen indicator"


class FunnelPosition(models.TextChoices):
    WITHIN = "within", "Within the department's funnel"
    ABOVE = "above", "Above the upper limit"
    BELOW = "below", "Below the lower limit"
    NO_CASES = "no_cases", "No cases"
    NOT_APPLICABLE = "not_applicable", "Not plotted"


class ReferralSource(models.TextChoices):
    SAFETY_EVENT = "safety_event", "Safety event"
    SIGNAL = "signal", "Statistical signal"
    TRIGGER = "trigger", "Screening trigger"


class PeerReviewStatus(models.TextChoices):
    REFERRED = "referred", "Referred"
    UNDER_REVIEW = "under_review", "Under review"
    DETERMINED = "determined", "Determined"


class CareRating(models.TextChoices):
    APPROPRIATE = "appropriate", "Appropriate"
    QUESTIONABLE = "questionable", "Questionable"
    NOT_APPROPRIATE = "not_appropriate", "Not appropriate"


class OutcomeRating(models.TextChoices):
    NO_HARM = "no_harm", "No harm"
    TEMPORARY_HARM = "temporary_harm", "Temporary harm"
    PERMANENT_HARM = "permanent_harm", "Permanent harm"
    DEATH = "death", "Death"


class DocumentationRating(models.TextChoices):
    ADEQUATE = "adequate", "Adequate"
    DEFICIENT = "deficient", "Deficient"


class PeerReviewDetermination(models.TextChoices):
    NO_FURTHER_REVIEW = "no_further_review", "No further review"
    EDUCATIONAL_LETTER = "educational_letter", "Educational letter"
    COLLEGIAL_INTERVENTION = "collegial_intervention", "Collegial intervention"
    PERFORMANCE_IMPROVEMENT_PLAN = "performance_improvement_plan", "Performance improvement plan"


class ExpirableBucket(models.TextChoices):
    MISSING = "missing", "Missing"
    EXPIRED = "expired", "Expired"
    EXPIRING = "expiring", "Expiring"
    UNVERIFIED = "unverified", "Not verified"
