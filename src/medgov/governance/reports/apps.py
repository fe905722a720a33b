from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "medgov.governance.reports"
    label = "reports"
    verbose_name = "Board reports"
