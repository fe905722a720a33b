from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "medgov.governance.staff"
    label = "staff"
    verbose_name = "Medical staff: credentials, privileges, OPPE/FPPE, peer review"
