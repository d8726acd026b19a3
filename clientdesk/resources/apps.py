from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "clientdesk.resources"
    label = "resources"
    verbose_name = "Resources library"
