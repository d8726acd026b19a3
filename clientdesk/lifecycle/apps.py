from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "clientdesk.lifecycle"
    label = "lifecycle"
    verbose_name = "Account lifecycle"
