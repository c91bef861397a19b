"""Shared appreciation (DOMAIN.md "Preset price rules"), one case per clause: the appraisals
exclude the owner's improvements (defect (c)), and the charter says whether the base stays the
dwelling's from sale to sale or resets at each resale (edition 2); both work."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from ledger.charter import TEMPLATE, Charter, parse_charter
from ledger.checks import verify_store
from ledger.command import Fact, LegacyCommand
from ledger.errors import RuleViolationError
from ledger.rules import corrections, fund, members, shares
from ledger.rules.members import PersonalData
from ledger.rules.price_rules import SharedAppreciationRule, compute_price
from tests.support import Founded, charter_v1, found_ledger

EUR = 100
BASE = date(2031, 5, 1)
FIRST_BUY_BACK, RESALE, SECOND_BUY_BACK = date(2036, 5, 1), date(2036, 5, 2), date(2041, 5, 1)
# Paid 150,000 when the home was appraised at 200,000; the owner shares half the value change.
RULE = {"owner_share": "0.5", "base_appraisal_cents": 200_000_00}


def charter(version: int = 2, base: str | None = None) -> Charter:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    if base is not None:
        data["shares"]["shared_appreciation_base"] = base
    made = Charter.model_validate(data)
    return made if version == 2 else charter_v1(made)


class Dwelling:
    """D-1 under the shared-appreciation rule, sold to M-1 at its base on 2031-05-01."""

    def __init__(self, f: Founded) -> None:
        self.f = f
        f.append(
            "coop-admin",
            [
                members.admit(m, "household", PersonalData(name=m), date(2031, 1, 4))
                for m in ("M-1", "M-2")
            ],
        )
        f.append(
            "coop-admin",
            [
                shares.register_dwelling(
                    "D-1", "Pampus-Haven", BASE, 150_000_00, BASE,
                    rule="shared-appreciation", owner_share="0.5",
                    base_appraisal_cents=200_000_00,
                )
            ],
        )  # fmt: skip
        f.append("coop-admin", [fund.deposit(100_000_00, "GEM")])  # for the price growth
        self.sell("M-1", BASE, 200_000)

    def sell(self, member: str, on: date, appraisal_eur: int, improvements_eur: int = 0) -> Any:
        command = shares.sell_share(
            "D-1",
            member,
            on,
            appraisal_eur * EUR,
            improvements_eur * EUR,
            **self.f.papers(on, member),
        )
        return self.f.append("coop-admin", [command]).facts[0].body

    def buy_back(self, on: date, appraisal_eur: int, improvements_eur: int = 0) -> Any:
        command = shares.buy_back_share(
            "D-1", on, appraisal_eur * EUR, improvements_eur * EUR, **self.f.papers(on)
        )
        return self.f.append("coop-admin", [command]).facts[0].body

    def rule(self) -> dict[str, Any]:
        with self.f.store.reading() as tx:
            record = tx.state.get(shares.DWELLING, "D-1")
            assert record is not None
            return dict(record["price_rule"])

    def verifies(self) -> bool:
        with self.f.store.reading() as tx:
            return verify_store(tx).ok


@pytest.fixture
def make(tmp_path: Any, signers: Any) -> Any:
    made: list[Founded] = []

    def build(c: Charter) -> Dwelling:
        f = found_ledger(str(tmp_path / f"sa{len(made)}.db"), signers, c)
        made.append(f)
        return Dwelling(f)

    yield build
    for f in made:
        f.store.dispose()


# -- the appraisals exclude the owner's improvements (defect (c)) -------------------------------


def _price(appraisal_eur: int, improvements_eur: int) -> int:
    rule = SharedAppreciationRule(
        base_price_cents=150_000_00,
        base_date=BASE,
        **RULE,  # type: ignore[arg-type]
    )
    return compute_price(
        rule, FIRST_BUY_BACK, "half-up", lambda s, m: None, appraisal_eur * EUR,
        improvements_eur * EUR,
    ).price_cents  # fmt: skip


@pytest.mark.parametrize(
    ("appraisal_eur", "improvements_eur", "price_cents"),
    [
        pytest.param(
            254_000, 14_000, 191_000_00,
            id="OpMaat: appraisal 254,000 without the 14,000 of improvements: 191,000",
        ),
        pytest.param(
            268_000, 14_000, 198_000_00,
            id="defect (c): an appraisal of 268,000 that includes them counts them twice",
        ),
        pytest.param(
            254_000, 0, 177_000_00,
            id="no improvements: paid + half of (254,000 - 200,000)",
        ),
    ],
)  # fmt: skip
def test_improvements_are_added_once_beside_an_appraisal_without_them(
    appraisal_eur: int, improvements_eur: int, price_cents: int
) -> None:
    assert _price(appraisal_eur, improvements_eur) == price_cents


def test_the_trail_says_the_appraisals_exclude_the_improvements(make: Any) -> None:
    d = make(charter())
    body = d.buy_back(FIRST_BUY_BACK, 254_000, 14_000)
    assert body.price_cents == 191_000_00
    rule = SharedAppreciationRule(base_price_cents=150_000_00, base_date=BASE, **RULE)  # type: ignore[arg-type]
    steps = compute_price(
        rule, FIRST_BUY_BACK, "half-up", lambda s, m: None, 254_000_00, 14_000_00
    ).steps
    assert any("both appraisals exclude the owner's improvements" in s for s in steps)
    assert any("appraisal now = 254000.00 (without improvements)" in s for s in steps)


# -- the base at resale: the charter says, both work ------------------------------------------


@pytest.mark.parametrize(
    ("base", "improvements_eur", "price_cents", "base_inputs"),
    [
        pytest.param(
            "stays", 0, 200_000_00, ("2031-05-01", "15000000", "20000000"),
            id="stays: priced from the dwelling's base; M-1's improvements only if given again",
        ),
        pytest.param(
            "stays", 14_000, 214_000_00, ("2031-05-01", "15000000", "20000000"),
            id="stays: C is every improvement since the base date",
        ),
        pytest.param(
            "resets", 0, 214_000_00, ("2036-05-02", "19100000", "25400000"),
            id="resets: priced from M-2's purchase (191,000 at 254,000 on 2036-05-02)",
        ),
    ],
)  # fmt: skip
def test_base_at_resale(
    make: Any, base: str, improvements_eur: int, price_cents: int, base_inputs: tuple[str, ...]
) -> None:
    d = make(charter(base=base))
    assert d.rule()["base_at_resale"] == base
    assert d.buy_back(FIRST_BUY_BACK, 254_000, 14_000).price_cents == 191_000_00
    # The resale to M-2 costs what the cooperative paid M-1, under either policy.
    assert d.sell("M-2", RESALE, 254_000, 14_000).price_cents == 191_000_00
    body = d.buy_back(SECOND_BUY_BACK, 300_000, improvements_eur)
    assert body.price_cents == price_cents
    inputs = body.inputs
    assert (inputs["base_date"], inputs["base_price_cents"], inputs["base_appraisal_cents"]) == (
        base_inputs
    )
    assert d.verifies()


def test_a_corrected_resale_puts_the_base_back(make: Any) -> None:
    d = make(charter(base="resets"))
    d.buy_back(FIRST_BUY_BACK, 254_000, 14_000)
    sold = d.f.append(
        "coop-admin",
        [
            shares.sell_share(
                "D-1",
                "M-2",
                RESALE,
                254_000_00,
                14_000_00,
                deed="deed-M-2",
                declared_on=RESALE,
                declaration="decl-M-2",
            )
        ],
    )
    d.f.append("governor", [corrections.correct(sold.entries[0].seq, "wrong buyer")])
    # The base in force is M-1's purchase again, the registration's own.
    again = d.sell("M-2", date(2036, 6, 1), 254_000, 14_000)
    assert (again.inputs["base_date"], again.price_cents) == ("2031-05-01", 191_000_00)
    assert d.verifies()


def test_edition_1_has_no_base_policy_and_keeps_the_base(make: Any) -> None:
    d = make(charter(version=1))
    assert "base_at_resale" not in d.rule()  # the version-1 signed form, as before
    d.buy_back(FIRST_BUY_BACK, 254_000, 14_000)
    d.sell("M-2", RESALE, 254_000, 14_000)
    assert d.buy_back(SECOND_BUY_BACK, 300_000).price_cents == 200_000_00
    assert d.verifies()


def test_the_placeholder_is_stays_and_a_version_1_charter_cannot_carry_it() -> None:
    assert charter().shares.shared_appreciation_base == "stays"
    data = charter(version=1).model_dump(mode="json")
    data["shares"]["shared_appreciation_base"] = "resets"
    with pytest.raises(
        ValueError, match=re.escape("shares.shared_appreciation_base is a version-2")
    ):
        Charter.model_validate(data)


def test_a_registration_with_another_base_policy_is_refused(make: Any) -> None:
    d = make(charter(base="stays"))
    honest = shares.register_dwelling(
        "D-2", "Pampus-Haven", BASE, 150_000_00, BASE, rule="shared-appreciation",
        owner_share="0.5", base_appraisal_cents=200_000_00,
    )  # fmt: skip

    def forged(state: Any, ctx: Any) -> Fact:
        fact = honest.decide(state, ctx)
        rule = fact.body.price_rule.model_copy(update={"base_at_resale": "resets"})  # type: ignore[attr-defined]
        body = fact.body.model_copy(update={"price_rule": rule})
        return Fact(fact.kind, body, fact.effective)

    with pytest.raises(
        RuleViolationError, match="base_at_resale is resets, the charter in force says"
    ):
        d.f.append("coop-admin", [LegacyCommand("forged", {}, forged)])
