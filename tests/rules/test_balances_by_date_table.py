"""Money by date for the balances beside the fund (issue 12 point 1, DOMAIN.md "Money by
date"): what is owed on a levy and on the area contribution, at the end of every date, whatever
order the entries were recorded in. One case per clause (docs/RULES.md §5, §8.3, §9.3).

The levy cases follow DOMAIN.md's example: P-1, baseline 400,000 at index 100.0 (2031-05),
sold on 2040-06-15 at index 125.0 for 545,000: E = 500,000, X = 45,000, L = 13,500.00. The
contribution cases use the area of test_contribution_edition2_table.py: B-1 with 3 workplaces
(30.00 a month), dwelling D-1 (10.00) and home P-H1 (10.00, owed by OWNER-7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger import dated
from ledger.charter import Charter
from ledger.checks import verify_store
from ledger.keys import Signer
from ledger.postings import must_not_go_negative
from ledger.reports import contribution_arrears_at
from ledger.rules import contributions, levy
from ledger.rules.index_series import publish_index
from tests.rules.test_contribution_edition2_table import _story, debtor, workplaces
from tests.rules.test_werk_table import refused
from tests.support import Founded, charter_v1, found_ledger

D = date.fromisoformat
RECEIVABLE = "levy:receivable:P-1"
LEVY = 13_500_00


# -- which balances are guarded by date ---------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "guarded"),
    [
        pytest.param("fund", True, id="the fund's money"),
        pytest.param("levy:receivable:P-1", True, id="a property's levy receivable"),
        pytest.param("gem:levy", False, id="the GEM's levy income (a credit, always below 0)"),
        pytest.param("member:M-1", False, id="a member's net payments (a credit)"),
        pytest.param(
            "contribution:receivable", False, id="the contribution receivable: checked per charge"
        ),
    ],
)
def test_the_balances_never_below_zero_on_any_date(account: str, guarded: bool) -> None:
    assert must_not_go_negative(account) is guarded


# -- the levy receivable by date ----------------------------------------------------------------


@pytest.fixture
def make(tmp_path: Path, signers: dict[str, Signer]) -> Iterator[Any]:
    made: list[Founded] = []

    def build(c: Charter | None = None) -> Founded:
        f = found_ledger(str(tmp_path / f"l{len(made)}.db"), signers, c)
        made.append(f)
        index = {"2031-05": "100.0", "2040-06": "125.0"}
        series = "HPI-ALMERE" if c is None else "CPI"
        f.append("coop-admin", [publish_index(series, m, v, "test") for m, v in index.items()])
        f.append(
            "levy-admin",
            [
                levy.register_property(
                    "P-1", "home", "Pampus-Haven", D("2031-05-01"), 400_000_00, D("2031-02-01")
                ),
                levy.sell_property("P-1", D("2040-06-15"), 545_000_00, "deed-1"),
            ],
        )
        return f

    yield build
    for f in made:
        f.store.dispose()


def sale_seq(f: Founded) -> int:
    with f.store.reading() as tx:
        (row,) = levy.levy_register(tx.state)
        return int(row["sale_seq"])


def _settled_out_of_order(f: Founded) -> None:
    """The waiver (dated 2040-09-01) is recorded before the payment it follows (2040-07-01)."""
    seq = sale_seq(f)
    f.append("governor", [levy.waive_levy(seq, "hardship", D("2040-09-01"), 1_000_00)])
    f.append("levy-admin", [levy.pay_levy(seq, 5_000_00, D("2040-07-01"), "notary")])


def _register_at(f: Founded, at: str) -> list[tuple[int, int, int, int]]:
    with f.store.reading() as tx:
        rows = levy.levy_register(tx.state, at=D(at))
        return [
            (r["assessed_cents"], r["paid_cents"], r["waived_cents"], r["outstanding_cents"])
            for r in rows
        ]


@pytest.mark.parametrize(
    ("at", "position"),
    [
        pytest.param("2040-06-14", [], id="before the sale: no levy yet"),
        pytest.param("2040-06-15", [(LEVY, 0, 0, LEVY)], id="the sale's date: all owed"),
        pytest.param(
            "2040-07-01", [(LEVY, 5_000_00, 0, 8_500_00)], id="the payment's date, recorded later"
        ),
        pytest.param(
            "2040-09-01",
            [(LEVY, 5_000_00, 1_000_00, 7_500_00)],
            id="the waiver's date, recorded first",
        ),
    ],
)
@pytest.mark.parametrize("edition", [2, 1])
def test_a_levy_is_owed_by_date(make: Any, edition: int, at: str, position: list[Any]) -> None:
    f = make(None if edition == 2 else charter_v1())
    _settled_out_of_order(f)
    assert _register_at(f, at) == position
    owed = position[0][3] if position else 0
    with f.store.reading() as tx:
        # The receivable is kept by date under both editions (ledger/dated.py).
        assert dated.balance_on(tx.state, RECEIVABLE, D(at)) == owed
        assert verify_store(tx).ok


def test_a_levy_payment_before_the_sale_is_refused(make: Any) -> None:
    f = make()
    refused(
        f,
        "levy-admin",
        levy.pay_levy(sale_seq(f), 1_000_00, D("2040-06-14"), "early"),
        "payment dated 2040-06-14 is before the sale on 2040-06-15",
    )


# -- the contribution: a payment pays only charges made by its date -----------------------------


@pytest.fixture
def area_v1(founded_v1: Founded) -> Founded:
    return _story(founded_v1)


@pytest.fixture
def area(founded: Founded) -> Founded:
    f = _story(founded)
    debtor(f, "P-H1", "OWNER-7", "2032-01-20")
    workplaces(f, "B-1", 3, "2031-09-01")
    return f


def charge(f: Founded, month: str, on: str) -> None:
    f.append("levy-admin", [contributions.charge_month(month, D(on))])


def pay(f: Founded, subject: str, cents: int, on: str) -> Any:
    return contributions.pay_contribution(cents, D(on), f"ref-{on}", subject=subject)


def test_edition_2_a_payment_before_its_charge_is_refused(area: Founded) -> None:
    charge(area, "2032-01", "2032-01-31")
    refused(
        area,
        "levy-admin",
        pay(area, "B-1", 30_00, "2032-01-10"),
        "subject B-1: the charge for 2032-01 is dated 2032-01-31, after the payment on 2032-01-10",
    )
    # On the charge's own date it is owed, so it can be paid.
    area.append("levy-admin", [pay(area, "B-1", 30_00, "2032-01-31")])


def test_edition_2_a_payment_covers_only_the_charges_made_by_its_date(area: Founded) -> None:
    charge(area, "2032-02", "2032-02-20")  # recorded first, dated later
    charge(area, "2032-01", "2032-01-31")
    refused(
        area,
        "levy-admin",
        pay(area, "B-1", 60_00, "2032-02-10"),
        "subject B-1: payment 60.00 is more than the 30.00 due on 2032-02-10",
    )
    area.append("levy-admin", [pay(area, "B-1", 30_00, "2032-02-10")])
    with area.store.reading() as tx:
        assert [r["month"] for r in contributions.arrears(tx.state) if r["subject"] == "B-1"] == [
            "2032-02"
        ]


def test_edition_1_a_payment_from_the_first_of_the_month_keeps_its_meaning(
    area_v1: Founded,
) -> None:
    charge(area_v1, "2032-02", "2032-02-20")
    area_v1.append("levy-admin", [pay(area_v1, "P-H1", 10_00, "2032-02-01")])
    with area_v1.store.reading() as tx:
        assert verify_store(tx).ok


# -- the contribution arrears at a date ---------------------------------------------------------


def _arrears_at(f: Founded, at: str) -> list[tuple[str, str, int]]:
    with f.store.reading() as tx:
        return [
            (r["subject"], r["month"], r["due_cents"]) for r in contribution_arrears_at(tx, D(at))
        ]


def test_the_arrears_at_a_date_count_charges_and_payments_dated_by_then(area: Founded) -> None:
    charge(area, "2032-02", "2032-02-01")  # recorded before January's run, dated after it
    charge(area, "2032-01", "2032-01-31")
    area.append("levy-admin", [pay(area, "B-1", 40_00, "2032-02-05")])  # January, then February
    area.append("levy-admin", [pay(area, "P-H1", 10_00, "2032-01-31")])
    assert _arrears_at(area, "2032-01-30") == []
    assert _arrears_at(area, "2032-01-31") == [("B-1", "2032-01", 30_00), ("D-1", "2032-01", 10_00)]
    assert _arrears_at(area, "2032-02-04") == [
        ("B-1", "2032-01", 30_00),
        ("B-1", "2032-02", 30_00),
        ("D-1", "2032-01", 10_00),
        ("D-1", "2032-02", 10_00),
        ("P-H1", "2032-02", 10_00),
    ]
    assert _arrears_at(area, "2032-02-05") == [
        ("B-1", "2032-02", 20_00),
        ("D-1", "2032-01", 10_00),
        ("D-1", "2032-02", 10_00),
        ("P-H1", "2032-02", 10_00),
    ]
    # At the last date, the position is the arrears the ledger keeps now.
    with area.store.reading() as tx:
        now = [(r["subject"], r["month"], r["due_cents"]) for r in contributions.arrears(tx.state)]
    assert _arrears_at(area, "2099-12-31") == now
