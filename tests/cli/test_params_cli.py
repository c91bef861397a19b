"""Every option a user types a euro amount, a date or an id into parses through cli/params.py
(issue 13 point 6): one parser per kind, refusing with the option named and exit 2."""

from __future__ import annotations

import importlib

import click
import pytest

from cli import params
from cli.main import COMMANDS
from tests.integrity.cli_fuzz import command_tree

# option -> the one parameter type it must use (every command that has the option)
DATES = {
    "--date",
    "--at",
    "--on",
    "--delivered",
    "--base-date",
    "--declaration-date",
    "--founded",
    "--start",
    "--end",
}
AMOUNTS = {
    "--amount",
    "--price",
    "--base-price",
    "--base-appraisal",
    "--appraisal",
    "--improvements",
    "--baseline",
    "--rent",
    "--market-rent",
}

NOT_A_DATE = {("charter show", "--at")}  # an entry's sequence number


def _typed(kinds: set[str]) -> list[tuple[str, str, click.ParamType]]:
    return [
        (path, opt, p.type)
        for path, command in sorted(command_tree().items())
        for p in command.params
        if isinstance(p, click.Option)
        for opt in p.opts
        if opt in kinds and (path, opt) not in NOT_A_DATE
    ]


def test_every_date_option_is_a_date() -> None:
    wrong = [f"{path} {opt}" for path, opt, t in _typed(DATES) if t is not params.DATE]
    assert _typed(DATES) and not wrong, wrong


def test_every_amount_option_is_a_euro_amount() -> None:
    kinds = (params.EUR, params.EUR_POSITIVE)
    wrong = [f"{path} {opt}" for path, opt, t in _typed(AMOUNTS) if t not in kinds]
    assert _typed(AMOUNTS) and not wrong, wrong


def test_each_command_group_has_its_own_module() -> None:
    """The fund, index and contribution commands live in their own modules, not among the
    share or levy commands."""
    for group in ("fund", "index", "contribution"):
        assert COMMANDS[group] == f"cli.commands.{group}:{group}"
    assert not hasattr(importlib.import_module("cli.commands.shares"), "fund")
    assert not hasattr(importlib.import_module("cli.commands.shares"), "index")
    assert not hasattr(importlib.import_module("cli.commands.levy"), "contribution")


@pytest.mark.parametrize(
    ("kind", "typed", "expected"),
    [
        (params.DATE, "2032-02-30", "--date"),
        (params.DATE, "31-12-2032", "--date"),
        (params.EUR, "1.234,56", "--date"),
        (params.EUR, "12.345", "--date"),
        (params.EUR_POSITIVE, "0", "--date"),
    ],
)
def test_a_malformed_value_is_a_usage_error_naming_the_option(
    kind: params.Strict[object], typed: str, expected: str
) -> None:
    from ledger.errors import UsageError

    option = click.Option(["--date", "on"])
    with pytest.raises(UsageError) as e:
        kind.convert(typed, option, None)
    assert expected in str(e.value) and repr(typed) in str(e.value)
    assert e.value.exit_code == 2
