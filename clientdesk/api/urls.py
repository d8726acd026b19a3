"""``/api/v1/``: the API, its OpenAPI document (``openapi.json``) and docs page (``docs``)."""

from django.urls import path

from .api import api

urlpatterns = [path("api/v1/", api.urls)]
