"""Click parameter types for what users type: each calls the library's one parser for its kind
and refuses with one line naming the option and the value, as a usage error (exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import click

T = TypeVar("T")

if TYPE_CHECKING:  # click 8.5 made ParamType generic; older clicks cannot subscript it
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType


def _option(param: click.Parameter | None) -> str:
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return "value" if param is None else (param.name or "value").upper()


def usage(parse: Callable[[], T]) -> T:
    """Run a library parser on an option's value: a malformed value is a usage error (exit 2,
    one line through cli.main:main), like a malformed --date or a number out of its range;
    exit 1 is for what the ledger refuses."""
    from ledger.errors import InputError, UsageError

    try:
        return parse()
    except InputError as e:
        raise UsageError(str(e)) from None


class Strict(_ParamType, Generic[T]):
    """A parameter type whose refusal is a UsageError (one line and exit 2 through
    cli.main:main), not click's usage block; `T` is what the command receives."""

    def __init__(self, name: str, parse: Callable[[str, str], T], parsed: type[T]) -> None:
        self.name = name
        self._parse = parse
        self._parsed = parsed

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> T:
        if isinstance(value, self._parsed) and not isinstance(value, str | bool):
            return value  # a default given as the parsed value
        if not isinstance(value, str):
            raise TypeError(f"{self.name}: expected text, got {type(value).__name__}")
        return usage(lambda: self._parse(value, _option(param)))


def cents(text: str, what: str, *, positive: bool = False) -> int:
    """A euro amount typed for option `what` ("1234.56"), in cents: ASCII digits, at most two
    decimals, at most the ledger's maximum; 0 refused when `positive`."""
    from ledger.errors import UsageError
    from ledger.money import parse_eur

    value = usage(lambda: parse_eur(text, what))
    if positive and value == 0:
        raise UsageError(f"{what} {text!r} must be more than 0")
    return value


def or_today(day: date | None) -> date:
    """A date option's value, or today (UTC) when it was left out."""
    from ledger.service import utcnow

    return day if day is not None else utcnow().date()


def _cents(text: str, what: str) -> int:
    return cents(text, what)


def _positive_cents(text: str, what: str) -> int:
    return cents(text, what, positive=True)


def _day(text: str, what: str) -> date:
    from ledger.types import parse_day

    return parse_day(text, what)


def _month(text: str, what: str) -> str:
    from ledger.types import parse_month

    return parse_month(text, what)


def _rate(text: str, what: str) -> str:
    """A rate, ratio or index value: checked plain and bounded, kept as typed (the rules
    turn it into its canonical spelling)."""
    from ledger.money import parse_bounded_rate

    parse_bounded_rate(text, what)
    return text


def _id(text: str, what: str) -> str:
    from ledger.types import parse_id

    return parse_id(text, what)


def _text(text: str, what: str) -> str:
    from ledger.types import check_text

    return check_text(text, what)


EUR = Strict("EUR", _cents, int)  # a euro amount, received in cents (0 allowed)
EUR_POSITIVE = Strict("EUR", _positive_cents, int)  # a euro amount of more than 0, in cents
DATE = Strict("YYYY-MM-DD", _day, date)
MONTH = Strict("YYYY-MM", _month, str)
RATE = Strict("DECIMAL", _rate, str)
ID = Strict("ID", _id, str)
TEXT = Strict("TEXT", _text, str)
