from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "medgov.governance.quality"
    label = "quality"
    verbose_name = "Quality measures and signals"
