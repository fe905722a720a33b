from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "medgov.interfaces.web"
    label = "web"
    verbose_name = "Web interface"
