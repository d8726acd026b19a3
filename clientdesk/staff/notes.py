"""A customer's staff notes in the console (the customer 360's Notes tab): the list (pinned
first, then newest) and the form to add one. Every staff role may read and write notes;
customers never see them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from clientdesk.core.errors import DomainError
from clientdesk.customers import notes
from clientdesk.customers.models import Note

from .customer360 import CustomerFrameMixin

NOTES_SHOWN = 100


class NoteForm(forms.Form):
    kind = forms.ChoiceField(label="Type", choices=Note.Kind.choices)
    body = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        help_text="Why this was done or recorded, e.g. the client's request by phone.",
    )
    authorised_by = forms.ModelChoiceField(
        label="Authorised by",
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True).order_by("email"),
        required=False,
        empty_label="Me",
    )
    pinned = forms.BooleanField(label="Pin to the top", required=False)


class NotesView(CustomerFrameMixin, View):
    template_name = "staff/notes.html"
    frame_tab = "notes"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page(NoteForm())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = NoteForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        data = form.cleaned_data
        try:
            notes.add_note(
                self.customer,
                kind=data["kind"],
                body=data["body"],
                reason=data["reason"],
                authorised_by=data["authorised_by"],
                pinned=data["pinned"],
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, status=400)
        messages.success(request, "The note was recorded.")
        return HttpResponseRedirect(reverse("staff:notes", args=[self.customer.number]))

    def page(self, form: NoteForm, *, status: int = 200) -> TemplateResponse:
        context = self.frame(form=form, notes=notes.notes_for(self.customer, limit=NOTES_SHOWN))
        context["more_notes"] = self.note_count > NOTES_SHOWN
        return TemplateResponse(self.request, self.template_name, context, status=status)

    @property
    def note_count(self) -> int:
        return int(getattr(self.customer, "note_count", 0) or 0)
