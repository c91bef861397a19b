"""Money by date, resale at the notary, the owner's offer and people-only home shares (issue 12
points 1-3, rules edition 2): one case per clause, through the real appliers, auditor included.

Every case runs on a founded SQLite ledger under the placeholder (version-2) charter unless it
says otherwise. D-1 is a fixed-rate compound 2% dwelling on 250,000.00 from 2031-05-01: its
preset price is 250,000.00 on 2031-05-01, 265,302.00 on 2034-05-01 (n = 3) and 270,608.04 on
2035-05-01 (n = 4). Entries 0-3 found the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger import dated
from ledger.charter import TEMPLATE, charter_from_dict, parse_charter
from ledger.checks import verify_store
from ledger.errors import InputError, LedgerError, RuleViolationError
from ledger.keys import Signer
from ledger.postings import FUND, balance
from ledger.rules import fund, members, shares
from ledger.rules.corrections import correct
from ledger.rules.governance import amend_charter
from ledger.rules.members import PersonalData
from tests.support import Founded, charter_v1, found_ledger

SOLD = date(2031, 5, 1)
N3 = date(2034, 5, 1)
N4 = date(2035, 5, 1)
PRICE_N4 = 270_608_04


def version_1(**shares_terms: Any) -> Any:
    data = charter_v1().model_dump(mode="json")
    data["shares"].update(shares_terms)
    return charter_from_dict(data)


class Book:
    """A founded ledger and the steps the cases are made of."""

    def __init__(self, f: Founded) -> None:
        self.f = f

    def admit(self, member_id: str, kind: str = "person") -> None:
        self.f.append(
            "coop-admin",
            [members.admit(member_id, kind, PersonalData(name=member_id), date(2031, 1, 4))],  # type: ignore[arg-type]
        )

    def register(self, dwelling_id: str = "D-1") -> None:
        self.f.append(
            "coop-admin",
            [
                shares.register_dwelling(
                    dwelling_id,
                    "Pampus-Haven",
                    SOLD,
                    250_000_00,
                    SOLD,
                    rule="fixed-rate",
                    rate="0.02",
                    compounding="compound",
                )
            ],
        )

    def deposit(self, cents: int, on: date) -> int:
        return self.f.append("coop-admin", [fund.deposit(cents, "GEM", None, on)]).entries[0].seq

    def sell(self, member_id: str, on: date = SOLD, dwelling_id: str = "D-1", **kw: Any) -> int:
        papers: dict[str, Any] = {"deed": f"AKTE-{on}", "declared_on": on, "declaration": "V"}
        command = shares.sell_share(dwelling_id, member_id, on, **{**papers, **kw})
        return self.f.append("coop-admin", [command]).entries[0].seq

    def buy_back(self, on: date, dwelling_id: str = "D-1", **kw: Any) -> int:
        command = shares.buy_back_share(dwelling_id, on, **{"deed": f"AKTE-{on}", **kw})
        return self.f.append("coop-admin", [command]).entries[0].seq

    def resell(self, buyer: str, on: date = N4, **kw: Any) -> Any:
        args: dict[str, Any] = {"deed": "AKTE-R", "declared_on": on, "declaration": "V-R", **kw}
        return self.f.append("coop-admin", [shares.resell_share("D-1", buyer, on, **args)])

    def offer(self, on: date) -> Any:
        return self.f.append("coop-admin", [shares.offer_share("D-1", on)])

    def correct(self, seq: int) -> None:
        self.f.append("governor", [correct(seq, "entered by mistake")])

    def fund_on(self, on: date) -> int:
        with self.f.store.reading() as tx:
            return dated.balance_on(tx.state, FUND, on)

    def balance(self, account: str) -> int:
        with self.f.store.reading() as tx:
            return balance(tx.state, account)

    def offers(self, at: date) -> list[dict[str, Any]]:
        with self.f.store.reading() as tx:
            return shares.open_offers(tx.state, at)

    def snapshot(self) -> Any:
        with self.f.store.reading() as tx:
            return tx.head()[0], tx.state.snapshot()

    def verifies(self) -> None:
        with self.f.store.reading() as tx:
            report = verify_store(tx)
        assert report.ok, report.findings


@pytest.fixture
def book(founded: Founded) -> Book:
    return Book(founded)


@pytest.fixture
def book_v1(tmp_path: Path, signers: dict[str, Signer]) -> Book:
    return Book(found_ledger(str(tmp_path / "v1.db"), signers, version_1()))


Step = Callable[[Book], object]


def _sold(b: Book) -> None:
    b.admit("M-1")
    b.register()
    b.sell("M-1")


def _sold_and_offered(b: Book) -> None:
    _sold(b)
    b.admit("M-2", "household")
    b.offer(date(2035, 3, 1))


# -- refusals: (setup, attempt, error, message) -------------------------------------------------

REFUSALS = [
    pytest.param(
        lambda b: (b.deposit(100_000_00, date(2040, 1, 1)), _sold(b)),
        lambda b: b.buy_back(N4),
        RuleViolationError,
        "buy-back of dwelling D-1's share from M-1: the fund would hold -20608.04 on "
        "2035-05-01, short by 20608.04",
        id="(a) a deposit dated 2040 does not pay a buy-back in 2035",
    ),
    pytest.param(
        lambda b: (
            b.deposit(30_000_00, date(2031, 1, 10)),
            _sold(b),
            b.register("D-2"),
            b.admit("M-3"),
            b.sell("M-3", dwelling_id="D-2"),
            b.buy_back(N4),
            b.deposit(100_000_00, date(2036, 1, 1)),
        ),
        lambda b: b.buy_back(N3, dwelling_id="D-2"),
        RuleViolationError,
        "the fund would hold -5910.04 on 2035-05-01, short by 5910.04",
        id="a back-dated payment is checked on every later date, not only its own",
    ),
    pytest.param(
        lambda b: (
            b.deposit(100_000_00, date(2031, 1, 10)),
            _sold(b),
            b.buy_back(N4),
            b.deposit(200_000_00, date(2036, 1, 1)),
        ),
        lambda b: b.correct(4),
        RuleViolationError,
        "correction of entry 4 (fund.deposited): the fund would hold -20608.04 on 2035-05-01",
        id="a correction reverses the entry on the entry's own date",
    ),
    pytest.param(
        _sold,
        lambda b: b.resell("M-1"),
        RuleViolationError,
        "the buyer is the member who holds the share",
        id="(b) a resale goes to another member",
    ),
    pytest.param(
        lambda b: (b.admit("M-2"), b.register()),
        lambda b: b.resell("M-2"),
        RuleViolationError,
        "dwelling D-1: the share is held by the cooperative; sell it instead",
        id="(b) a resale needs a holder",
    ),
    pytest.param(
        lambda b: (_sold(b), b.admit("B-1", "business")),
        lambda b: b.resell("B-1"),
        RuleViolationError,
        "member B-1 is a business; the charter (entry 0) gives home shares only to person, "
        "household",
        id="(b)(e) a resale's buyer is a person or household",
    ),
    pytest.param(
        lambda b: (_sold(b), b.admit("M-2"), b.register("D-2"), b.sell("M-2", dwelling_id="D-2")),
        lambda b: b.resell("M-2"),
        RuleViolationError,
        "member M-2 holds 1 dwelling share(s) (D-2); the charter (entry 0) allows at most 1",
        id="(b) a resale's buyer has room for the share",
    ),
    pytest.param(
        lambda b: (b.admit("M-1"), b.register(), b.sell("M-1", date(2033, 1, 1)), b.admit("M-2")),
        lambda b: b.resell("M-2", on=date(2032, 6, 1)),
        RuleViolationError,
        "2032-06-01 is before the share's last change of holder on 2033-01-01",
        id="(b) a resale is not dated before the seller bought",
    ),
    pytest.param(
        lambda b: (_sold(b), b.admit("M-2")),
        lambda b: b.resell("M-2", declared_on=date(2035, 5, 2)),
        RuleViolationError,
        "the self-occupation declaration is dated 2035-05-02, after the sale on 2035-05-01",
        id="(b) the buyer's declaration is made by the resale date",
    ),
    pytest.param(
        lambda b: (b.admit("B-1", "business"), b.register()),
        lambda b: b.sell("B-1"),
        RuleViolationError,
        "sale of dwelling D-1's share to B-1: member B-1 is a business; the charter (entry 0) "
        "gives home shares only to person, household",
        id="(e) a company cannot buy a home share",
    ),
    pytest.param(
        lambda b: (b.admit("M-1"), b.register()),
        lambda b: b.sell("M-1", deed=None),
        RuleViolationError,
        "sale of dwelling D-1's share to M-1: the notarial deed reference is missing",
        id="a sale names its notarial deed",
    ),
    pytest.param(
        _sold,
        lambda b: b.buy_back(SOLD, deed=None),
        RuleViolationError,
        "buy-back of dwelling D-1's share from M-1: the notarial deed reference is missing",
        id="a buy-back names its notarial deed",
    ),
    pytest.param(
        lambda b: (b.admit("M-1"), b.register()),
        lambda b: b.sell("M-1", declared_on=None, declaration=None),
        RuleViolationError,
        "the buyer's self-occupation declaration is missing",
        id="(e) a sale carries the self-occupation declaration",
    ),
    pytest.param(
        lambda b: (b.admit("M-1"), b.register()),
        lambda b: b.sell("M-1", declaration=None),
        InputError,
        "a self-occupation declaration needs both its date and its reference",
        id="(e) a declaration has a date and a reference",
    ),
    pytest.param(
        lambda b: (b.admit("M-1"), b.register()),
        lambda b: b.offer(date(2035, 3, 1)),
        RuleViolationError,
        "dwelling D-1: the share is held by the cooperative; there is nothing to offer",
        id="only a holder offers a share",
    ),
    pytest.param(
        _sold_and_offered,
        lambda b: b.offer(date(2035, 4, 1)),
        RuleViolationError,
        "the share was already offered on 2035-03-01 (entry 8), deadline 2035-06-01",
        id="an open offer is not made twice",
    ),
    pytest.param(
        _sold,
        lambda b: b.offer(date(2031, 4, 1)),
        RuleViolationError,
        "2031-04-01 is before the member acquired the share on 2031-05-01",
        id="an offer is not dated before the holder bought",
    ),
]


@pytest.mark.parametrize(("setup", "attempt", "error", "message"), REFUSALS)
def test_refused(
    book: Book, setup: Step, attempt: Step, error: type[LedgerError], message: str
) -> None:
    setup(book)
    before = book.snapshot()
    with pytest.raises(error) as caught:
        attempt(book)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert book.snapshot() == before, "a refused command changed the ledger"


# -- accepted ------------------------------------------------------------------------------------


def test_money_by_date_a_later_deposit_dated_before_the_payment_makes_it_payable(
    book: Book,
) -> None:
    book.deposit(100_000_00, date(2040, 1, 1))
    _sold(book)
    book.deposit(20_608_04, date(2035, 5, 1))  # the same date counts: balances are end-of-day
    book.buy_back(N4)
    assert book.fund_on(date(2035, 4, 30)) == 250_000_00
    assert book.fund_on(N4) == 0
    assert book.fund_on(date(2040, 1, 1)) == 100_000_00
    assert book.balance(FUND) == 100_000_00
    book.verifies()


def test_resale_is_one_entry_checked_on_the_net(book: Book) -> None:
    """(b): the fund holds only the first sale's 250,000.00; a buy-back at 270,608.04 alone is
    refused, the resale the same day is not: the buyer's money pays the seller."""
    _sold_and_offered(book)
    with pytest.raises(RuleViolationError, match=r"short by 20608\.04"):
        book.buy_back(N4)
    receipt = book.resell("M-2")
    body = receipt.facts[0].body
    assert (body.seller_id, body.buyer_id, body.deed) == ("M-1", "M-2", "AKTE-R")
    assert body.buy_back_price_cents == body.sale_price_cents == PRICE_N4
    assert [(p.account, p.amount_cents) for p in body.postings] == [
        ("member:M-2", -PRICE_N4),
        ("member:M-1", PRICE_N4),
    ]
    assert book.balance(FUND) == 250_000_00
    with book.f.store.reading() as tx:
        d1 = tx.state.get("dwelling", "D-1")
        m1, m2 = tx.state.get("member", "M-1"), tx.state.get("member", "M-2")
    assert d1 is not None and m1 is not None and m2 is not None
    assert (d1["holder"], d1["since"], d1["price_paid_cents"]) == ("M-2", "2035-05-01", PRICE_N4)
    assert (m1["holdings"], m2["holdings"]) == ([], ["D-1"])
    assert book.offers(N4) == [], "the resale settles the owner's offer"
    book.verifies()


