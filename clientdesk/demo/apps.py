from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "clientdesk.demo"
    label = "demo"
    verbose_name = "Demo data"
