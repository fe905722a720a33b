from django.db import models


class Role(models.TextChoices):
    """The roles of the CMO's office (ARCHITECTURE.md "Who uses it"). Each is a Django group."""

    CMO = "cmo", "CMO"
    QUALITY_SAFETY = "quality_safety", "Quality and safety officer"
    MEDICAL_STAFF_OFFICE = "medical_staff_office", "Medical staff office"
    DEPARTMENT_CHIEF = "department_chief", "Department chief"
    CLINICIAN = "clinician", "Clinician"
    BOARD_MEMBER = "board_member", "Board member"
    AUDITOR = "auditor", "Auditor"
    ADMINISTRATOR = "administrator", "Administrator"
