from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "clientdesk.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the start-up checks)
