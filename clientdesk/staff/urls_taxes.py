"""Staff console routes: taxes (included by staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
