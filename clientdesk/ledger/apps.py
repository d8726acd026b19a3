from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "clientdesk.ledger"
    label = "ledger"
    verbose_name = "Ledger"
