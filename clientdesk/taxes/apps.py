from django.apps import AppConfig


class TaxesConfig(AppConfig):
    name = "clientdesk.taxes"
    label = "taxes"
    verbose_name = "Taxes"