def test_an_offer_has_the_charter_deadline_and_is_named_when_overdue(book: Book) -> None:
    _sold_and_offered(book)
    on_time = book.offers(date(2035, 6, 1))
    assert on_time == [
        {
            "dwelling_id": "D-1",
            "member_id": "M-1",
            "offered_on": "2035-03-01",
            "offer_seq": 8,
            "deadline": "2035-06-01",
            "overdue": False,
            "days_overdue": 0,
        }
    ]
    late = book.offers(date(2035, 6, 11))
    assert late[0]["overdue"] and late[0]["days_overdue"] == 10
    assert book.offers(date(2035, 2, 28)) == [], "not yet offered on that date"
    book.deposit(50_000_00, date(2035, 1, 1))
    book.buy_back(N4)
    assert book.offers(date(2035, 6, 11)) == [], "the buy-back settles it"
    assert book.offers(date(2035, 4, 30))[0]["deadline"] == "2035-06-01", "still open then"
    book.verifies()


def test_correcting_the_buy_back_reopens_the_offer_it_settled(book: Book) -> None:
    _sold_and_offered(book)
    book.deposit(50_000_00, date(2035, 1, 1))
    seq = book.buy_back(N4)
    assert book.offers(date(2035, 6, 11)) == []
    book.correct(seq)
    assert [o["overdue"] for o in book.offers(date(2035, 6, 11))] == [True]
    book.verifies()


