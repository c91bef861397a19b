"""Dwelling shares at preset prices, one case per rule clause, through the real appliers.

Every case runs on a founded SQLite ledger (the `founded` fixture: the placeholder charter,
half-up rounding, at most 1 dwelling share per member, districts Pampus-Centrum/-Haven/-Oost).
Entries 0-3 found the ledger, so the first entry a case appends is entry 4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from ledger.charter import TEMPLATE, charter_from_dict, parse_charter
from ledger.checks import verify_store
from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import (
    AuthorizationError,
    InputError,
    LedgerError,
    NotFoundError,
    RuleViolationError,
)
from ledger.postings import balance
from ledger.rules import fund, index_series, members, shares
from ledger.rules.corrections import correct
from ledger.rules.governance import amend_charter
from ledger.rules.members import PersonalData
from tests.support import Founded

BASE = date(2021, 5, 1)
ADMITTED = date(2021, 1, 4)
TEN_YEARS_ON = date(2031, 5, 1)


def charter(**changes: Any) -> Any:
    """The placeholder charter with some cooperative/shares values changed."""
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    for path, value in changes.items():
        section, key = path.split("__")
        data[section][key] = value
    return charter_from_dict(data)


def sale(dwelling_id: str, member_id: str, on: date, **kw: Any) -> Command:
    """A sale with the papers edition 2 asks for: the deed and the self-occupation declaration."""
    papers = {"deed": f"AKTE-{dwelling_id}-{on}", "declared_on": on, "declaration": "V-1"}
    return shares.sell_share(dwelling_id, member_id, on, **{**papers, **kw})


def buy_back(dwelling_id: str, on: date, **kw: Any) -> Command:
    return shares.buy_back_share(dwelling_id, on, **{"deed": f"AKTE-{dwelling_id}-{on}", **kw})


@dataclass
class Story:
    """A founded ledger and the few steps every case is made of."""

    f: Founded
    made: list[str] = field(default_factory=list)

    def admit(self, *member_ids: str, on: date = ADMITTED) -> None:
        self.f.append(
            "coop-admin",
            [members.admit(m, "household", PersonalData(name=m), on) for m in member_ids],
        )

    def register(self, dwelling_id: str = "D-17", **rule: Any) -> None:
        params: dict[str, Any] = {
            "district": "Pampus-Haven",
            "delivered": BASE,
            "base_price_cents": 250_000_00,
            "base_date": BASE,
            "rule": "nominal",
            **rule,
        }
        self.f.append("coop-admin", [shares.register_dwelling(dwelling_id, **params)])

    def publish(self, *values: tuple[str, str], series: str = "CPI") -> None:
        self.f.append(
            "coop-admin",
            [index_series.publish_index(series, m, v, "CBS (placeholder)") for m, v in values],
        )

    def deposit(self, cents: int, source: str = "GEM") -> None:
        self.f.append("coop-admin", [fund.deposit(cents, source)])

    def sell(self, dwelling_id: str, member_id: str, on: date, **kw: Any) -> int:
        receipt = self.f.append("coop-admin", [sale(dwelling_id, member_id, on, **kw)])
        return receipt.entries[-1].seq

    def buy_back(self, dwelling_id: str, on: date, **kw: Any) -> int:
        receipt = self.f.append("coop-admin", [buy_back(dwelling_id, on, **kw)])
        return receipt.entries[-1].seq

    def amend(self, **changes: Any) -> None:
        self.f.append("governor", [amend_charter(charter(**changes), "test amendment")])

    def correct(self, seq: int, reason: str = "entered by mistake") -> None:
        self.f.append("governor", [correct(seq, reason)])

    def forged(self, command: Command, **changes: Any) -> Command:
        """The fact the real command decides, with some body fields changed (a forged entry)."""
        fact = self.f.ledger.dry_run([command], self.f.signers["coop-admin"])[0]
        body = fact.body.model_copy(update=changes)
        return LegacyCommand("forged", {}, lambda _s, _c: Fact(fact.kind, body, fact.effective))

    def record(self, ns: str, key: str) -> dict[str, Any]:
        with self.f.store.reading() as tx:
            value = tx.state.get(ns, key)
        assert value is not None, f"no {ns}/{key}"
        return value

    def balance(self, account: str) -> int:
        with self.f.store.reading() as tx:
            return balance(tx.state, account)

    def body(self, seq: int) -> dict[str, Any]:
        from ledger.encoding import loads

        with self.f.store.reading() as tx:
            data = tx.entry(seq)
        assert data is not None
        return dict(loads(data)["entry"]["body"])

    def snapshot(self) -> tuple[int, dict[tuple[str, str], bytes]]:
        with self.f.store.reading() as tx:
            return tx.head()[0], tx.state.snapshot()


@pytest.fixture
def story(founded: Founded) -> Story:
    return Story(founded)


# -- the worked examples of DOMAIN.md, end to end through a sale --------------------------------

CPI_EXAMPLE = (("2021-05", "130000"), ("2031-05", "150000"))


@pytest.mark.parametrize(
    ("rule", "index", "on", "amend_first", "expected_cents"),
    [
        pytest.param(
            dict(rule="nominal"),
            (),
            TEN_YEARS_ON,
            {},
            250_000_00,
            id="nominal 250,000 stays 250,000.00",
        ),
        pytest.param(
            dict(rule="fixed-rate", rate="0.02", compounding="simple"),
            (),
            TEN_YEARS_ON,
            {},
            300_000_00,
            id="fixed-rate simple 2% over 10 years on 250,000 gives 300,000.00",
        ),
        pytest.param(
            dict(rule="fixed-rate", rate="0.02", compounding="compound"),
            (),
            TEN_YEARS_ON,
            {},
            304_748_60,
            id="fixed-rate compound 2% over 10 years on 250,000 gives 304,748.60",
        ),
        pytest.param(
            dict(
                rule="fixed-rate", rate="0.015", compounding="compound", base_price_cents=350_000_00
            ),
            (),
            date(2028, 5, 1),
            {},
            388_445_72,
            id="compound 1.5% over 7 years on 350,000 gives 388,445.72 (half-up)",
        ),
        pytest.param(
            dict(
                rule="fixed-rate", rate="0.015", compounding="compound", base_price_cents=350_000_00
            ),
            (),
            date(2028, 5, 1),
            {"cooperative__rounding": "truncate"},
            388_445_71,
            id="the same under a truncating charter gives 388,445.71",
        ),
        pytest.param(
            dict(rule="indexed", series="CPI"),
            CPI_EXAMPLE,
            TEN_YEARS_ON,
            {},
            288_461_54,
            id="indexed 130,000 -> 150,000 on 250,000 gives 288,461.54 (half-up)",
        ),
        pytest.param(
            dict(rule="indexed", series="CPI"),
            CPI_EXAMPLE,
            TEN_YEARS_ON,
            {"cooperative__rounding": "truncate"},
            288_461_53,
            id="the same under a truncating charter gives 288,461.53",
        ),
        pytest.param(
            dict(rule="indexed"),
            CPI_EXAMPLE,
            TEN_YEARS_ON,
            {},
            288_461_54,
            id="no rule named: the charter's default rule (indexed, CPI) applies",
        ),
        pytest.param(
            dict(rule="fixed-rate", rate="0.02", compounding="simple"),
            (),
            date(2031, 4, 30),
            {},
            295_000_00,
            id="n counts whole years: the day before the 10th anniversary counts 9",
        ),
        pytest.param(
            dict(rule="shared-appreciation", owner_share="0.5", base_appraisal_cents=300_000_00),
            (),
            TEN_YEARS_ON,
            {},
            250_000_00 + 10_000_00 + 50_000_00,
            id="shared appreciation: paid + improvements + half of (400,000 - 300,000)",
        ),
    ],
)
def test_worked_example_through_a_sale(
    story: Story,
    rule: dict[str, Any],
    index: tuple[tuple[str, str], ...],
    on: date,
    amend_first: dict[str, Any],
    expected_cents: int,
) -> None:
    if amend_first:
        story.amend(**amend_first)
    story.admit("M-42")
    story.register(**rule)
    if index:
        story.publish(*index)
    extra: dict[str, Any] = {}
    if rule["rule"] == "shared-appreciation":
        extra = {"appraisal_cents": 400_000_00, "improvements_cents": 10_000_00}
    seq = story.sell("D-17", "M-42", on, **extra)
    body = story.body(seq)
    assert body["price_cents"] == expected_cents
    assert body["postings"] == [
        {"account": "fund", "amount_cents": expected_cents},
        {"account": "member:M-42", "amount_cents": -expected_cents},
    ]
    assert story.balance("fund") == expected_cents
    assert story.balance("member:M-42") == -expected_cents
    dwelling = story.record("dwelling", "D-17")
    assert (dwelling["holder"], dwelling["since"], dwelling["price_paid_cents"]) == (
        "M-42",
        on.isoformat(),
        expected_cents,
    )
    assert story.record("member", "M-42")["holdings"] == ["D-17"]


@pytest.mark.parametrize(
    ("registered_under", "sold_under", "expected_cents"),
    [
        pytest.param(
            "truncate",
            "half-up",
            288_461_53,
            id="a contract made under truncate keeps truncating after the charter changes",
        ),
        pytest.param(
            "half-up",
            "truncate",
            288_461_54,
            id="a contract made under half-up keeps half-up after the charter changes",
        ),
    ],
)
def test_a_dwelling_keeps_the_rounding_of_its_contract(
    story: Story, registered_under: str, sold_under: str, expected_cents: int
) -> None:
    story.admit("M-42")
    if registered_under != "half-up":
        story.amend(cooperative__rounding=registered_under)
    story.register(rule="indexed", series="CPI")
    story.amend(cooperative__rounding=sold_under)
    story.publish(*CPI_EXAMPLE)
    seq = story.sell("D-17", "M-42", TEN_YEARS_ON)
    assert story.body(seq)["price_cents"] == expected_cents
    assert story.body(seq)["inputs"]["rounding"] == registered_under


# -- refusals: one per rule clause ---------------------------------------------------------------


def _sold_to_m1(s: Story) -> None:
    s.admit("M-1", "M-2")
    s.register("D-17")
    s.sell("D-17", "M-1", TEN_YEARS_ON)


def _indexed_with_base_only(s: Story) -> None:
    s.admit("M-1")
    s.register("D-17", rule="indexed", series="CPI")
    s.publish(("2021-05", "130000"))


def _two_dwellings_one_sold(s: Story) -> None:
    s.admit("M-1")
    s.register("D-1")
    s.register("D-2")
    s.sell("D-1", "M-1", TEN_YEARS_ON)


def _registered(s: Story) -> None:
    s.admit("M-1", "M-2")
    s.register("D-17")


def _sold_at_the_base_price(s: Story) -> None:
    # Sold for 250,000 on the base date; ten years on its preset price is 300,000.
    s.admit("M-1")
    s.register("D-17", rule="fixed-rate", rate="0.02", compounding="simple")
    s.sell("D-17", "M-1", BASE)


def _forgotten_member(s: Story) -> None:
    s.admit("M-1")
    s.f.append("coop-admin", [members.forget("M-1", date(2031, 3, 1))])
    s.register("D-17")


Refusal = Callable[[Story], None]

REFUSALS: list[Any] = [
    pytest.param(
        _indexed_with_base_only,
        lambda s: s.sell("D-17", "M-1", date(2031, 6, 1)),
        RuleViolationError,
        "dwelling D-17: index CPI has no value for 2031-06",
        id="a missing index month is a clear error, not a guess",
    ),
    pytest.param(
        _indexed_with_base_only,
        lambda s: s.sell("D-17", "M-1", date(2021, 4, 30)),
        RuleViolationError,
        "before the base date 2021-05-01",
        id="a date before the base date is a clear error",
    ),
    pytest.param(
        lambda s: (s.admit("M-1"), s.register("D-17", delivered=date(2031, 6, 1))),
        lambda s: s.sell("D-17", "M-1", TEN_YEARS_ON),
        RuleViolationError,
        "2031-05-01 is before its delivery on 2031-06-01",
        id="a share is sold with its home: not before delivery",
    ),
    pytest.param(
        _two_dwellings_one_sold,
        lambda s: s.sell("D-2", "M-1", TEN_YEARS_ON),
        RuleViolationError,
        "member M-1 holds 1 dwelling share(s) (D-1); the charter (entry 0) allows at most 1",
        id="a member holds at most the charter's maximum of dwelling shares",
    ),
    pytest.param(
        _sold_to_m1,
        lambda s: s.sell("D-17", "M-1", TEN_YEARS_ON),
        RuleViolationError,
        "dwelling D-17: share is held by M-1 since 2031-05-01",
        id="each share has one holder: a held share cannot be sold again",
    ),
    pytest.param(
        _sold_to_m1,
        lambda s: s.sell("D-17", "M-2", date(2032, 1, 1)),
        RuleViolationError,
        "a share passes between members only through the cooperative",
        id="no member-to-member transfer",
    ),
    pytest.param(
        _registered,
        lambda s: s.buy_back("D-17", TEN_YEARS_ON),
        RuleViolationError,
        "the share is held by the cooperative; there is nothing to buy back",
        id="only a member's share can be bought back",
    ),
    pytest.param(
        _sold_to_m1,
        lambda s: s.f.append(
            "coop-admin",
            [s.forged(buy_back("D-17", date(2032, 1, 1)), member_id="M-2")],
        ),
        RuleViolationError,
        "dwelling D-17: the share is held by M-1, not M-2",
        id="a buy-back names the holder, no one else",
    ),
    pytest.param(
        _sold_to_m1,
        lambda s: s.buy_back("D-17", date(2031, 4, 1)),
        RuleViolationError,
        "2031-04-01 is before the share's last change of holder on 2031-05-01",
        id="a buy-back is not dated before the sale",
    ),
    pytest.param(
        _sold_at_the_base_price,
        lambda s: s.buy_back("D-17", TEN_YEARS_ON),
        RuleViolationError,
        "buy-back of dwelling D-17's share from M-1: the fund would hold -50000.00 on 2031-05-01, "
        "short by 50000.00",
        id="the fund never goes below zero: a buy-back it cannot pay names the shortfall",
    ),
    pytest.param(
        _registered,
        lambda s: s.f.append(
            "coop-admin",
            [s.forged(sale("D-17", "M-1", TEN_YEARS_ON), price_cents=249_999_99)],
        ),
        RuleViolationError,
        "price 249999.99 differs from the nominal rule's 250000.00 on 2031-05-01",
        id="a price is computed, never typed in: a body with another price is refused",
    ),
    pytest.param(
        _registered,
        lambda s: s.f.append(
            "coop-admin",
            [s.forged(sale("D-17", "M-1", TEN_YEARS_ON), inputs={"rule": "nominal"})],
        ),
        RuleViolationError,
        "recorded inputs differ from the computation's",
        id="the recorded inputs are the computation's",
    ),
    pytest.param(
        _registered,
        lambda s: s.f.append(
            "coop-admin", [s.forged(sale("D-17", "M-1", TEN_YEARS_ON), postings=())]
        ),
        RuleViolationError,
        "postings must move the price from the member to the fund",
        id="a sale's postings move the price from the member into the fund",
    ),
    pytest.param(
        _registered,
        lambda s: s.sell("D-17", "M-9", TEN_YEARS_ON),
        NotFoundError,
        "unknown member M-9",
        id="the buyer is an admitted member",
    ),
    pytest.param(
        _forgotten_member,
        lambda s: s.sell("D-17", "M-1", TEN_YEARS_ON),
        RuleViolationError,
        "personal data was erased at entry",
        id="a member whose personal data was erased cannot buy",
    ),
    pytest.param(
        lambda s: (s.admit("M-1", on=date(2031, 6, 1)), s.register("D-17")),
        lambda s: s.sell("D-17", "M-1", TEN_YEARS_ON),
        RuleViolationError,
        "is before the member's admission on 2031-06-01",
        id="a sale is not dated before the buyer's admission",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.sell("D-404", "M-1", TEN_YEARS_ON),
        NotFoundError,
        "unknown dwelling D-404",
        id="a share belongs to a registered dwelling",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.register("D-17", district="Amsterdam-Noord"),
        RuleViolationError,
        "district 'Amsterdam-Noord' is not one of the charter's districts",
        id="a dwelling lies in a charter district",
    ),
    pytest.param(
        _registered,
        lambda s: s.register("D-17"),
        RuleViolationError,
        "dwelling D-17 is already registered",
        id="a dwelling is registered once (exactly one share per dwelling)",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.register("D-17", base_price_cents=0),
        InputError,
        "the base price must be above 0",
        id="a base price is above zero",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.register("D-17", rule="fixed-rate", series="CPI"),
        InputError,
        "the fixed-rate price rule takes no index (given CPI)",
        id="a rule takes only its own parameters",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.register("D-17", rule="fixed-rate", rate="-0.01"),
        InputError,
        "rate must be 0 or more, found '-0.01'",
        id="a rule's parameters are validated by pricing",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.register("D-17", rule="shared-appreciation", owner_share="0.5"),
        InputError,
        "needs the owner share and the base appraisal",
        id="shared appreciation needs its owner share and base appraisal",
    ),
    pytest.param(
        lambda s: (
            s.admit("M-1"),
            s.register(
                "D-17",
                rule="shared-appreciation",
                owner_share="0.5",
                base_appraisal_cents=300_000_00,
            ),
        ),
        lambda s: s.sell("D-17", "M-1", TEN_YEARS_ON),
        InputError,
        "needs the appraised value now",
        id="a shared-appreciation sale needs the appraisal on its date",
    ),
    pytest.param(
        _registered,
        lambda s: s.sell("D-17", "M-1", TEN_YEARS_ON, appraisal_cents=1),
        InputError,
        "the nominal price rule takes no appraisal",
        id="other rules take no appraisal",
    ),
    pytest.param(
        lambda s: s.publish(("2031-05", "131.42")),
        lambda s: s.publish(("2031-05", "131.43")),
        RuleViolationError,
        "index CPI 2031-05 was already published at entry 4 (value 131.42); a "
        "published value is never changed",
        id="a published index value is never changed",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.publish(("2031-05", "0")),
        InputError,
        "an index value must be above 0",
        id="an index value is above zero",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.f.append(
            "governor", [index_series.correct_index("CPI", "2031-05", "131.42", "CBS", "typo")]
        ),
        RuleViolationError,
        "index CPI has no value for 2031-05 to correct",
        id="only a published index value can be corrected",
    ),
    pytest.param(
        lambda s: s.publish(("2031-05", "131.42")),
        lambda s: s.f.append(
            "governor", [index_series.correct_index("CPI", "2031-05", "131.420", "CBS", "typo")]
        ),
        RuleViolationError,
        "index CPI 2031-05 is already 131.42",
        id="a correction changes the value",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.deposit(0),
        InputError,
        "a deposit must be above 0",
        id="a deposit is above zero",
    ),
    pytest.param(
        lambda s: None,
        lambda s: s.deposit(100, source="the GEM"),
        InputError,
        "source: Value error, id 'the GEM' must be",
        id="a deposit names its source account",
    ),
]


@pytest.mark.parametrize(("setup", "attempt", "error", "message"), REFUSALS)
def test_refused(
    story: Story, setup: Refusal, attempt: Refusal, error: type[LedgerError], message: str
) -> None:
    setup(story)
    before = story.snapshot()
    with pytest.raises(error) as caught:
        attempt(story)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert story.snapshot() == before, "a refused command changed the ledger"


# -- roles ---------------------------------------------------------------------------------------

ROLE_CASES = [
    (
        "register a dwelling",
        lambda s: shares.register_dwelling(
            "D-9", "Pampus-Oost", BASE, 100_00, BASE, rule="nominal"
        ),
        "coop-admin",
    ),
    (
        "publish an index value",
        lambda s: index_series.publish_index("CPI", "2031-07", "120", "CBS"),
        "coop-admin",
    ),
    (
        "correct an index value",
        lambda s: index_series.correct_index("CPI", "2031-05", "131.5", "CBS", "revised"),
        "governor",
    ),
    ("deposit into the fund", lambda s: fund.deposit(100_00, "GEM"), "coop-admin"),
    ("sell a share", lambda s: sale("D-17", "M-2", TEN_YEARS_ON), "coop-admin"),
    ("buy a share back", lambda s: buy_back("D-18", TEN_YEARS_ON), "coop-admin"),
    ("correct an entry", lambda s: correct(9, "typo"), "governor"),  # entry 9: the deposit
]


@pytest.mark.parametrize(
    ("what", "make", "role", "signer"),
    [
        pytest.param(what, make, role, signer, id=f"{what}: {signer} {verdict}")
        for what, make, role in ROLE_CASES
        for signer in ("governor", "coop-admin", "werk-admin", "levy-admin")
        for verdict in ["may" if signer == role else "may not"]
    ],
)
def test_roles(founded: Founded, what: str, make: Any, role: str, signer: str) -> None:
    s = Story(founded)
    s.admit("M-1", "M-2")
    s.register("D-17")
    s.register("D-18")
    s.publish(("2031-05", "131.42"))
    s.deposit(1_000_000_00)
    s.sell("D-18", "M-1", TEN_YEARS_ON)
    assert s.body(9)["source"] == "GEM"
    before = s.snapshot()
    if signer == role:
        founded.append(signer, [make(s)])
        assert s.snapshot()[0] == before[0] + 1
    else:
        with pytest.raises(AuthorizationError, match=f"needs role {role}"):
            founded.append(signer, [make(s)])
        assert s.snapshot() == before


# -- corrections -----------------------------------------------------------------------------------


def test_correcting_a_sale_returns_the_share_and_the_money(story: Story) -> None:
    story.admit("M-1", "M-2")
    story.register("D-17")
    sale = story.sell("D-17", "M-1", TEN_YEARS_ON)
    story.correct(sale, "sold to the wrong household")
    assert story.record("dwelling", "D-17")["holder"] is None
    assert story.record("member", "M-1")["holdings"] == []
    assert story.balance("fund") == 0
    assert story.balance("member:M-1") == 0
    correction = story.body(sale + 1)
    assert (correction["seq"], correction["kind"]) == (sale, "share.sold")
    assert correction["postings"] == [
        {"account": "fund", "amount_cents": -250_000_00},
        {"account": "member:M-1", "amount_cents": 250_000_00},
    ]
    # The right household can now buy it; the report shows the sale, its correction, the resale.
    story.sell("D-17", "M-2", TEN_YEARS_ON)
    history = story.record("dwelling", "D-17")["history"]
    assert [(r["kind"], r["corrected_seq"]) for r in history] == [
        ("dwelling.registered", None),
        ("share.sold", sale + 1),
        ("correction.applied", None),
        ("share.sold", None),
    ]
    assert sale + 1 in story.record("member", "M-1")["history"]
    with story.f.store.reading() as tx:
        assert verify_store(tx).ok


def test_correcting_a_buy_back_returns_the_share_to_the_member(story: Story) -> None:
    story.admit("M-1")
    story.register("D-17")
    story.sell("D-17", "M-1", TEN_YEARS_ON)
    buy_back = story.buy_back("D-17", date(2033, 1, 1))
    story.correct(buy_back)
    dwelling = story.record("dwelling", "D-17")
    assert (dwelling["holder"], dwelling["since"]) == ("M-1", "2031-05-01")
    assert story.record("member", "M-1")["holdings"] == ["D-17"]
    assert story.balance("fund") == 250_000_00


def test_correcting_a_deposit_takes_the_money_out_again(story: Story) -> None:
    story.deposit(500_00)
    story.correct(4)
    assert story.balance("fund") == 0
    assert story.balance("external:GEM") == 0


def test_correcting_a_registration_withdraws_the_dwelling_and_frees_its_id(story: Story) -> None:
    story.register("D-17", base_price_cents=25_000_00)  # a zero too few
    story.correct(4, "base price typed wrong")
    assert story.record("dwelling", "D-17")["withdrawn_seq"] == 5
    story.admit("M-1")
    with pytest.raises(RuleViolationError, match="its registration was corrected at entry 5"):
        story.sell("D-17", "M-1", TEN_YEARS_ON)
    story.register("D-17", base_price_cents=250_000_00)
    seq = story.sell("D-17", "M-1", TEN_YEARS_ON)
    assert story.body(seq)["price_cents"] == 250_000_00
    kinds = [r["kind"] for r in story.record("dwelling", "D-17")["history"]]
    assert kinds == [
        "dwelling.registered",
        "correction.applied",
        "dwelling.registered",
        "share.sold",
    ]


CORRECTION_REFUSALS: list[Any] = [
    pytest.param(
        lambda s: (
            s.admit("M-1"),
            s.register("D-17"),
            s.sell("D-17", "M-1", TEN_YEARS_ON),
            s.deposit(1_000_000_00),
            s.buy_back("D-17", date(2033, 1, 1)),
        ),
        6,
        "entry 6 (share.sold) cannot be reversed: dwelling D-17's share changed hands after "
        "it, at entry 8 (share.bought-back on 2033-01-01); correct that entry first",
        id="a sale after which the share was bought back",
    ),
    pytest.param(
        lambda s: (
            _sold_at_the_base_price(s),
            s.deposit(100_000_00),
            s.buy_back("D-17", TEN_YEARS_ON),
        ),
        7,
        "correction of entry 7 (fund.deposited): the fund would hold -50000.00 on 2031-05-01, "
        "short by 50000.00",
        id="a deposit whose money was spent (the fund would go below zero)",
    ),
    pytest.param(
        lambda s: (s.deposit(500_00), s.correct(4)),
        4,
        "entry 4 (fund.deposited) was already corrected at entry 5",
        id="an entry already corrected",
    ),
    pytest.param(
        lambda s: s.admit("M-1"),
        4,
        "entry 4 cannot be corrected: only entries of kinds",
        id="an entry of a kind without a reversal (member admission)",
    ),
    pytest.param(
        lambda s: s.publish(("2031-05", "131.42")),
        4,
        "entry 4 cannot be corrected",
        id="a published index value (a governor replaces it with index correct)",
    ),
    pytest.param(
        lambda s: (s.deposit(500_00), s.correct(4)),
        5,
        "entry 5 cannot be corrected",
        id="a correction (it is not undone, only followed by new entries)",
    ),
    pytest.param(
        lambda s: (s.admit("M-1"), s.register("D-17"), s.sell("D-17", "M-1", TEN_YEARS_ON)),
        5,
        "entry 5 (dwelling.registered) cannot be reversed: dwelling D-17's share was "
        "transferred at entry 6 (share.sold)",
        id="a registration after which the share was sold",
    ),
    pytest.param(
        lambda s: (
            s.admit("M-1"),
            s.register("D-1"),
            s.register("D-2"),
            s.sell("D-1", "M-1", TEN_YEARS_ON),
            s.deposit(1_000_000_00),
            s.buy_back("D-1", date(2032, 1, 1)),
            s.sell("D-2", "M-1", date(2032, 2, 1)),
        ),
        9,
        "entry 9 (share.bought-back) cannot be reversed: returning dwelling D-1's share: "
        "member M-1 holds 1 dwelling share(s) (D-2); the charter (entry 0) allows at most 1",
        id="a buy-back whose member has since bought another share up to the maximum",
    ),
]


@pytest.mark.parametrize(("setup", "seq", "message"), CORRECTION_REFUSALS)
def test_correction_refused(story: Story, setup: Refusal, seq: int, message: str) -> None:
    setup(story)
    before = story.snapshot()
    with pytest.raises(RuleViolationError) as caught:
        story.correct(seq)
    assert message in str(caught.value)
    assert story.snapshot() == before


def test_correcting_an_entry_that_does_not_exist_is_not_found(story: Story) -> None:
    with pytest.raises(NotFoundError, match="entry 99 does not exist yet"):
        story.correct(99)


# -- index corrections -------------------------------------------------------------------------


def test_an_index_correction_keeps_both_values_and_prices_use_the_new_one(story: Story) -> None:
    story.admit("M-1")
    story.register("D-17", rule="indexed", series="CPI")
    story.publish(("2021-05", "130000"), ("2031-05", "15000"))  # a digit lost
    story.f.append(
        "governor",
        [index_series.correct_index("CPI", "2031-05", "150000", "CBS", "a digit was lost")],
    )
    with story.f.store.reading() as tx:
        rows = index_series.index_rows(tx.state, "CPI")
    may = rows[1]
    assert may["value"] == "150000"
    assert [(h["kind"], h["value"]) for h in may["history"]] == [
        ("index.published", "15000"),
        ("index.corrected", "150000"),
    ]
    seq = story.sell("D-17", "M-1", TEN_YEARS_ON)
    assert story.body(seq)["price_cents"] == 288_461_54
    assert story.body(seq)["inputs"]["index_now"] == "150000"


# -- the share register and the homes in use -----------------------------------------------------


def test_the_register_at_a_date_follows_the_holder_history(story: Story) -> None:
    story.admit("M-1", "M-2")
    story.register("D-17")
    story.deposit(1_000_000_00)
    story.sell("D-17", "M-1", date(2031, 5, 1))
    story.buy_back("D-17", date(2034, 3, 1))
    story.sell("D-17", "M-2", date(2034, 3, 1))
    with story.f.store.reading() as tx:

        def holder(at: date | None) -> tuple[str, str | None]:
            row = shares.share_register(tx.state, at)[0]
            return row["holder"], row["since"]

        assert holder(date(2021, 4, 30)) == ("cooperative", None)
        assert holder(date(2031, 4, 30)) == ("cooperative", "2021-05-01")
        assert holder(date(2033, 1, 1)) == ("M-1", "2031-05-01")
        assert holder(date(2034, 3, 1)) == ("M-2", "2034-03-01")
        assert holder(None) == ("M-2", "2034-03-01")

        in_use = shares.dwellings_in_use
        assert in_use(tx.state, "2031-04") == []
        assert in_use(tx.state, "2031-05") == [
            {"dwelling_id": "D-17", "district": "Pampus-Haven", "member_id": "M-1"}
        ]
        # In the month of a resale the last member to hold it that month is named.
        assert in_use(tx.state, "2034-03")[0]["member_id"] == "M-2"
        assert in_use(tx.state, "2034-02")[0]["member_id"] == "M-1"


def test_a_month_held_by_the_cooperative_is_not_in_use(story: Story) -> None:
    story.admit("M-1")
    story.register("D-17")
    story.deposit(1_000_000_00)
    story.sell("D-17", "M-1", date(2031, 5, 1))
    story.buy_back("D-17", date(2031, 6, 1))
    with story.f.store.reading() as tx:
        assert [d["member_id"] for d in shares.dwellings_in_use(tx.state, "2031-05")] == ["M-1"]
        assert shares.dwellings_in_use(tx.state, "2031-06") == []
