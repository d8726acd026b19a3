"""The "choose the new owner" form of an ownership transfer, shared by the portal (the owner)
and the staff console (a manager, who also gives a reason)."""

from __future__ import annotations

from typing import Any

from django import forms

from clientdesk.customers.models import Contact


class NewOwnerForm(forms.Form):
    """One radio per candidate (``lifecycle.actions.transfer_candidates``); a forged id that is
    not among them is an "invalid choice", answered next to the field."""

    new_owner = forms.TypedChoiceField(
        label="New owner",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose who becomes the owner.",
            "invalid_choice": "Choose a contact from the list: the new owner must be a contact "
            "of this account who signs in to the portal.",
        },
    )

    def __init__(self, *args: Any, candidates: list[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["new_owner"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(c.pk, candidate_label(c)) for c in candidates]


def candidate_label(contact: Contact) -> str:
    email = contact.user.email if contact.user is not None else contact.email
    return f"{contact.full_name} — {email} ({contact.get_role_display()})"
