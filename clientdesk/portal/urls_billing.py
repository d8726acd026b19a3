"""Routes of urls_billing (included by the interface's urls.py). Filled in by its feature."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
