"""The levy and area contribution rules through the real appliers, one case per clause."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger.charter import DEFAULT_LEVY_INDEX, TEMPLATE, Charter, parse_charter
from ledger.checks import verify_store
from ledger.command import Fact, LegacyCommand
from ledger.errors import AuthorizationError, InputError, NotFoundError, RuleViolationError
from ledger.keys import Signer
from ledger.postings import balance
from ledger.rules import contributions, corrections, levy
from ledger.rules.governance import amend_charter
from ledger.rules.index_series import publish_index
from tests.support import Founded, charter_v1, found_ledger

DELIVERED = date(2031, 5, 1)
EUR = 100  # cents


def charter_with(**levy_or_rounding: Any) -> Charter:
    """The template charter with other levy terms or another rounding rule."""
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    rounding = levy_or_rounding.pop("rounding", None)
    if rounding is not None:
        data["cooperative"]["rounding"] = rounding
    data["levy"].update(levy_or_rounding)
    return Charter.model_validate(data)


def publish(f: Founded, values: dict[str, str], series: str = DEFAULT_LEVY_INDEX) -> None:
    f.append("coop-admin", [publish_index(series, m, v, "test") for m, v in values.items()])


def register(
    f: Founded,
    pid: str = "P-1",
    kind: str = "home",
    baseline_eur: int = 400_000,
    delivered: date = DELIVERED,
    district: str = "Pampus-Haven",
) -> None:
    f.append(
        "levy-admin",
        [
            levy.register_property(
                pid, kind, district, delivered, baseline_eur * EUR, date(2031, 2, 1)
            )
        ],
    )


def sell(
    f: Founded,
    on: date,
    price_eur: int | float,
    pid: str = "P-1",
    appraisal_eur: int | None = None,
    improvements_eur: int = 0,
) -> tuple[int, levy.PropertySold]:
    receipt = f.append(
        "levy-admin",
        [
            levy.sell_property(
                pid,
                on,
                round(price_eur * EUR),
                f"deed-{pid}-{on}",
                appraisal_cents=None if appraisal_eur is None else appraisal_eur * EUR,
                improvements_cents=improvements_eur * EUR,
            )
        ],
    )
    body = receipt.facts[0].body
    assert isinstance(body, levy.PropertySold)
    return receipt.entries[0].seq, body


def state_of(f: Founded) -> Any:
    return f.store.reading()


@pytest.fixture
def example(founded: Founded) -> Founded:
    """DOMAIN.md's example: baseline 400,000 at index 100.0 (delivery month), a sale at 125.0."""
    publish(founded, {"2031-05": "100.0", "2040-06": "125.0"})
    register(founded)
    return founded


# -- the levy on one sale ----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    price_eur: int
    appraisal_eur: int | None
    improvements_eur: int
    expected_eur: int
    extra_eur: int
    levy_cents: int


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            Case(560_000, None, 15_000, 500_000, 45_000, 13_500_00),
            id="DOMAIN.md example: E 500,000, X 45,000, L 13,500.00",
        ),
        pytest.param(
            Case(500_000, None, 0, 500_000, 0, 0), id="sold at exactly the expected value: no levy"
        ),
        pytest.param(
            Case(450_000, None, 0, 500_000, 0, 0),
            id="sold below the expected value: no levy, never negative",
        ),
        pytest.param(
            Case(520_000, 600_000, 15_000, 500_000, 85_000, 25_500_00),
            id="appraisal guard: a higher appraisal replaces the declared price",
        ),
        pytest.param(
            Case(560_000, 520_000, 15_000, 500_000, 45_000, 13_500_00),
            id="appraisal below the price: the price counts",
        ),
        pytest.param(
            Case(560_000, None, 0, 500_000, 60_000, 18_000_00),
            id="no improvements: the whole rise above E is levied",
        ),
        pytest.param(
            Case(560_000, None, 30_000, 500_000, 30_000, 9_000_00),
            id="improvements credit: approved improvements are deducted in full",
        ),
        pytest.param(
            Case(560_000, None, 70_000, 500_000, 0, 0),
            id="improvements above the rise: no levy, never negative",
        ),
    ],
)
def test_levy_on_a_sale(example: Founded, case: Case) -> None:
    seq, body = sell(
        example,
        date(2040, 6, 1),
        case.price_eur,
        appraisal_eur=case.appraisal_eur,
        improvements_eur=case.improvements_eur,
    )
    assessment = body.levy
    assert (assessment.expected_cents, assessment.extra_cents, assessment.levy_cents) == (
        case.expected_eur * EUR,
        case.extra_eur * EUR,
        case.levy_cents,
    )
    assert assessment.in_term
    # Every input is recorded with the result.
    assert (assessment.baseline_index, assessment.sale_index) == ("100", "125")
    assert (assessment.baseline_cents, assessment.baseline_month) == (400_000_00, "2031-05")
    assert (assessment.rate, assessment.term_years, assessment.rounding) == ("0.30", 40, "half-up")
    with example.store.reading() as tx:
        record = tx.state.get("levy", levy.sale_key(seq))
        assert record is not None
        assert (record["assessed"], record["outstanding"]) == (case.levy_cents, case.levy_cents)
        assert balance(tx.state, levy.receivable("P-1")) == case.levy_cents
        assert balance(tx.state, levy.GEM_LEVY) == -case.levy_cents
    assert (body.postings == ()) is (case.levy_cents == 0)


