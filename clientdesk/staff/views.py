"""Staff console pages."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from .mixins import StaffRequiredMixin


class StaffHomeView(StaffRequiredMixin, TemplateView):
    """The console's start page: find a customer."""

    template_name = "staff/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs)
