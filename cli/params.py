"""Click parameter types for what users type: each calls the library's one parser for its kind
and refuses with one line naming the option and the value, as a usage error (exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def _option(param: click.Parameter | None) -> str:
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return "value" if param is None else (param.name or "value").upper()


def usage(parse: Callable[[], Any]) -> Any:
    """Run a library parser on an option's value: a malformed value is a usage error (exit 2,
    one line through cli.main:main), like a malformed --date or a number out of its range;
    exit 1 is for what the ledger refuses."""
    from ledger.errors import InputError, UsageError

    try:
        return parse()
    except InputError as e:
        raise UsageError(str(e)) from None


class Strict(click.ParamType):
    """A parameter type whose refusal is a UsageError (one line and exit 2 through
    cli.main:main), not click's usage block."""

    def __init__(self, name: str, parse: Callable[[str, str], Any]) -> None:
        self.name = name
        self._parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default given as the parsed value
        return usage(lambda: self._parse(value, _option(param)))


def cents(text: str, what: str, *, positive: bool = False) -> int:
    """A euro amount typed for option `what` ("1234.56"), in cents: ASCII digits, at most two
    decimals, at most the ledger's maximum; 0 refused when `positive`."""
    from ledger.errors import UsageError
    from ledger.money import parse_eur

    value: int = usage(lambda: parse_eur(text, what))
    if positive and value == 0:
        raise UsageError(f"{what} {text!r} must be more than 0")
    return value


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


MONTH = Strict("YYYY-MM", _month)
RATE = Strict("DECIMAL", _rate)
ID = Strict("ID", _id)
TEXT = Strict("TEXT", _text)
