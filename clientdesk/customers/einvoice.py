"""Is a customer ready for Malaysian e-invoicing (LHDN MyInvois)? What is missing?

A buyer on an e-invoice needs a TIN, a registration (BRN for a business; NRIC, passport or
army ID for an individual), a legal name and address, a contact number and an email, and an
MSIC code with a business activity. SST and tourism tax numbers are optional ("not
registered" is valid).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from . import validators
from .models import Customer
from .sections import primary_email

REGISTRATION_SCHEMES = {"nric": "NRIC", "passport": "PASSPORT", "army": "ARMY"}


@dataclass(frozen=True)
class Readiness:
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing


def registration(customer: Customer) -> tuple[str, str]:
    """The (scheme, number) identifying the buyer: BRN from Business Details for a business,
    the identity document from Personal Details for an individual."""
    if customer.is_business:
        return ("BRN", customer.registration_number) if customer.registration_number else ("", "")
    scheme = REGISTRATION_SCHEMES.get(customer.id_type, "")
    return (scheme, customer.id_number) if scheme and customer.id_number else ("", "")


def readiness(customer: Customer) -> Readiness:
    missing: list[str] = []
    if not customer.tin:
        missing.append("Tax identification number (TIN)")
    else:
        try:
            validators.normalize_tin(customer.tin, kind=customer.kind)
        except ValidationError:
            missing.append("A TIN in the right form for this type of customer")
    if registration(customer) == ("", ""):
        missing.append(
            "Company registration number (Business Details)"
            if customer.is_business
            else "MyKad/NRIC, passport or army ID (Personal Details)"
        )
    if not customer.legal_name:
        missing.append("Legal name")
    if not (customer.legal_line1 and customer.legal_city and customer.country):
        missing.append("Registered address")
    if not customer.msic_code:
        missing.append("MSIC code")
    if not (customer.phone or customer.mobile):
        missing.append("Phone or mobile number (Contact Information)")
    if not (customer.einvoice_email or primary_email(customer)):
        missing.append("E-invoice email")
    return Readiness(tuple(missing))
