"""Staff console routes: lists (included by staff/urls.py, in the staff namespace)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
