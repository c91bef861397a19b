"""Click parameter types for what users type: each calls the library's one parser for its kind
and refuses with one line naming the option and the value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def _option(param: click.Parameter | None) -> str:
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return "value" if param is None else (param.name or "value").upper()


class Strict(click.ParamType):
    """A parameter type whose refusal is a LedgerError (one line and exit 1 through
    cli.main:main), not click's usage block."""

    def __init__(self, name: str, parse: Callable[[str, str], Any]) -> None:
        self.name = name
        self._parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default given as the parsed value
        return self._parse(value, _option(param))


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
