"""Checks and normalisers for profile values: Malaysian identity and tax numbers, phone
numbers, postcodes, states and free text.

Each ``normalize_*`` takes what a person typed and returns the stored form, or raises
``django.core.exceptions.ValidationError`` with a message that says what a valid value
looks like. They are plain functions so that forms, the API and imports share them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers
from django.core.exceptions import ValidationError
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.my import nric
from stdnum.sg import uen

from . import reference

# Bidirectional overrides and isolates can make "invoice.pdf" display as "fdp.eciovni":
# they have no place in a name or an address.
# Line and paragraph separators (U+2028/9) break single-line values the same way.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u2028\u2029"
)


# What right-to-left prose legitimately holds: marks and isolates, not overrides.
DIRECTION_MARKS = frozenset("\u200e\u200f\u061c\u2066\u2067\u2068\u2069")


def clean_text(value: str, *, multiline: bool = False, prose: bool = False) -> str:
    """NFC-normalise, trim, and refuse control characters and bidi overrides. ``prose``
    (long text such as an article) keeps direction marks and isolates, which Arabic or
    Hebrew text needs; overrides, which can disguise text, are refused everywhere."""
    value = unicodedata.normalize("NFC", value).strip()
    for char in value:
        if prose and char in DIRECTION_MARKS:
            continue
        if char in BIDI_CONTROLS:
            raise ValidationError(
                "Remove the invisible text-direction characters from this value.",
                code="bidi",
            )
        if unicodedata.category(char) == "Cc" and not (multiline and char in "\n\r\t"):
            raise ValidationError(
                "Remove the control characters (such as tabs or line breaks) from this value.",
                code="control",
            )
    return value


def clean_reason(reason: str, *, limit: int, required: str = "") -> str:
    """The reason an action records: clean text under ``limit`` characters; ``required`` is
    the message when it may not be empty. Refusals are ``DomainError`` on the field
    ``reason``, for the action to raise as they are."""
    from clientdesk.core.errors import DomainError, ErrorCode

    try:
        text = clean_text(reason or "")
    except ValidationError as exc:
        raise DomainError(ErrorCode.INVALID, exc.messages[0], field="reason") from None
    if required and not text:
        raise DomainError(ErrorCode.INVALID, required, field="reason")
    if len(text) > limit:
        raise DomainError(
            ErrorCode.INVALID, f"Keep the reason under {limit} characters.", field="reason"
        )
    return text


# --- identity documents -------------------------------------------------------------------


def normalize_nric(value: str) -> str:
    """Malaysian MyKad/NRIC: 12 digits YYMMDD-PB-###G with a real birth date and birthplace
    code. Stored without separators (``770305021234``)."""
    try:
        return str(nric.validate(value))
    except StdnumError:
        raise ValidationError(
            "Enter a valid MyKad/NRIC number: 12 digits such as 770305-02-1234, starting "
            "with the date of birth.",
            code="nric",
        ) from None


def format_nric(value: str) -> str:
    try:
        return str(nric.format(value))
    except StdnumError:
        return value


PASSPORT_RE = re.compile(r"^[A-Z0-9]{6,20}$")
SERVICE_ID_RE = re.compile(r"^[A-Z0-9/-]{4,20}$")


def normalize_identity_number(id_type: str, value: str) -> str:
    """Check an identity document number against its type (see ``Customer.IdType``)."""
    compact = re.sub(r"\s", "", value).upper()
    if id_type == "nric":
        return normalize_nric(compact)
    if id_type == "passport":
        if not PASSPORT_RE.match(compact):
            raise ValidationError(
                "Enter the passport number as printed: 6 to 20 letters and digits.",
                code="passport",
            )
        return compact
    if id_type == "army":
        if not SERVICE_ID_RE.match(compact):
            raise ValidationError(
                "Enter the army or police ID as printed: 4 to 20 letters and digits.",
                code="army",
            )
        return compact
    return clean_text(value)


# --- business registration ----------------------------------------------------------------

# SSM entity-type codes in the 12-digit registration number YYYYTTNNNNNN (since 2019).
SSM_ENTITY_TYPES = {
    "01": "local company",
    "02": "foreign company",
    "03": "business",
    "04": "local limited liability partnership",
    "05": "foreign limited liability partnership",
    "06": "professional limited liability partnership",
}
SSM_NEW_RE = re.compile(r"^(\d{4})(\d{2})(\d{6})$")
# Before 2019: companies "123456-A", businesses "JM0123456-T", LLPs "LLP0012345-LGN".
# Each pattern splits the number from its suffix; the stored form joins them with a dash.
SSM_OLD_RES = (
    re.compile(r"^(\d{1,7})-?([A-Z])$"),
    re.compile(r"^([A-Z]{2}\d{7})-?([A-Z])$"),
    re.compile(r"^(LLP\d{7})-?(L[A-Z]{2})$"),
)


def normalize_ssm_number(value: str, *, today: date | None = None) -> str:
    """A Malaysian SSM registration number, new (``202001012345``) or old (``123456-A``)."""
    compact = re.sub(r"[\s()]", "", value).upper()
    match = SSM_NEW_RE.match(compact)
    if match:
        year, entity_type, _ = match.groups()
        this_year = (today or date.today()).year  # noqa: DTZ011 (a calendar year, not a moment)
        if not 1900 <= int(year) <= this_year:
            raise ValidationError(
                f"The registration number starts with the year of registration; {year} is "
                "not a possible year.",
                code="ssm_year",
            )
        if entity_type not in SSM_ENTITY_TYPES:
            raise ValidationError(
                f"Digits 5–6 are the entity type (01–06); {entity_type} is not an SSM entity type.",
                code="ssm_type",
            )
        return compact
    for pattern in SSM_OLD_RES:
        old = pattern.match(compact)
        if old:
            return f"{old.group(1)}-{old.group(2)}"
    raise ValidationError(
        "Enter the SSM registration number: 12 digits such as 202001012345 (year, entity "
        "type, number), or the old form such as 123456-A.",
        code="ssm",
    )


def normalize_registration_number(value: str, *, country: str) -> str:
    """A company registration number, checked by the rules of the registering country."""
    if country == "MY":
        return normalize_ssm_number(value)
    if country == "SG":
        try:
            return str(uen.validate(value))
        except StdnumError:
            raise ValidationError(
                "Enter a valid Singapore UEN, such as 201912345R.", code="uen"
            ) from None
    compact = clean_text(value).upper()
    if not 2 <= len(compact) <= 30:
        raise ValidationError("Enter the registration number (2 to 30 characters).")
    return compact


# --- tax numbers --------------------------------------------------------------------------

TIN_RE = re.compile(r"^(IG|FA|PT|TA|TC|TN|TR|TP|LE|C|D|E|F|J)(\d{8,12})$")


def normalize_tin(value: str, *, kind: str) -> str:
    """LHDN tax identification number: ``IG`` + digits for individuals; ``C``, ``D``, ``E``,
    ``F``, ``FA``, ``PT``, ``TA``, ``TC``, ``TN``, ``TR``, ``TP``, ``J`` or ``LE`` + digits
    for companies, partnerships, trusts and other bodies."""
    compact = re.sub(r"[\s-]", "", value).upper()
    match = TIN_RE.match(compact)
    if not match:
        raise ValidationError(
            "Enter the LHDN tax identification number (TIN): a prefix and digits, such as "
            "IG11500200 for an individual or C2584563200 for a company.",
            code="tin",
        )
    prefix = match.group(1)
    if kind == "individual" and prefix != "IG":
        raise ValidationError(
            "An individual's TIN starts with IG (for example IG11500200).", code="tin_kind"
        )
    if kind == "business" and prefix == "IG":
        raise ValidationError(
            "IG is the prefix for individuals. A business TIN starts with C, D, E, F, FA, PT, "
            "TA, TC, TN, TR, TP, J or LE.",
            code="tin_kind",
        )
    return compact


SST_RE = re.compile(r"^[A-Z]\d{2}-\d{4}-\d{8}$")
NOT_REGISTERED = frozenset({"", "NA", "N/A", "NOTREGISTERED", "NONE"})


def normalize_sst_number(value: str) -> str:
    """Sales and service tax registration (``W10-1808-32000092``); blank or "NA" means not
    registered and is stored as blank."""
    compact = re.sub(r"\s", "", value).upper()
    if compact.replace("-", "") in NOT_REGISTERED:
        return ""
    if not SST_RE.match(compact):
        raise ValidationError(
            "Enter the SST registration number like W10-1808-32000092, or leave it blank if "
            "not registered.",
            code="sst",
        )
    return compact


TOURISM_TAX_RE = re.compile(r"^[A-Z0-9]{3}-\d{4}-\d{8}$")


def normalize_tourism_tax_number(value: str) -> str:
    compact = re.sub(r"\s", "", value).upper()
    if compact.replace("-", "") in NOT_REGISTERED:
        return ""
    if not TOURISM_TAX_RE.match(compact):
        raise ValidationError(
            "Enter the tourism tax registration number like 141-1809-00000005, or leave it "
            "blank if not registered.",
            code="tourism_tax",
        )
    return compact


def normalize_msic(value: str) -> str:
    code = value.strip()
    if not re.fullmatch(r"\d{5}", code):
        raise ValidationError("Enter a 5-digit MSIC 2008 code, such as 62010.", code="msic")
    if reference.industry(code) is None:
        raise ValidationError(f"{code} is not an MSIC 2008 code.", code="msic_unknown")
    return code


# --- phones, places, dates ----------------------------------------------------------------


def normalize_phone(value: str, *, country: str, mobile: bool = False) -> str:
    """Parse a phone number as dialled in ``country`` (or with a +country code) and store it
    as E.164 (``+60123456789``)."""
    region = country or None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        where = f" for {country}" if country else ""
        raise ValidationError(
            f"This is not a valid phone number{where}. Include the country code (such as "
            "+60) if the number is abroad.",
            code="phone",
        )
    if mobile and phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError("This is not a mobile number.", code="mobile")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def format_phone(value: str, *, country: str) -> str:
    """National format inside the customer's country, international format elsewhere."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    same_country = phonenumbers.region_code_for_number(number) == country
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if same_country
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(number, style))


