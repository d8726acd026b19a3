"""Money amounts: parsed from user input into ``Decimal`` with the currency's minor units.

Never a float. Input is text (a form field, a JSON string or number); anything that is not a
plain finite number with at most the currency's decimals is refused with a sentence a person
can act on. Amounts are stored with two decimal places; currencies without minor units
(ISO 4217 exponent 0, such as JPY) take whole numbers only.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# ISO 4217 currencies whose exponent is 0. Three-decimal currencies (BHD, KWD…) are kept to
# two decimals: the ledger's columns hold two places.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND"}
    | {"VUV", "XAF", "XOF", "XPF"}
)
# The largest amount one entry may carry: the columns hold 14 digits, 2 after the point.
MAX_AMOUNT = Decimal("999999999.99")
_PLAIN_NUMBER = re.compile(r"^[+-]?([0-9]{1,15}(\.[0-9]*)?|\.[0-9]+)$")


class AmountError(ValueError):
    """The text is not an acceptable amount; ``str(error)`` says why, for the user."""


def minor_units(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def parse_amount(
    value: object, currency: str, *, allow_negative: bool = False, allow_zero: bool = False
) -> Decimal:
    """``"12.50"`` → ``Decimal("12.50")``. Refuses NaN, infinities, exponents (``1e309``),
    thousands separators, more decimals than ``currency`` has, zero unless ``allow_zero``, and
    negatives unless ``allow_negative``."""
    if isinstance(value, bool) or value is None:
        raise AmountError("Enter an amount, such as 120.00.")
    if isinstance(value, float):
        raise AmountError("Send the amount as a string or an exact number, not a float.")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AmountError("Enter the amount as a plain number, such as 120.00.")
        value = format(value, "f")
    text = str(value).strip()
    if not text:
        raise AmountError("Enter an amount, such as 120.00.")
    if not _PLAIN_NUMBER.match(text):
        raise AmountError("Enter the amount as a plain number, such as 120.00.")
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes these
        raise AmountError("Enter the amount as a plain number, such as 120.00.") from None
    places = minor_units(currency)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise AmountError(
            f"{currency} amounts have no decimals."
            if places == 0
            else f"{currency} amounts have at most {places} decimals."
        )
    if amount == 0 and not allow_zero:
        raise AmountError("The amount cannot be zero.")
    if amount < 0 and not allow_negative:
        raise AmountError("Enter a positive amount; the kind of entry decides its direction.")
    if abs(amount) > MAX_AMOUNT:
        raise AmountError(f"One entry can be at most {MAX_AMOUNT:,} {currency}.")
    return amount.quantize(Decimal("0.01"))  # exact: the decimals were checked above


def format_amount(amount: Decimal, currency: str) -> str:
    """``MYR 1,234.50``; negative amounts keep their sign: ``MYR -20.00``."""
    places = minor_units(currency)
    return f"{currency} {amount:,.{places}f}"
