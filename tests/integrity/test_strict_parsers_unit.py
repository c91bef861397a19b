"""The strict parsers one by one, and the genesis rule of the write path on both backends."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.errors import InputError, RuleViolationError
from ledger.money import parse_bounded_rate, parse_eur, parse_rate
from ledger.rules.fund import deposit
from ledger.types import check_text, parse_day, parse_id, parse_month, printable


@pytest.mark.parametrize(
    "text",
    [
        "2031-W01-1",
        "20310101",
        "",
        "2031-001",
        "2031-1-1",
        " 2031-01-01",
        "2031-01-01\n",
        "٢٠٣١-٠١-٠١",
        "2031-02-29",
        "1799-12-31",
        "2201-01-01",
    ],
)
def test_dates_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_day(text, "--date")


def test_dates_accepted() -> None:
    assert parse_day("2032-02-29") == date(2032, 2, 29)
    assert parse_day("1800-01-01") == date(1800, 1, 1)


@pytest.mark.parametrize(
    "text", ["2031-1", "2031-13", "2031-00", "203101", "9999-12", "2031-01\n", ""]
)
def test_months_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_month(text)


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "1_000",
        " 5 ",
        "١٢٣",
        "１２３",
        "+5",
        "-5",
        "5.",
        ".5",
        "NaN",
        "Infinity",
        "1.234",
        "1000000000000.01",
        "9" * 1000,
        "",
    ],
)
def test_amounts_refused(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_eur(text, "--amount")
    assert "\n" not in str(e.value) and len(str(e.value)) < 200


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1234", 123400),
        ("1234.5", 123450),
        ("1234.56", 123456),
        ("0.01", 1),
        ("1000000000000", 10**14),
    ],
)
def test_amounts_accepted(text: str, cents: int) -> None:
    assert parse_eur(text) == cents


@pytest.mark.parametrize(
    "text", ["1e2", "NaN", " 1", "１", "+1", "1.", ".1", "1" * 13, "0." + "1" * 13]
)
def test_rates_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_bounded_rate(text, "--rate")


def test_rate_form_is_strict_but_reads_a_minus_for_range_checks() -> None:
    assert str(parse_rate("-0.5")) == "-0.5"
    with pytest.raises(InputError):
        parse_rate("2E-2")


@pytest.mark.parametrize(
    "char",
    [
        "\x00",
        "\t",
        "\r",
        "\n",
        "\x1b",
        "\x7f",
        "\x85",
        "\u202e",
        "\u2066",
        "\u2069",
        "\u200e",
        "\u200f",
        "\u2028",
    ],
)
def test_control_characters_refused_and_shown_escaped(char: str) -> None:
    with pytest.raises(InputError) as e:
        check_text(f"a{char}b", "--note")
    assert f"U+{ord(char):04X}" in str(e.value) and "--note" in str(e.value)
    if char not in "\n\t":
        assert char not in printable(f"a{char}b")


def test_plain_text_and_ids() -> None:
    assert check_text("Zoë Ünal  & Zn.") == "Zoë Ünal  & Zn."
    assert printable("line 1\n\tline 2") == "line 1\n\tline 2"
    assert printable("\x1b[2J") == "\\u001b[2J"
    assert parse_id("M-1") == "M-1"
    with pytest.raises(InputError):
        parse_id("M-1\n")


def test_an_entry_dated_before_the_genesis_is_refused(founded_any) -> None:  # type: ignore[no-untyped-def]
    """On both backends: an entry whose command dates it before the genesis is refused, at
    append and at dry run; the head does not move."""
    f = founded_any
    with f.store.reading() as tx:
        head = tx.head()
    early = deposit(500, "GEM", None, date(2019, 12, 31))
    with pytest.raises(
        RuleViolationError, match="2019-12-31 is before the ledger's genesis 2020-01-01"
    ):
        f.append("coop-admin", [early])
    with pytest.raises(RuleViolationError, match="before the ledger's genesis"):
        f.ledger.dry_run([early], f.signers["coop-admin"])
    with f.store.reading() as tx:
        assert tx.head() == head
    f.append("coop-admin", [deposit(500, "GEM", None, date(2020, 1, 1))])
