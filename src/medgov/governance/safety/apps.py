from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "medgov.governance.safety"
    label = "safety"
    verbose_name = "Patient safety"
