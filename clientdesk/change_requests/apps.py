from django.apps import AppConfig


class ChangeRequestsConfig(AppConfig):
    name = "clientdesk.change_requests"
    label = "change_requests"
    verbose_name = "Change requests"
