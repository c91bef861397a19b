"""Money and rates: integer cents, decimal strings, and the charter's one rounding step."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from ledger.errors import InputError

Rounding = Literal["half-up", "truncate"]

_MODES: dict[str, str] = {"half-up": ROUND_HALF_UP, "truncate": ROUND_DOWN}
_CENT = Decimal("0.01")
# RFC 8785 numbers are IEEE doubles: keep every integer exactly representable.
MAX_CENTS = 2**53 - 1


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


def parse_eur(text: str) -> int:
    """Parse a user-typed euro amount ("250000", "250000.5", "1234.56") into exact cents."""
    cleaned = text.strip().replace("_", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InputError(f"not an amount in euros: {text!r}") from None
    if not value.is_finite():
        raise InputError(f"not an amount in euros: {text!r}")
    if value.adjusted() > 15:  # more digits than MAX_CENTS has (quantize would overflow)
        raise InputError(f"amount {text!r} is out of range")
    if value != value.quantize(_CENT):
        raise InputError(f"amount {text!r} has more than two decimals")
    cents = int(value * 100)
    if abs(cents) > MAX_CENTS:
        raise InputError(f"amount {text!r} is out of range")
    return cents


def format_eur(cents: int) -> str:
    """Format cents as a plain decimal euro string with two decimals ("-12.50")."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def parse_rate(text: str) -> Decimal:
    """Parse a rate or index value given as a decimal string ("0.02", "131.42")."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(f"not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise InputError(f"not a decimal number: {text!r}")
    return value


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
