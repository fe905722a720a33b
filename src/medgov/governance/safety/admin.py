"""Only reference data is administered here. Events, RCAs and reviews are deliberately not registered: the
admin site would show an identity-protected reporter to administrators, who are not the safety team."""

from django.contrib import admin

from medgov.governance.safety.models import Holiday, Unit


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin[Unit]):
    list_display = ("code", "name", "hospital", "manager", "warehouse_location_id", "is_active")
    search_fields = ("code", "name")


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin[Holiday]):
    list_display = ("date", "name")
