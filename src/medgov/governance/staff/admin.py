from django.contrib import admin
from django.http import HttpRequest

from medgov.governance.staff.models import (
    Credential,
    Department,
    DepartmentIndicator,
    PrivilegeItem,
    StaffPolicy,
)

# Read and configure only: every state change goes through services.py so it is audited.


@admin.register(StaffPolicy)
class StaffPolicyAdmin(admin.ModelAdmin[StaffPolicy]):
    list_display = ("__str__", "reappointment_months", "verification_window_days", "fppe_default_days")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
    list_display = ("name", "code", "hospital", "chief")


@admin.register(PrivilegeItem)
class PrivilegeItemAdmin(admin.ModelAdmin[PrivilegeItem]):
    list_display = ("name", "department", "kind", "involves_controlled_substances", "is_active")
    list_filter = ("department", "kind")


@admin.register(DepartmentIndicator)
class DepartmentIndicatorAdmin(admin.ModelAdmin[DepartmentIndicator]):
    list_display = ("name", "department", "measure_id")


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin[Credential]):
    list_display = ("practitioner", "kind", "number", "expires_on", "verified_on", "status")
    list_filter = ("kind", "status")
    readonly_fields = [field.name for field in Credential._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
