"""Raw data views for superusers. Customer changes go through the actions (portal, staff
console), so customers are read-only here; software levels are reference data."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Customer, SoftwareLevel


@admin.register(SoftwareLevel)
class SoftwareLevelAdmin(admin.ModelAdmin[SoftwareLevel]):
    list_display = ["label", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_display_links = ["label"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin[Customer]):
    list_display = ["client_id", "display_name", "kind", "status", "country", "currency"]
    search_fields = ["display_name", "legal_name"]
    list_filter = ["kind", "status"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