def test_levy_explain_reproduces_the_recorded_levy(example: Founded) -> None:
    seq, body = sell(example, date(2040, 6, 1), 560_000, improvements_eur=15_000)
    lines = levy.explain_lines(seq, body)
    text = "\n".join(lines)
    assert "E = V_base × I(sale) / I(base) = 400000.00 × 125 / 100 = 500000" in text
    assert "X = max(0, max(S, A) − E − C)" in text
    assert lines[-1] == "levy charged: 13500.00"


@pytest.mark.parametrize(
    ("sale_date", "levied"),
    [
        pytest.param(date(2071, 4, 30), True, id="the day before the 40th anniversary is levied"),
        pytest.param(date(2071, 5, 1), False, id="the 40th anniversary itself is not levied"),
        pytest.param(date(2080, 1, 1), False, id="long after the term: no levy"),
    ],
)
def test_forty_year_term(example: Founded, sale_date: date, levied: bool) -> None:
    publish(example, {"2071-04": "125.0"})
    _, body = sell(example, sale_date, 560_000)
    assert body.levy.in_term is levied
    assert body.levy.term_end == date(2071, 5, 1)
    assert (body.levy.levy_cents == 18_000_00) is levied
    if not levied:
        assert body.levy.levy_cents == 0
        # After the term nothing is computed, so no index value is needed for that month.
        assert body.levy.sale_index is None


def test_a_second_sale_levies_only_the_increase_since_the_first(example: Founded) -> None:
    publish(example, {"2045-01": "150.0"})
    _, first = sell(example, date(2040, 6, 1), 560_000, improvements_eur=15_000)
    assert first.levy.levy_cents == 13_500_00
    _, second = sell(example, date(2045, 1, 10), 700_000)
    # Baseline reset to the first sale: E = 560,000 × 150 / 125 = 672,000, X = 28,000.
    assert (second.levy.baseline_cents, second.levy.baseline_month) == (560_000_00, "2040-06")
    assert second.levy.expected_cents == 672_000_00
    assert second.levy.levy_cents == 8_400_00
    # Measured from the original baseline it would have been 30% of 100,000.
    assert second.levy.levy_cents < 30_000_00


def test_the_baseline_resets_to_the_appraisal_when_it_was_levied(example: Founded) -> None:
    publish(example, {"2045-01": "125.0"})
    sell(example, date(2040, 6, 1), 520_000, appraisal_eur=600_000)
    _, second = sell(example, date(2045, 1, 10), 600_000)
    # The rise up to the appraisal was levied at the first sale, so it is not levied again.
    assert (second.levy.baseline_cents, second.levy.levy_cents) == (600_000_00, 0)


