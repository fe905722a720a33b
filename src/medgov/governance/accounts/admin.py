from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from medgov.governance.accounts.models import ApiToken, User


@admin.register(User)
class MedgovUserAdmin(UserAdmin[User]):
    list_display = ("username", "display_name", "email", "department", "is_active", "locked_until")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("medgov", {"fields": ("display_name", "department", "failed_login_count", "locked_until")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = ("digest", "prefix")
