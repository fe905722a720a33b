from django.apps import AppConfig


class EmergencyConfig(AppConfig):
    name = "medgov.governance.emergency"
    label = "emergency"
    verbose_name = "Emergency management"
