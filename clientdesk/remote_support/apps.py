from django.apps import AppConfig


class RemoteSupportConfig(AppConfig):
    name = "clientdesk.remote_support"
    label = "remote_support"
    verbose_name = "Remote support (Login As)"
