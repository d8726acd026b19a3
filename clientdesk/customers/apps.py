from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "clientdesk.customers"
    label = "customers"
    verbose_name = "Customers"
