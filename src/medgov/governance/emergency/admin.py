from django.contrib import admin

from medgov.governance.emergency.models import Activation


@admin.register(Activation)
class ActivationAdmin(admin.ModelAdmin[Activation]):
    list_display = ("title", "activated_at", "closed_at")
