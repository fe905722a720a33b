from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from medgov.governance.core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ("occurred_at", "actor_label", "action", "object_type", "object_id", "request_id")
    list_filter = ("action", "object_type", "is_read")
    search_fields = ("object_repr", "object_id", "actor_label")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
