"""The profile validators with real-format values: what each accepts, the stored form it
returns, and that each refusal says what a valid value looks like."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from stdnum.my import nric
from stdnum.sg import uen

from clientdesk.customers import validators

TODAY = date(2026, 6, 15)


def refusal(call, *args, **kwargs) -> ValidationError:
    """Run a validator that must refuse, and return its error."""
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value


def message(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- MyKad / NRIC -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("770305-02-1234", "770305021234"),  # born 5 Mar 1977 in Kedah
        ("770305021234", "770305021234"),
        ("770305 02 1234", "770305021234"),
        ("880101-14-5678", "880101145678"),  # Kuala Lumpur
        ("770305-71-1234", "770305711234"),  # born abroad
        ("000229-10-1234", "000229101234"),  # 29 Feb 2000, a leap day
    ],
)
def test_nric_accepts_real_numbers_and_stores_them_without_separators(typed, stored) -> None:
    assert nric.is_valid(typed), "the example itself must be a valid MyKad number"
    assert validators.normalize_nric(typed) == stored
    assert validators.format_nric(stored) == f"{stored[:6]}-{stored[6:8]}-{stored[8:]}"


@pytest.mark.parametrize(
    "typed",
    [
        "771305-02-1234",  # month 13
        "770230-02-1234",  # 30 February
        "770305-00-1234",  # birthplace 00 does not exist
        "770305-17-1234",  # nor does 17
        "770305-02-123",  # 11 digits
        "770305-02-12345",  # 13 digits
        "77O305-02-1234",  # letter O for zero
        "",
    ],
)
def test_nric_refuses_impossible_dates_birthplaces_and_lengths(typed) -> None:
    assert not nric.is_valid(typed)
    error = refusal(validators.normalize_nric, typed)
    assert error.code == "nric"
    assert "770305-02-1234" in message(error)  # says what a valid number looks like


@pytest.mark.parametrize(
    ("id_type", "typed", "stored"),
    [
        ("nric", "770305-02-1234", "770305021234"),
        ("passport", "a 1234 5678", "A12345678"),
        ("army", "t/123456", "T/123456"),
        ("other", "  Refugee card 12-34  ", "Refugee card 12-34"),
    ],
)
def test_identity_numbers_are_checked_against_their_document_type(id_type, typed, stored) -> None:
    assert validators.normalize_identity_number(id_type, typed) == stored


@pytest.mark.parametrize(
    ("id_type", "typed", "code"),
    [
        ("nric", "A1234567", "nric"),
        ("passport", "A12", "passport"),
        ("passport", "A1234567!", "passport"),
        ("army", "T1", "army"),
        ("other", "Card\u202e1234", "bidi"),
    ],
)
def test_identity_numbers_that_do_not_fit_their_type_are_refused(id_type, typed, code) -> None:
    assert refusal(validators.normalize_identity_number, id_type, typed).code == code


# --- SSM registration numbers, Singapore UEN ----------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("202001012345", "202001012345"),  # 2020, local company
        ("2020 01 012345", "202001012345"),
        ("201903001234", "201903001234"),  # 2019, business
        ("202606000001", "202606000001"),  # this year, professional LLP
        ("123456-A", "123456-A"),  # old company number
        ("123456A", "123456-A"),
        ("(123456-a)", "123456-A"),
        ("JM0123456-T", "JM0123456-T"),  # old business number
        ("JM0123456T", "JM0123456-T"),
        ("LLP0012345-LGN", "LLP0012345-LGN"),  # old LLP number
    ],
)
def test_ssm_numbers_new_and_old_forms(typed, stored) -> None:
    assert validators.normalize_ssm_number(typed, today=TODAY) == stored


def test_an_old_llp_number_without_its_dash_is_stored_in_the_printed_form() -> None:
    assert validators.normalize_ssm_number("LLP0012345LGN", today=TODAY) == "LLP0012345-LGN"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("201999012345", "ssm_type"),  # entity type 99 does not exist
        ("202000012345", "ssm_type"),  # nor does 00
        ("202701012345", "ssm_year"),  # next year
        ("189901012345", "ssm_year"),
        ("20200101234", "ssm"),  # 11 digits
        ("1234567", "ssm"),  # an old number without its check letter
        ("ACME SDN BHD", "ssm"),
        ("LLP0012345-XYZ", "ssm"),
    ],
)
def test_ssm_numbers_with_impossible_parts_are_refused(typed, code) -> None:
    error = refusal(validators.normalize_ssm_number, typed, today=TODAY)
    assert error.code == code
    assert message(error)


def test_ssm_year_check_uses_the_real_calendar_by_default() -> None:
    next_year = date.today().year + 1  # noqa: DTZ011 (a calendar year, as the validator uses)
    assert refusal(validators.normalize_ssm_number, f"{next_year}01012345").code == "ssm_year"
    this_year = date.today().year  # noqa: DTZ011
    assert validators.normalize_ssm_number(f"{this_year}01012345") == f"{this_year}01012345"


def valid_uens() -> list[str]:
    """Real-form UENs with their check letters computed by python-stdnum."""
    return [
        "53312345" + uen.calc_business_check_digit("53312345"),  # business (ACRA)
        "201912345" + uen.calc_local_company_check_digit("201912345"),  # local company
        "T09LL0001" + uen.calc_other_check_digit("T09LL0001"),  # LLP registered 2009
        "196800306E",  # a long-established company
    ]


@pytest.mark.parametrize("number", valid_uens())
def test_registration_numbers_in_singapore_are_uens(number) -> None:
    assert validators.normalize_registration_number(number.lower(), country="SG") == number


@pytest.mark.parametrize("number", ["201912345A", "53312345D", "T09LL0001B", "12345", "LLP123"])
def test_invalid_uens_are_refused(number) -> None:
    assert not uen.is_valid(number)
    error = refusal(validators.normalize_registration_number, number, country="SG")
    assert error.code == "uen"


def test_registration_numbers_in_malaysia_follow_ssm_and_elsewhere_are_kept_as_typed() -> None:
    assert validators.normalize_registration_number("202001012345", country="MY") == "202001012345"
    assert refusal(validators.normalize_registration_number, "201999012345", country="MY")
    assert validators.normalize_registration_number(" 01234567 ", country="GB") == "01234567"
    assert refusal(validators.normalize_registration_number, "X", country="GB")
    assert refusal(validators.normalize_registration_number, "HRB\u202e123", country="DE")


# --- LHDN TIN, SST, tourism tax, MSIC -----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kind", "stored"),
    [
        ("IG11500200", "individual", "IG11500200"),
        ("ig 1150-0200", "individual", "IG11500200"),
        ("IG115002000", "individual", "IG115002000"),
        ("C2584563200", "business", "C2584563200"),
        ("c 2584563200", "business", "C2584563200"),
        ("D1234567890", "business", "D1234567890"),  # partnership
        ("J12345678", "business", "J12345678"),
        ("LE1234567890", "business", "LE1234567890"),  # Labuan entity
        ("PT1234567890", "business", "PT1234567890"),  # LLP
    ],
)
def test_tin_prefix_and_digits_by_kind_of_customer(typed, kind, stored) -> None:
    assert validators.normalize_tin(typed, kind=kind) == stored


@pytest.mark.parametrize(
    ("typed", "kind", "code"),
    [
        ("2584563200", "business", "tin"),  # no prefix
        ("X2584563200", "business", "tin"),  # unknown prefix
        ("C1234", "business", "tin"),  # too few digits
        ("C1234567890123", "business", "tin"),  # too many
        ("IG", "individual", "tin"),
        ("C2584563200", "individual", "tin_kind"),  # a company TIN on an individual
        ("IG11500200", "business", "tin_kind"),  # an individual's TIN on a business
    ],
)
def test_tin_refusals_say_which_form_is_expected(typed, kind, code) -> None:
    error = refusal(validators.normalize_tin, typed, kind=kind)
    assert error.code == code
    assert "IG" in message(error)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("W10-1808-32000092", "W10-1808-32000092"),
        (" w10-1808-32000092 ", "W10-1808-32000092"),
        ("", ""),
        ("NA", ""),
        ("n/a", ""),
        ("Not registered", ""),
        ("none", ""),
    ],
)
def test_sst_number_or_not_registered(typed, stored) -> None:
    assert validators.normalize_sst_number(typed) == stored


@pytest.mark.parametrize("typed", ["W10180832000092", "W1-1808-32000092", "SST123", "10-1808-320"])
def test_sst_numbers_in_another_shape_are_refused(typed) -> None:
    error = refusal(validators.normalize_sst_number, typed)
    assert error.code == "sst"
    assert "W10-1808-32000092" in message(error)


@pytest.mark.parametrize(
    ("typed", "stored"), [("141-1809-00000005", "141-1809-00000005"), ("NA", ""), ("", "")]
)
def test_tourism_tax_number_or_not_registered(typed, stored) -> None:
    assert validators.normalize_tourism_tax_number(typed) == stored


@pytest.mark.parametrize("typed", ["141-1809-0005", "1411809000000005", "TTX"])
def test_tourism_tax_numbers_in_another_shape_are_refused(typed) -> None:
    assert refusal(validators.normalize_tourism_tax_number, typed).code == "tourism_tax"


@pytest.mark.parametrize("code", ["62010", "63111", "47912", " 62010 "])
def test_msic_codes_from_the_2008_list(code) -> None:
    assert validators.normalize_msic(code) == code.strip()


@pytest.mark.parametrize(
    ("typed", "code"),
    [("99999", "msic_unknown"), ("6201", "msic"), ("620100", "msic"), ("6201O", "msic")],
)
def test_msic_codes_not_in_the_list_or_not_five_digits_are_refused(typed, code) -> None:
    error = refusal(validators.normalize_msic, typed)
    assert error.code == code
    assert typed in message(error) or "62010" in message(error)


# --- phones, postcodes, states, dates -----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "country", "mobile", "stored"),
    [
        ("03-7890 1234", "MY", False, "+60378901234"),  # Kuala Lumpur landline
        ("012-345 6789", "MY", False, "+60123456789"),
        ("012-345 6789", "MY", True, "+60123456789"),
        ("011-1234 5678", "MY", True, "+601112345678"),  # 11-digit mobile range
        ("+60 12-345 6789", "SG", True, "+60123456789"),  # abroad, with the country code
        ("6123 4567", "SG", False, "+6561234567"),
        ("+65 6123 4567", "MY", False, "+6561234567"),
    ],
)
def test_phones_parse_for_the_country_and_are_stored_as_e164(
    typed, country, mobile, stored
) -> None:
    assert validators.normalize_phone(typed, country=country, mobile=mobile) == stored


@pytest.mark.parametrize(
    ("typed", "country", "mobile", "code"),
    [
        ("12345", "MY", False, "phone"),
        ("6123 4567", "MY", False, "phone"),  # a Singapore number dialled as Malaysian
        ("not a number", "MY", False, "phone"),
        ("0378901234", "", False, "phone"),  # no country to read a national number with
        ("03-7890 1234", "MY", True, "mobile"),  # a landline in the mobile field
    ],
)
def test_phones_that_do_not_parse_or_are_not_mobiles_are_refused(
    typed, country, mobile, code
) -> None:
    error = refusal(validators.normalize_phone, typed, country=country, mobile=mobile)
    assert error.code == code
    if code == "phone":
        assert "+60" in message(error)


def test_phones_read_in_national_form_at_home_and_international_form_abroad() -> None:
    assert validators.format_phone("+60378901234", country="MY") == "03-7890 1234"
    assert validators.format_phone("+60378901234", country="SG") == "+60 3-7890 1234"
    assert validators.format_phone("", country="MY") == ""


@pytest.mark.parametrize(
    ("typed", "country", "stored"),
    [
        ("50450", "MY", "50450"),
        (" 46100 ", "MY", "46100"),
        ("018956", "SG", "018956"),
        ("sw1a  1aa", "GB", "SW1A 1AA"),
    ],
)
def test_postcodes_by_country(typed, country, stored) -> None:
    assert validators.normalize_postcode(typed, country=country) == stored


@pytest.mark.parametrize(
    ("typed", "country"),
    [("5045", "MY"), ("504501", "MY"), ("ABCDE", "MY"), ("18956", "SG"), ("0189567", "SG")],
)
def test_postcodes_in_the_wrong_shape_are_refused(typed, country) -> None:
    error = refusal(validators.normalize_postcode, typed, country=country)
    assert error.code == "postcode"
    assert "digits" in message(error)


@pytest.mark.parametrize(
    ("typed", "country", "stored"),
    [
        ("Selangor", "MY", "MY-10"),
        ("selangor", "MY", "MY-10"),
        ("MY-10", "MY", "MY-10"),
        ("my-14", "MY", "MY-14"),
        ("Wilayah Persekutuan Kuala Lumpur", "MY", "MY-14"),
        ("California", "US", "US-CA"),
        ("", "SG", ""),  # a Singapore address names no state
        ("Anywhere", "AQ", "Anywhere"),  # a country without subdivisions keeps the text
    ],
)
def test_states_are_stored_as_iso_3166_2_codes(typed, country, stored) -> None:
    assert validators.normalize_state(typed, country=country) == stored


@pytest.mark.parametrize(
    ("typed", "country", "code"),
    [
        ("MY-99", "MY", "state"),
        ("Narnia", "MY", "state"),
        ("US-CA", "MY", "state"),  # a state of another country
        ("", "MY", "state_required"),
        ("", "US", "state_required"),
    ],
)
def test_unknown_or_missing_states_are_refused(typed, country, code) -> None:
    error = refusal(validators.normalize_state, typed, country=country)
    assert error.code == code
    assert "state" in message(error)


@pytest.mark.parametrize(
    "born", [date(1977, 3, 5), date(1900, 1, 1), TODAY, date(2000, 2, 29)], ids=str
)
def test_dates_of_birth_in_the_past(born) -> None:
    assert validators.check_date_of_birth(born, today=TODAY) == born


@pytest.mark.parametrize(
    ("born", "code"),
    [
        (TODAY + timedelta(days=1), "dob_future"),
        (date(2999, 1, 1), "dob_future"),
        (date(1899, 12, 31), "dob_past"),
    ],
    ids=str,
)
def test_dates_of_birth_in_the_future_or_before_1900_are_refused(born, code) -> None:
    assert refusal(validators.check_date_of_birth, born, today=TODAY).code == code


def test_date_of_birth_check_uses_todays_date_by_default() -> None:
    tomorrow = date.today() + timedelta(days=1)  # noqa: DTZ011 (as the validator compares)
    assert refusal(validators.check_date_of_birth, tomorrow).code == "dob_future"


# --- free text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Zoë Ñúñez 张伟 محمد", "Zoë Ñúñez 张伟 محمد"),
        ("  Aisha binti Rahman  ", "Aisha binti Rahman"),
        ("Zoe\u0308", "Zo\u00eb"),  # decomposed diaeresis → one composed character (NFC)
        (
            "Kedai Runcit Ah Seng (M) Sdn. Bhd. — 「分店」",
            "Kedai Runcit Ah Seng (M) Sdn. Bhd. — 「分店」",
        ),
    ],
)
def test_clean_text_keeps_every_script_and_normalises_to_nfc(typed, stored) -> None:
    assert validators.clean_text(typed) == stored


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("invoice\u202efdp.exe", "bidi"),  # RIGHT-TO-LEFT OVERRIDE
        ("Ali\u202dBaba", "bidi"),  # LEFT-TO-RIGHT OVERRIDE
        ("Ali\u2067Baba\u2069", "bidi"),  # RIGHT-TO-LEFT ISOLATE
        ("Ali\u200f", "bidi"),  # RIGHT-TO-LEFT MARK
        ("Ali\x00Baba", "control"),
        ("Ali\x07", "control"),  # BEL
        ("Ali\nBaba", "control"),  # a line break in a one-line value
        ("Ali\tBaba", "control"),
        ("Ali\x1b[31m", "control"),  # terminal escape
    ],
)
def test_clean_text_refuses_control_characters_and_direction_overrides(typed, code) -> None:
    error = refusal(validators.clean_text, typed)
    assert error.code == code
    assert message(error).startswith("Remove the")


def test_multiline_text_may_hold_line_breaks_but_not_other_controls() -> None:
    assert validators.clean_text("Level 5\nMenara Alpha", multiline=True) == "Level 5\nMenara Alpha"
    assert refusal(validators.clean_text, "Level 5\x00", multiline=True).code == "control"
    assert refusal(validators.clean_text, "Level\u202e 5", multiline=True).code == "bidi"


# --- the examples the messages give -------------------------------------------------------


@pytest.mark.parametrize(
    ("validate", "example"),
    [
        pytest.param(validators.normalize_nric, "770305-02-1234", id="nric"),
        pytest.param(validators.normalize_ssm_number, "202001012345", id="ssm-new"),
        pytest.param(validators.normalize_ssm_number, "123456-A", id="ssm-old"),
        pytest.param(
            lambda value: validators.normalize_tin(value, kind="individual"),
            "IG11500200",
            id="tin-individual",
        ),
        pytest.param(
            lambda value: validators.normalize_tin(value, kind="business"),
            "C2584563200",
            id="tin-business",
        ),
        pytest.param(validators.normalize_sst_number, "W10-1808-32000092", id="sst"),
        pytest.param(validators.normalize_tourism_tax_number, "141-1809-00000005", id="ttx"),
        pytest.param(validators.normalize_msic, "62010", id="msic"),
        pytest.param(
            lambda value: validators.normalize_postcode(value, country="MY"), "50450", id="my-pc"
        ),
        pytest.param(
            lambda value: validators.normalize_postcode(value, country="SG"), "018956", id="sg-pc"
        ),
        pytest.param(
            lambda value: validators.normalize_registration_number(value, country="SG"),
            "201912345R",
            id="uen",
        ),
    ],
)
def test_the_example_each_error_message_gives_is_accepted(validate, example) -> None:
    """A refusal that says "such as X" must accept X: people copy the example's shape."""
    assert validate(example)