def test_keep_policy_measures_every_sale_from_the_first_baseline(
    tmp_path: Path, signers: dict[str, Signer]
) -> None:
    # Edition 1 (a version-1 charter) gives no credit for the extra already assessed; edition
    # 2 does (tests/rules/test_levy_edition2_table.py).
    v1 = charter_v1(charter_with(baseline_policy="keep"))
    f = found_ledger(str(tmp_path / "keep.db"), signers, v1)
    try:
        publish(f, {"2031-05": "100.0", "2040-06": "125.0", "2045-01": "150.0"}, "CPI")
        register(f)
        sell(f, date(2040, 6, 1), 560_000)
        _, second = sell(f, date(2045, 1, 10), 700_000)
        assert (second.levy.baseline_cents, second.levy.levy_cents) == (400_000_00, 30_000_00)
    finally:
        f.store.dispose()


@pytest.mark.parametrize(
    ("rounding", "levy_cents"),
    [
        pytest.param("half-up", 2, id="half-up: 0.015 -> 0.02"),
        pytest.param("truncate", 1, id="truncate: 0.015 -> 0.01"),
    ],
)
def test_both_rounding_rules(
    tmp_path: Path, signers: dict[str, Signer], rounding: str, levy_cents: int
) -> None:
    f = found_ledger(str(tmp_path / "r.db"), signers, charter_with(rounding=rounding))
    try:
        publish(f, {"2031-05": "100", "2032-05": "100"})
        register(f, baseline_eur=100_000)
        # X = 0.05, L = 30% of it = 0.015: the charter's rule decides the cent.
        _, body = sell(f, date(2032, 5, 1), 100_000.05)
        assert body.levy.rounding == rounding
        assert body.levy.levy_cents == levy_cents
    finally:
        f.store.dispose()


@pytest.mark.parametrize(
    ("published", "missing"),
    [
        pytest.param({"2031-05": "100.0"}, "2040-06 (the sale month)", id="sale month missing"),
        pytest.param({"2040-06": "125.0"}, "2031-05 (the baseline month)", id="baseline missing"),
    ],
)
def test_a_missing_index_month_is_a_clear_error(
    founded: Founded, published: dict[str, str], missing: str
) -> None:
    publish(founded, published)
    register(founded)
    with pytest.raises(
        RuleViolationError,
        match=re.escape(f"index HPI-ALMERE has no published value for {missing}"),
    ):
        sell(founded, date(2040, 6, 1), 560_000)


def test_levy_terms_are_kept_with_the_property_across_an_amendment(example: Founded) -> None:
    example.append("governor", [amend_charter(charter_with(rate="0.50", term_years=10), "test")])
    _, body = sell(example, date(2040, 6, 1), 560_000, improvements_eur=15_000)
    assert (body.levy.rate, body.levy.term_years, body.levy.levy_cents) == ("0.30", 40, 13_500_00)
    register(example, "P-2")
    with example.store.reading() as tx:
        record = tx.state.get("property", "P-2")
        assert record is not None
        assert (record["rate"], record["term_years"]) == ("0.50", 10)


def test_a_sale_body_with_another_levy_is_refused(example: Founded) -> None:
    honest = levy.sell_property(
        "P-1", date(2040, 6, 1), 560_000_00, "deed-1", improvements_cents=15_000_00
    )

    def forged(state: Any, ctx: Any) -> Fact:
        fact = honest.decide(state, ctx)
        assert isinstance(fact.body, levy.PropertySold)
        lower = fact.body.levy.model_copy(update={"levy_cents": 1_000_00})
        return Fact(fact.kind, fact.body.model_copy(update={"levy": lower}), fact.effective)

    with pytest.raises(RuleViolationError, match="levy_cents recorded 100000, computed 1350000"):
        example.append("levy-admin", [LegacyCommand("forged", {}, forged)])