def test_the_offer_deadline_is_a_charter_parameter(book: Book) -> None:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    data["shares"]["buyback_deadline_months"] = 6
    book.f.append("governor", [amend_charter(charter_from_dict(data), "six months")])
    _sold(book)
    assert book.offer(date(2035, 3, 1)).facts[0].body.deadline == date(2035, 9, 1)


def test_holder_kinds_is_a_charter_parameter(book: Book) -> None:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    data["shares"]["holder_kinds"] = ["person", "household", "business"]
    book.f.append("governor", [amend_charter(charter_from_dict(data), "companies too")])
    book.admit("B-1", "business")
    book.register()
    book.sell("B-1")
    book.verifies()


# -- edition 1 keeps its meaning ----------------------------------------------------------------


def test_edition_1_checks_the_fund_in_log_order(book_v1: Book) -> None:
    """Under a version-1 charter the entries of defect (a) verify as they always did."""
    book_v1.deposit(100_000_00, date(2040, 1, 1))
    book_v1.admit("B-1", "business")
    book_v1.register()
    book_v1.sell("B-1", deed=None, declared_on=None, declaration=None)
    book_v1.buy_back(N4, deed=None)
    assert book_v1.fund_on(date(2036, 1, 1)) == -20_608_04
    book_v1.verifies()