POSTCODE_RULES = {
    "MY": (re.compile(r"^\d{5}$"), "5 digits, such as 50450"),
    "SG": (re.compile(r"^\d{6}$"), "6 digits, such as 018956"),
}
POSTCODE_GENERIC = re.compile(r"^[A-Z0-9][A-Z0-9 -]{1,10}$")


def normalize_postcode(value: str, *, country: str) -> str:
    compact = " ".join(value.upper().split())
    pattern, example = POSTCODE_RULES.get(country, (POSTCODE_GENERIC, "letters and digits"))
    if not pattern.match(compact):
        raise ValidationError(f"Enter a valid postcode: {example}.", code="postcode")
    return compact


# Names people write for a state that differ from the ISO 3166-2 name.
STATE_ALIASES = {
    "kuala lumpur": "MY-14",
    "wp kuala lumpur": "MY-14",
    "labuan": "MY-15",
    "putrajaya": "MY-16",
    "penang": "MY-07",
    "malacca": "MY-04",
}

# Countries whose postal addresses always name a state.
STATE_REQUIRED = frozenset({"MY", "US", "AU", "CA", "IN", "BR", "MX"})


def normalize_state(value: str, *, country: str) -> str:
    """A state as its ISO 3166-2 code (``MY-10``); the name ("Selangor") is accepted too."""
    value = value.strip()
    states = reference.subdivisions(country) if country else {}
    if not value:
        if country in STATE_REQUIRED:
            raise ValidationError("Choose the state.", code="state_required")
        return ""
    if not states:
        return clean_text(value)
    by_name = {name.casefold(): code for code, name in states.items()}
    alias = STATE_ALIASES.get(value.casefold().replace(".", ""))
    code = value.upper() if value.upper() in states else by_name.get(value.casefold())
    code = code or (alias if alias in states else None)
    if code is None:
        raise ValidationError("Choose one of the states of the selected country.", code="state")
    return code


def check_date_of_birth(value: date, *, today: date | None = None) -> date:
    today = today or date.today()  # noqa: DTZ011 (a calendar date, compared with a birth date)
    if value > today:
        raise ValidationError("The date of birth cannot be in the future.", code="dob_future")
    if value.year < 1900:
        raise ValidationError("Enter a date of birth after 1900.", code="dob_past")
    return value
