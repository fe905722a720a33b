from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "medgov.governance.core"
    label = "core"
    verbose_name = "Core"