EDITION_2 = "an edition-2 entry; the charter in force (entry 0) is version 1"


@pytest.mark.parametrize(
    ("sold_first", "attempt", "message"),
    [
        (False, lambda b: b.sell("M-1"), "deed references and declarations are edition-2 rules"),
        (True, lambda b: b.buy_back(N4), "deed references and declarations are edition-2 rules"),
        (True, lambda b: b.resell("M-2"), EDITION_2),
        (True, lambda b: b.offer(N4), EDITION_2),
    ],
    ids=["a deed on a sale", "a deed on a buy-back", "a resale", "an offer"],
)
def test_edition_2_entries_are_refused_under_a_version_1_charter(
    book_v1: Book, sold_first: bool, attempt: Step, message: str
) -> None:
    book_v1.admit("M-1")
    book_v1.admit("M-2")
    book_v1.register()
    if sold_first:
        book_v1.sell("M-1", deed=None, declared_on=None, declaration=None)
    with pytest.raises(RuleViolationError) as caught:
        attempt(book_v1)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "terms",
    [{"holder_kinds": ["person"]}, {"buyback_deadline_months": 3}],
    ids=["holder_kinds", "buyback_deadline_months"],
)
def test_a_version_1_charter_cannot_carry_edition_2_share_parameters(
    terms: dict[str, Any],
) -> None:
    with pytest.raises(InputError, match="is a version-2 parameter"):
        version_1(**terms)


def test_a_version_2_charter_without_the_parameters_takes_the_placeholders() -> None:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    for name in ("holder_kinds", "buyback_deadline_months"):
        data["shares"].pop(name)
    terms = charter_from_dict(data).shares
    assert terms.home_holder_kinds == ("person", "household")
    assert terms.offer_deadline_months == 3
    # The placeholders are written into the charter, so the signed charter says what it applies.
    assert charter_from_dict(data).model_dump(mode="json")["shares"]["holder_kinds"] == [
        "person",
        "household",
    ]
