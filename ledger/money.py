"""Money and rates: integer cents, decimal strings, and the charter's one rounding step."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Literal

from ledger.errors import InputError

Rounding = Literal["half-up", "truncate"]

_MODES: dict[str, str] = {"half-up": ROUND_HALF_UP, "truncate": ROUND_DOWN}
_CENT = Decimal("0.01")
# RFC 8785 numbers are IEEE doubles: keep every integer exactly representable.
MAX_CENTS = 2**53 - 1
# The largest amount a user may type: a trillion euros, far above any sale or fund balance.
MAX_EUR = 10**12
# What a user types for an amount or a rate: ASCII digits, a point and digits; no sign,
# exponent, separator, padding, NaN or other script's digits (Decimal takes all of those).
_DECIMAL_INPUT = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
# A rate or index value typed by a user: at most this many digits before and after the point.
RATE_INT_DIGITS, RATE_FRAC_DIGITS = 12, 12


def round_to_cents(amount_eur: Decimal, rounding: Rounding) -> int:
    """Round an amount in euros once, by the charter's rule, and return whole cents."""
    try:
        mode = _MODES[rounding]
    except KeyError:
        raise InputError(
            f"unknown rounding rule {rounding!r}: expected half-up or truncate"
        ) from None
    cents = int(amount_eur.quantize(_CENT, rounding=mode) * 100)
    if abs(cents) > MAX_CENTS:
        raise InputError(f"amount {amount_eur} is out of range")
    return cents


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _digits(text: str, what: str) -> tuple[str, str]:
    match = _DECIMAL_INPUT.fullmatch(text)
    if match is None:
        raise InputError(f"{what} {_shown(text)} is not a plain decimal number like 1234.56")
    return match.group(1), match.group(2) or ""


def parse_eur(text: str, what: str = "amount") -> int:
    """Parse a user-typed euro amount ("250000", "250000.5", "1234.56") into exact cents."""
    whole, frac = _digits(text, what)
    if len(frac) > 2:
        raise InputError(f"{what} {_shown(text)} has more than two decimals")
    if len(whole.lstrip("0")) > len(str(MAX_EUR)) or Decimal(text) > MAX_EUR:
        raise InputError(f"{what} {_shown(text)} is above the maximum of {MAX_EUR} euros")
    return int(Decimal(text) * 100)


def format_eur(cents: int) -> str:
    """Format cents as a plain decimal euro string with two decimals ("-12.50")."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def parse_rate(text: str) -> Decimal:
    """Parse a rate or index value given as a decimal string ("0.02", "131.42"); a leading
    minus is read, so that the caller's range check can name a negative value."""
    if _DECIMAL_INPUT.fullmatch(text[1:] if text.startswith("-") else text) is None:
        raise InputError(f"not a decimal number: {_shown(text)}")
    return Decimal(text)


def parse_bounded_rate(text: str, what: str = "rate") -> Decimal:
    """A rate or index value typed by a user: plain, non-negative, with at most
    RATE_INT_DIGITS digits before the point and RATE_FRAC_DIGITS after it."""
    whole, frac = _digits(text, what)
    if len(whole.lstrip("0")) > RATE_INT_DIGITS or len(frac) > RATE_FRAC_DIGITS:
        raise InputError(
            f"{what} {_shown(text)} has more than {RATE_INT_DIGITS} digits before or "
            f"{RATE_FRAC_DIGITS} after the point"
        )
    return Decimal(text)


def rate_str(value: Decimal) -> str:
    """The canonical decimal string of a rate or index value: plain notation, no trailing zeros."""
    return format(value.normalize(), "f")


def cents_to_eur(cents: int) -> Decimal:
    """Cents as an exact euro amount with two decimals, the unit the formulas are written in."""
    return Decimal(cents).scaleb(-2)


def plain_decimal(value: Decimal) -> str:
    """A Decimal in plain notation, every digit it has (no exponent, nothing dropped)."""
    return format(value, "f")


def brief_decimal(value: Decimal) -> str:
    """An out-of-range amount short enough for a one-line message."""
    return f"{value:.2f}" if value.adjusted() < 20 else f"{value:.3E}"
