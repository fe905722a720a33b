"""FHIR R4 (4.0.1) facts the readers need: the resource types, and how a resource's version is ordered."""

from __future__ import annotations

from datetime import UTC, datetime

# The concrete resource types of FHIR R4 4.0.1 (https://hl7.org/fhir/R4/resourcelist.html).
RESOURCE_TYPES: frozenset[str] = frozenset(
    # One name per word keeps the list readable and diffable against the spec page.
    """
    Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse AuditEvent Basic
    Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement CarePlan CareTeam CatalogEntry
    ChargeItem ChargeItemDefinition Claim ClaimResponse ClinicalImpression CodeSystem Communication
    CommunicationRequest CompartmentDefinition Composition ConceptMap Condition Consent Contract Coverage
    CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric
    DeviceRequest DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis
    Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition Evidence
    EvidenceVariable ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal GraphDefinition Group
    GuidanceResponse HealthcareService ImagingStudy Immunization ImmunizationEvaluation
    ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice Library Linkage List Location Measure
    MeasureReport Media Medication MedicationAdministration MedicationDispense MedicationKnowledge
    MedicationRequest MedicationStatement MedicinalProduct MedicinalProductAuthorization
    MedicinalProductContraindication MedicinalProductIndication MedicinalProductIngredient
    MedicinalProductInteraction MedicinalProductManufactured MedicinalProductPackaged
    MedicinalProductPharmaceutical MedicinalProductUndesirableEffect MessageDefinition MessageHeader
    MolecularSequence NamingSystem NutritionOrder Observation ObservationDefinition OperationDefinition
    OperationOutcome Organization OrganizationAffiliation Parameters Patient PaymentNotice PaymentReconciliation
    Person PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire QuestionnaireResponse
    RelatedPerson RequestGroup ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject
    RiskAssessment RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen SpecimenDefinition
    StructureDefinition StructureMap Subscription Substance SubstanceNucleicAcid SubstancePolymer SubstanceProtein
    SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification SupplyDelivery SupplyRequest Task
    TerminologyCapabilities TestReport TestScript ValueSet VerificationResult VisionPrescription
    """.split()  # noqa: SIM905
)


def parse_instant(value: str) -> datetime:
    """Parse a FHIR ``instant`` (``meta.lastUpdated``) to an aware UTC datetime.

    FHIR requires a time zone on an instant; one without is read as UTC rather than rejected, because the
    ordering of versions is all it is used for here. Raises ``ValueError`` when it is not a date-time.
    """
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def compare_versions(
    last_updated: datetime | None,
    version_id: str | None,
    other_last_updated: datetime | None,
    other_version_id: str | None,
) -> int:
    """Order two versions of one resource: -1 older, 1 newer, 0 when the metadata cannot tell them apart.

    ``meta.lastUpdated`` decides when both carry it and they differ (FHIR R4 Meta: it changes whenever the
    version changes); otherwise ``meta.versionId``, numerically when both are integers (as servers usually
    assign them), else as text. Missing metadata on either side compares as equal, and the caller decides.
    """
    if last_updated is not None and other_last_updated is not None and last_updated != other_last_updated:
        return 1 if last_updated > other_last_updated else -1
    if version_id is not None and other_version_id is not None and version_id != other_version_id:
        if version_id.isdigit() and other_version_id.isdigit():
            return 1 if int(version_id) > int(other_version_id) else -1
        return 1 if version_id > other_version_id else -1
    return 0