def test_sales_of_a_property_are_in_date_order(example: Founded) -> None:
    publish(example, {"2039-01": "120"})
    sell(example, date(2040, 6, 1), 560_000)
    with pytest.raises(RuleViolationError, match="before its previous sale on 2040-06-01"):
        sell(example, date(2039, 1, 5), 500_000)
    with pytest.raises(RuleViolationError, match="before the delivery date 2031-05-01"):
        sell(example, date(2031, 4, 30), 500_000)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        pytest.param(dict(pid="X-1"), InputError, "property_id", id="id must start with P-"),
        pytest.param(dict(kind="castle"), InputError, "property_kind", id="unknown kind"),
        pytest.param(
            dict(district="Atlantis"),
            RuleViolationError,
            "district 'Atlantis' is not one",
            id="district not in the charter",
        ),
    ],
)
def test_registration_mistakes(
    founded: Founded, args: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        register(founded, **args)


def test_a_property_is_registered_once(founded: Founded) -> None:
    register(founded)
    with pytest.raises(RuleViolationError, match="property P-1 is already registered"):
        register(founded)
    with pytest.raises(NotFoundError, match="unknown property P-9"):
        sell(founded, date(2040, 6, 1), 1, pid="P-9")


# -- payments and waivers ----------------------------------------------------------------------


def test_payments_waivers_and_the_outstanding_levy(example: Founded) -> None:
    seq, _ = sell(example, date(2040, 6, 1), 560_000, improvements_eur=15_000)  # 13,500.00
    example.append("levy-admin", [levy.pay_levy(seq, 10_000_00, date(2040, 6, 15), "notary-1")])
    with pytest.raises(
        RuleViolationError, match=r"payment 3600\.00 is more than the outstanding 3500\.00"
    ):
        example.append("levy-admin", [levy.pay_levy(seq, 3_600_00, date(2040, 7, 1), "n-2")])
    with pytest.raises(
        RuleViolationError, match="dated 2040-05-31 is before the sale on 2040-06-01"
    ):
        example.append("levy-admin", [levy.pay_levy(seq, 1_00, date(2040, 5, 31), "n-2")])
    with pytest.raises(AuthorizationError, match="needs role governor"):
        example.append("levy-admin", [levy.waive_levy(seq, "hardship", date(2040, 8, 1))])
    example.append("governor", [levy.waive_levy(seq, "hardship", date(2040, 8, 1), 500_00)])
    example.append("levy-admin", [levy.pay_levy(seq, 2_000_00, date(2040, 9, 1), "n-3")])
    example.append("governor", [levy.waive_levy(seq, "settled", date(2040, 9, 2))])
    with example.store.reading() as tx:
        record = tx.state.get("levy", levy.sale_key(seq))
        assert record is not None
        assert (record["paid"], record["waived"], record["outstanding"]) == (12_000_00, 1_500_00, 0)
        assert balance(tx.state, levy.receivable("P-1")) == 0
        assert balance(tx.state, levy.GEM_LEVY_CASH) == 12_000_00
        assert balance(tx.state, levy.GEM_LEVY_WAIVED) == 1_500_00
        assert [r["sale_seq"] for r in levy.levy_register(tx.state, outstanding_only=True)] == []
        assert verify_store(tx).ok
    with pytest.raises(RuleViolationError, match="nothing is outstanding to waive"):
        example.append("governor", [levy.waive_levy(seq, "again", date(2040, 9, 3))])
    with pytest.raises(NotFoundError, match="no property sale at entry 2"):
        example.append("levy-admin", [levy.pay_levy(2, 1_00, date(2040, 9, 1), "n-4")])


# -- corrections of sales, payments and waivers ------------------------------------------------


def correct(f: Founded, seq: int, reason: str = "recorded in error") -> int:
    receipt = f.append("governor", [corrections.correct(seq, reason, date(2050, 1, 1))])
    return receipt.entries[0].seq


def sale_record(f: Founded, seq: int) -> dict[str, Any]:
    with f.store.reading() as tx:
        record = tx.state.get("levy", levy.sale_key(seq))
        assert record is not None
        return record


def test_a_corrected_sale_owes_nothing_and_puts_the_baseline_back(example: Founded) -> None:
    publish(example, {"2045-01": "150.0"})
    seq, _ = sell(example, date(2040, 6, 1), 560_000, improvements_eur=15_000)  # 13,500.00
    fixed = correct(example, seq, "wrong deed")
    record = sale_record(example, seq)
    assert (record["corrected_seq"], record["outstanding"], record["assessed"]) == (
        fixed,
        0,
        13_500_00,
    )
    with example.store.reading() as tx:
        prop = tx.state.get("property", "P-1")
        assert prop is not None
        assert (prop["baseline_cents"], prop["baseline_month"], prop["sales"]) == (
            400_000_00,
            "2031-05",
            [],
        )
        assert prop["last_sale_date"] is None
        assert balance(tx.state, levy.receivable("P-1")) == 0
        assert balance(tx.state, levy.GEM_LEVY) == 0
        [row] = levy.levy_register(tx.state)
        assert row["corrected_seq"] == fixed
        assert list(levy.levy_register(tx.state, outstanding_only=True)) == []
        assert verify_store(tx).ok
    # The sale that should have been recorded is measured from the first baseline again.
    _, again = sell(example, date(2045, 1, 10), 700_000)
    assert (again.levy.baseline_cents, again.levy.baseline_month) == (400_000_00, "2031-05")


def test_only_the_latest_sale_of_a_property_can_be_corrected(example: Founded) -> None:
    publish(example, {"2045-01": "150.0"})
    first, _ = sell(example, date(2040, 6, 1), 560_000)
    second, _ = sell(example, date(2045, 1, 10), 700_000)
    with pytest.raises(
        RuleViolationError,
        match=rf"entry {first} \(property.sold\) cannot be reversed: property P-1 was sold again "
        rf"at entry {second}; correct that sale first",
    ):
        correct(example, first)
    correct(example, second)
    correct(example, first)  # now it is the latest in force


def test_a_sale_with_payments_in_force_cannot_be_corrected(example: Founded) -> None:
    seq, _ = sell(example, date(2040, 6, 1), 560_000, improvements_eur=15_000)
    paid = (
        example.append("levy-admin", [levy.pay_levy(seq, 10_000_00, date(2040, 6, 15), "notary-1")])
        .entries[0]
        .seq
    )
    with pytest.raises(
        RuleViolationError,
        match=rf"its levy has payments or waivers in force \(entries {paid}\); correct those",
    ):
        correct(example, seq)
    correct(example, paid)
    correct(example, seq)


def test_a_corrected_payment_or_waiver_is_outstanding_again(example: Founded) -> None:
    seq, _ = sell(example, date(2040, 6, 1), 560_000, improvements_eur=15_000)  # 13,500.00
    paid = (
        example.append("levy-admin", [levy.pay_levy(seq, 10_000_00, date(2040, 6, 15), "notary-1")])
        .entries[0]
        .seq
    )
    waived = (
        example.append("governor", [levy.waive_levy(seq, "hardship", date(2040, 8, 1), 500_00)])
        .entries[0]
        .seq
    )
    correct(example, paid, "the notary's payment bounced")
    record = sale_record(example, seq)
    assert (record["paid"], record["waived"], record["outstanding"]) == (0, 500_00, 13_000_00)
    assert (record["payments"], record["waivers"]) == ([], [waived])
    correct(example, waived)
    record = sale_record(example, seq)
    assert (record["waived"], record["outstanding"], record["waivers"]) == (0, 13_500_00, [])
    with example.store.reading() as tx:
        assert balance(tx.state, levy.receivable("P-1")) == 13_500_00
        assert balance(tx.state, levy.GEM_LEVY_CASH) == 0
        assert balance(tx.state, levy.GEM_LEVY_WAIVED) == 0
        assert verify_store(tx).ok


def test_nothing_is_paid_or_waived_on_a_corrected_sale(example: Founded) -> None:
    seq, _ = sell(example, date(2040, 6, 1), 560_000, improvements_eur=15_000)
    fixed = correct(example, seq)
    with pytest.raises(
        RuleViolationError, match=rf"the sale was corrected at entry {fixed}; no levy is owed on it"
    ):
        example.append("levy-admin", [levy.pay_levy(seq, 1_00, date(2041, 1, 1), "n-2")])
    with pytest.raises(RuleViolationError, match=rf"was already corrected at entry {fixed}"):
        correct(example, seq)


# -- area contributions ------------------------------------------------------------------------


def test_a_contribution_run_charges_homes_in_use_once(founded_v1: Founded) -> None:
    founded = founded_v1  # edition 1: homes without a debtor, leased workspaces charged
    register(founded, "P-1", "home", delivered=date(2032, 1, 31))
    register(founded, "P-2", "home", delivered=date(2032, 2, 1), district="Pampus-Oost")
    register(founded, "P-3", "commercial")
    register(founded, "P-4", "dwelling")  # charged through the dwellings' own source
    receipt = founded.append(
        "levy-admin", [contributions.charge_month("2032-01", date(2032, 1, 5))]
    )
    body = receipt.facts[0].body
    assert isinstance(body, contributions.ContributionCharged)
    assert [(line.subject, line.amount_cents) for line in body.lines] == [("P-1", 10_00)]
    with pytest.raises(
        contributions.AlreadyChargedError, match="already charged at entry"
    ) as caught:
        founded.append("levy-admin", [contributions.charge_month("2032-01", date(2032, 2, 5))])
    assert caught.value.seq == receipt.entries[0].seq
    receipt = founded.append(
        "levy-admin", [contributions.charge_month("2032-02", date(2032, 2, 5))]
    )
    body = receipt.facts[0].body
    assert isinstance(body, contributions.ContributionCharged)
    assert [line.subject for line in body.lines] == ["P-1", "P-2"]
    with pytest.raises(
        RuleViolationError, match="cannot be charged on 2032-02-05, before the month"
    ):
        founded.append("levy-admin", [contributions.charge_month("2032-03", date(2032, 2, 5))])
    with founded.store.reading() as tx:
        assert balance(tx.state, contributions.RECEIVABLE) == 30_00


def test_contribution_payments_oldest_first_and_never_more_than_due(founded_v1: Founded) -> None:
    founded = founded_v1  # edition 1: homes without a debtor, leased workspaces charged
    register(founded, "P-1", "home", delivered=date(2032, 1, 1))
    for month in ("2032-01", "2032-02", "2032-03"):
        founded.append("levy-admin", [contributions.charge_month(month, date(2032, 3, 5))])
    pay = contributions.pay_contribution
    receipt = founded.append("levy-admin", [pay(15_00, date(2032, 3, 10), "bank-1", subject="P-1")])
    body = receipt.facts[0].body
    assert isinstance(body, contributions.ContributionPaid)
    assert [(a.month, a.amount_cents) for a in body.allocations] == [
        ("2032-01", 10_00),
        ("2032-02", 5_00),
    ]
    with pytest.raises(RuleViolationError, match=r"payment 15\.01 is more than the 15\.00 due"):
        founded.append("levy-admin", [pay(15_01, date(2032, 3, 10), "b-2", subject="P-1")])
    with pytest.raises(RuleViolationError, match="subject P-1: nothing is due for 2032-01"):
        founded.append(
            "levy-admin", [pay(1_00, date(2032, 3, 10), "b-2", subject="P-1", month="2032-01")]
        )
    founded.append(
        "levy-admin", [pay(10_00, date(2032, 3, 10), "b-3", subject="P-1", month="2032-03")]
    )
    with founded.store.reading() as tx:
        open_ = [(r["month"], r["due_cents"]) for r in contributions.arrears(tx.state)]
        assert open_ == [("2032-02", 5_00)]
        assert balance(tx.state, contributions.RECEIVABLE) == 5_00
        assert verify_store(tx).ok
    with pytest.raises(InputError, match="either a subject or a member"):
        founded.append("levy-admin", [pay(1_00, date(2032, 3, 10), "b-4")])
    with pytest.raises(RuleViolationError, match="member M-9 was never charged"):
        founded.append("levy-admin", [pay(1_00, date(2032, 3, 10), "b-4", member="M-9")])


def test_a_payment_covers_only_months_begun_by_its_date(founded_v1: Founded) -> None:
    founded = founded_v1  # edition 1: homes without a debtor, leased workspaces charged
    register(founded, "P-1", "home", delivered=date(2032, 1, 1))
    founded.append("levy-admin", [contributions.charge_month("2032-02", date(2032, 2, 5))])
    with pytest.raises(RuleViolationError, match="nothing is due on or before 2032-01-31"):
        founded.append(
            "levy-admin",
            [contributions.pay_contribution(10_00, date(2032, 1, 31), "b-1", subject="P-1")],
        )


def test_an_empty_run_is_refused(founded: Founded) -> None:
    with pytest.raises(RuleViolationError, match="no home or workspace is in use in 2032-01"):
        founded.append("levy-admin", [contributions.charge_month("2032-01", date(2032, 1, 5))])


def test_a_member_pays_for_the_workspace_leased_in_their_name(founded_v1: Founded) -> None:
    founded = founded_v1  # edition 1: homes without a debtor, leased workspaces charged
    from ledger.rules import members, werk
    from ledger.rules.members import PersonalData

    founded.append(
        "coop-admin",
        [
            members.admit(
                "B-1",
                "business",
                PersonalData(name="B"),
                date(2031, 3, 1),
                founded=date(2030, 1, 1),
                district="Pampus-Haven",
            )
        ],
    )
    founded.append(
        "werk-admin", [werk.register_workspace("W-1", "Pampus-Haven", 80, 240_00, date(2031, 3, 1))]
    )
    founded.append("werk-admin", [werk.apply("B-1", 60, 100, date(2031, 3, 2))])
    founded.append(
        "werk-admin",
        [werk.grant("W-1", "B-1", date(2032, 1, 1), date(2034, 1, 1), 900_00, date(2031, 12, 1))],
    )
    register(founded, "P-1", "home", delivered=date(2031, 6, 1))
    for month in ("2032-01", "2032-02"):
        founded.append("levy-admin", [contributions.charge_month(month, date(2032, 2, 5))])
    receipt = founded.append(
        "levy-admin",
        [contributions.pay_contribution(15_00, date(2032, 2, 10), "bank-9", member="B-1")],
    )
    body = receipt.facts[0].body
    assert isinstance(body, contributions.ContributionPaid)
    # Only the member's own charges (not the home P-1), oldest month first.
    assert [(a.subject, a.month, a.amount_cents) for a in body.allocations] == [
        ("W-1", "2032-01", 10_00),
        ("W-1", "2032-02", 5_00),
    ]
    with pytest.raises(
        RuleViolationError, match=r"member B-1: payment 5\.01 is more than the 5\.00"
    ):
        founded.append(
            "levy-admin",
            [contributions.pay_contribution(5_01, date(2032, 2, 10), "bank-9", member="B-1")],
        )


def test_a_registration_in_error_is_undone_and_registered_again(example: Founded) -> None:
    with example.store.reading() as tx:
        registered = next(
            seq for seq, kind, _ in tx.entry_rows(0, tx.head()[0]) if kind == "property.registered"
        )
    seq, _ = sell(example, date(2040, 6, 1), 560_000)
    with pytest.raises(
        RuleViolationError,
        match=rf"entry {registered} \(property.registered\) cannot be reversed: property P-1 has "
        rf"sales in force \(entries {seq}\); correct those first",
    ):
        correct(example, registered)
    correct(example, seq)
    correct(example, registered, "baseline typed wrong")
    with example.store.reading() as tx:
        assert tx.state.get("property", "P-1") is None
        assert verify_store(tx).ok
    register(example, baseline_eur=410_000)  # now right
    _, again = sell(example, date(2040, 6, 1), 560_000)
    assert again.levy.baseline_cents == 410_000_00


def test_a_home_charged_by_a_contribution_run_stays_registered(founded_v1: Founded) -> None:
    founded = founded_v1  # edition 1: homes without a debtor, leased workspaces charged
    register(founded, "P-1", "home", delivered=date(2032, 1, 31))
    register(founded, "P-2", "home", delivered=date(2032, 3, 1))
    run = (
        founded.append("levy-admin", [contributions.charge_month("2032-02", date(2032, 2, 3))])
        .entries[0]
        .seq
    )
    with founded.store.reading() as tx:
        first, second = [
            seq for seq, kind, _ in tx.entry_rows(0, tx.head()[0]) if kind == "property.registered"
        ]
    with pytest.raises(
        RuleViolationError,
        match=rf"the contribution run for 2032-02 \(entry {run}\) charged home P-1",
    ):
        correct(founded, first)
    correct(founded, second)  # delivered after February: the run did not charge it
