"""Routes of urls_login_as (included by the interface's urls.py). Filled in by its feature."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
