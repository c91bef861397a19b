"""Table tests for the Werkcorporatie lease rules: one row per case, boundaries on both sides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ledger.errors import NotFoundError, RuleViolationError
from ledger.rules.lease_rules import (
    Applicant,
    LeaseCaps,
    Term,
    Workspace,
    affordable_share,
    check_allocation,
    check_eligible,
    check_indexation,
    check_no_overlap,
    check_rent,
    check_term,
    first_in_queue,
    fits,
    overlaps,
    rent_cap_cents,
)

# The placeholder charter values from DOMAIN.md; the districts are made up for the tests.
CAPS = LeaseCaps(
    max_rent_ratio=Decimal("0.60"),
    max_indexation_per_year=Decimal("0.03"),
    max_term_years=5,
    max_founded_years=5,
    area_districts=frozenset({"Pampus-Noord", "Pampus-Zuid"}),
    rounding="half-up",
)
# 60% of EUR 250.00 per m2 per year x 120 m2 / 12 = EUR 1500.00 a month.
W3 = Workspace("W-3", "Pampus-Noord", area_m2=120, market_rent_cents_per_m2_year=25_000)
START = date(2031, 3, 1)  # earliest founding date: 2026-03-01


def applicant(member_id: str = "M-7", seq: int = 1, **changes: object) -> Applicant:
    base = Applicant(
        member_id=member_id,
        member_kind="business",
        founded=date(2029, 6, 1),
        district="Pampus-Noord",
        min_m2=100,
        max_m2=150,
        applied_seq=seq,
        applied_on=date(2031, 2, seq),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


Expected = tuple[str, ...] | None  # None: allowed; otherwise fragments of the refusal


def assert_outcome(call: Callable[[], object], expected: Expected) -> None:
    if expected is None:
        call()
        return
    with pytest.raises(RuleViolationError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --- eligibility -----------------------------------------------------------------------

ELIGIBILITY = [
    pytest.param(applicant(), START, None, id="business-in-area-ok"),
    pytest.param(
        applicant(member_kind="household"),
        START,
        ("M-7", "business", "'household'"),
        id="household-refused",
    ),
    pytest.param(
        applicant(founded=date(2026, 2, 28)),
        START,
        ("M-7", "2026-03-01", "2026-02-28", "5 years", "2031-03-01"),
        id="founded-day-before-boundary-refused",
    ),
    pytest.param(applicant(founded=date(2026, 3, 1)), START, None, id="founded-on-boundary-ok"),
    pytest.param(applicant(founded=date(2026, 3, 2)), START, None, id="founded-day-after-ok"),
    pytest.param(applicant(founded=START), START, None, id="founded-on-lease-start-ok"),
    pytest.param(
        applicant(founded=date(2031, 3, 2)),
        START,
        ("2031-03-01", "2031-03-02"),
        id="founded-after-lease-start-refused",
    ),
    pytest.param(
        applicant(founded=None), START, ("no founding date",), id="no-founding-date-refused"
    ),
    pytest.param(
        applicant(founded=date(2027, 3, 1)),
        date(2032, 2, 29),
        None,
        id="feb29-start-boundary-is-mar1-ok",
    ),
    pytest.param(
        applicant(founded=date(2027, 2, 28)),
        date(2032, 2, 29),
        ("2027-03-01", "2027-02-28"),
        id="feb29-start-day-before-boundary-refused",
    ),
    pytest.param(applicant(district="Pampus-Zuid"), START, None, id="other-area-district-ok"),
    pytest.param(
        applicant(district="Lelystad"),
        START,
        ("'Lelystad'", "Pampus-Noord, Pampus-Zuid"),
        id="district-outside-area-refused",
    ),
    pytest.param(applicant(district=None), START, ("no district",), id="no-district-refused"),
    pytest.param(
        applicant(min_m2=200, max_m2=100),
        START,
        ("min_m2 200", "max_m2 100"),
        id="size-needs-not-a-range-refused",
    ),
]


@pytest.mark.parametrize(("who", "start", "expected"), ELIGIBILITY)
def test_eligibility(who: Applicant, start: date, expected: Expected) -> None:
    assert_outcome(lambda: check_eligible(who, start, CAPS), expected)


# --- overlap (half-open terms) ---------------------------------------------------------

L5: Term = (date(2031, 1, 1), date(2032, 1, 1))
OVERLAP = [
    pytest.param((date(2032, 1, 1), date(2033, 1, 1)), None, id="touching-after-ok"),
    pytest.param((date(2030, 1, 1), date(2031, 1, 1)), None, id="touching-before-ok"),
    pytest.param(
        (date(2031, 12, 31), date(2033, 1, 1)),
        ("L-5", "2031-01-01", "2032-01-01", "2031-12-31"),
        id="one-day-overlap-at-end-refused",
    ),
    pytest.param(
        (date(2030, 1, 1), date(2031, 1, 2)),
        ("L-5", "2031-01-02"),
        id="one-day-overlap-at-start-refused",
    ),
    pytest.param((date(2031, 3, 1), date(2031, 6, 1)), ("L-5",), id="contained-refused"),
    pytest.param((date(2030, 1, 1), date(2033, 1, 1)), ("L-5",), id="containing-refused"),
    pytest.param(L5, ("L-5",), id="identical-refused"),
]


@pytest.mark.parametrize(("new", "expected"), OVERLAP)
def test_overlap(new: Term, expected: Expected) -> None:
    assert overlaps(new, L5) == overlaps(L5, new) == (expected is not None)
    existing = [("L-4", date(2028, 1, 1), date(2029, 1, 1)), ("L-5", *L5)]
    assert_outcome(lambda: check_no_overlap(new, existing), expected)


# --- rent cap --------------------------------------------------------------------------

RENT = [
    pytest.param(150_000, None, id="exactly-at-cap-ok"),
    pytest.param(
        150_001,
        ("W-3", "1500.01", "1500.00", "60%", "250.00", "120 m2"),
        id="one-cent-over-refused",
    ),
    pytest.param(0, ("positive", "0.00"), id="zero-rent-refused"),
]


@pytest.mark.parametrize(("rent", "expected"), RENT)
def test_rent_cap(rent: int, expected: Expected) -> None:
    assert rent_cap_cents(W3, CAPS) == 150_000
    assert_outcome(lambda: check_rent(rent, W3, CAPS), expected)


# 60% x 123.45 x 7 m2 / 12 = EUR 43.2075: the cap itself is rounded once, by the charter.
ROUNDING = [
    pytest.param("half-up", 4321, id="cap-rounded-half-up"),
    pytest.param("truncate", 4320, id="cap-truncated"),
]


@pytest.mark.parametrize(("rounding", "cap"), ROUNDING)
def test_rent_cap_rounding(rounding: str, cap: int) -> None:
    small = Workspace("W-7", "Pampus-Zuid", area_m2=7, market_rent_cents_per_m2_year=12_345)
    assert rent_cap_cents(small, replace(CAPS, rounding=rounding)) == cap  # type: ignore[arg-type]


# --- indexation ------------------------------------------------------------------------

TERM: Term = (date(2031, 1, 1), date(2036, 1, 1))
INDEXATION = [
    pytest.param(100_000, 103_000, date(2031, 1, 1), date(2032, 1, 1), None, id="at-cap-ok"),
    pytest.param(
        100_000,
        103_001,
        date(2031, 1, 1),
        date(2032, 1, 1),
        ("1030.01", "1030.00", "1000.00", "3%", "12 months", "2031-01-01"),
        id="one-cent-over-cap-refused",
    ),
    pytest.param(
        100_000, 104_500, date(2031, 1, 1), date(2032, 7, 15), None, id="18-whole-months-ok"
    ),
    pytest.param(
        100_000,
        104_501,
        date(2031, 1, 1),
        date(2032, 7, 15),
        ("1045.01", "1045.00", "18 months"),
        id="18-whole-months-over-refused",
    ),
    pytest.param(
        100_000, 103_000, date(2031, 1, 31), date(2032, 1, 31), None, id="month-end-anniversary-ok"
    ),
    pytest.param(
        100_000,
        100_001,
        date(2031, 1, 1),
        date(2031, 12, 31),
        ("12 whole months", "found 11"),
        id="increase-within-12-months-refused",
    ),
    pytest.param(100_000, 95_000, date(2031, 1, 1), date(2031, 6, 1), None, id="decrease-ok"),
    pytest.param(
        100_000,
        99_000,
        date(2032, 1, 1),
        date(2031, 12, 1),
        ("after the last change 2032-01-01", "found 2031-12-01"),
        id="before-last-change-refused",
    ),
    pytest.param(
        100_000,
        99_000,
        date(2032, 1, 1),
        date(2032, 1, 1),
        ("after the last change 2032-01-01",),
        id="on-last-change-refused",
    ),
    pytest.param(
        100_000,
        99_000,
        date(2035, 1, 1),
        date(2036, 1, 1),
        ("2031-01-01 to 2036-01-01", "found 2036-01-01"),
        id="on-term-end-refused",
    ),
    pytest.param(
        149_000,
        150_001,
        date(2031, 1, 1),
        date(2032, 1, 1),
        ("1500.01", "cap 1500.00"),
        id="within-index-but-over-rent-cap-refused",
    ),
]


@pytest.mark.parametrize(("old", "new", "last_change", "on", "expected"), INDEXATION)
def test_indexation(old: int, new: int, last_change: date, on: date, expected: Expected) -> None:
    assert_outcome(lambda: check_indexation(old, new, last_change, on, TERM, W3, CAPS), expected)


# --- term ------------------------------------------------------------------------------

TERMS = [
    pytest.param(date(2031, 1, 1), date(2036, 1, 1), None, id="exactly-max-ok"),
    pytest.param(
        date(2031, 1, 1),
        date(2036, 1, 2),
        ("2036-01-01", "2036-01-02", "5 years", "2031-01-01"),
        id="one-day-over-refused",
    ),
    pytest.param(
        date(2031, 1, 1),
        date(2031, 1, 1),
        ("after the start 2031-01-01",),
        id="end-on-start-refused",
    ),
    pytest.param(
        date(2031, 1, 1),
        date(2030, 12, 31),
        ("found end 2030-12-31",),
        id="end-before-start-refused",
    ),
    pytest.param(date(2032, 2, 29), date(2037, 3, 1), None, id="feb29-start-max-is-mar1-ok"),
    pytest.param(
        date(2032, 2, 29), date(2037, 3, 2), ("2037-03-01",), id="feb29-start-mar2-refused"
    ),
]


@pytest.mark.parametrize(("start", "end", "expected"), TERMS)
def test_term(start: date, end: date, expected: Expected) -> None:
    assert_outcome(lambda: check_term(start, end, CAPS), expected)


# --- queue order -----------------------------------------------------------------------

QUEUE = [
    pytest.param(
        [applicant("M-7", 1), applicant("M-9", 2)], "M-7", id="first-fitting-eligible-wins"
    ),
    pytest.param(
        [applicant("M-9", 2), applicant("M-7", 1)], "M-7", id="order-is-applied-seq-not-list"
    ),
    pytest.param(
        [applicant("M-1", 1, min_m2=200, max_m2=300), applicant("M-7", 2)],
        "M-7",
        id="non-fitting-first-skipped",
    ),
    pytest.param(
        [applicant("M-2", 1, member_kind="household"), applicant("M-7", 2)],
        "M-7",
        id="ineligible-first-skipped",
    ),
    pytest.param(
        [applicant("M-3", 1, founded=date(2020, 1, 1)), applicant("M-7", 2)],
        "M-7",
        id="founded-too-early-first-skipped",
    ),
    pytest.param([applicant("M-1", 1, max_m2=110)], None, id="nobody-fits-none"),
]


@pytest.mark.parametrize(("queue", "first"), QUEUE)
def test_queue_order(queue: list[Applicant], first: str | None) -> None:
    found = first_in_queue(queue, W3, START, CAPS)
    assert (found.member_id if found else None) == first


FIT = [
    pytest.param(120, 120, True, id="exact-fit"),
    pytest.param(121, 150, False, id="min-above-area"),
    pytest.param(100, 119, False, id="max-below-area"),
]


@pytest.mark.parametrize(("min_m2", "max_m2", "expected"), FIT)
def test_fits(min_m2: int, max_m2: int, expected: bool) -> None:
    assert fits(applicant(min_m2=min_m2, max_m2=max_m2), W3) is expected


# --- allocation and exceptions ---------------------------------------------------------

WAITING = [
    applicant("M-2", 1, member_kind="household"),
    applicant("M-7", 2),
    applicant("M-9", 3),
    applicant("M-1", 4, min_m2=200, max_m2=300),
]
ALLOCATION = [
    pytest.param("M-7", None, None, False, id="first-in-queue-no-exception"),
    pytest.param("M-9", "relocated after fire", None, True, id="exception-with-reason-allowed"),
    pytest.param(
        "M-9",
        "",
        (
            "workspace W-3: M-7 is first in the queue (applied 2031-02-02); "
            "record an exception with a reason to grant to M-9",
        ),
        None,
        id="empty-reason-refused",
    ),
    pytest.param("M-9", "   ", ("M-7 is first",), None, id="blank-reason-refused"),
    pytest.param("M-9", None, ("M-7 is first",), None, id="no-reason-refused"),
    pytest.param("M-2", "urgent", ("M-2", "'household'"), None, id="ineligible-not-waivable"),
    pytest.param(
        "M-1", "urgent", ("M-1", "200 to 300 m2", "120 m2"), None, id="non-fitting-not-waivable"
    ),
    pytest.param("M-5", "urgent", ("M-5", "waiting list"), None, id="not-on-waiting-list-refused"),
]


@pytest.mark.parametrize(("member", "reason", "expected", "exception_used"), ALLOCATION)
def test_allocation(
    member: str, reason: str | None, expected: Expected, exception_used: bool | None
) -> None:
    assert_outcome(lambda: check_allocation(member, WAITING, W3, START, CAPS, reason), expected)
    if expected is None:
        decision = check_allocation(member, WAITING, W3, START, CAPS, reason)
        assert decision.exception_used is exception_used
        assert (decision.passed_over.member_id if decision.passed_over else None) == (
            "M-7" if exception_used else None
        )


# --- affordable share ------------------------------------------------------------------

FLOOR = [
    Workspace("W-1", "Pampus-Noord", 100, 25_000),
    Workspace("W-2", "Pampus-Noord", 200, 25_000),
    Workspace("W-3", "Pampus-Zuid", 700, 25_000),
]
SHARE = [
    pytest.param({"W-1", "W-2"}, None, (300, 700, Decimal("0.3"), True), id="above-target"),
    pytest.param({"W-2"}, None, (200, 800, Decimal("0.2"), True), id="exactly-at-target"),
    pytest.param({"W-1"}, None, (100, 900, Decimal("0.1"), False), id="below-target"),
    pytest.param({"W-1", "W-2"}, 2000, (300, 700, Decimal("0.15"), False), id="area-total-given"),
]


@pytest.mark.parametrize(("leased", "total", "expected"), SHARE)
def test_affordable_share(
    leased: set[str], total: int | None, expected: tuple[int, int, Decimal, bool]
) -> None:
    result = affordable_share(FLOOR, leased, Decimal("0.20"), total)
    assert (result.occupied_m2, result.vacant_m2, result.share, result.meets_target) == expected


def test_affordable_share_unregistered_lease_refused() -> None:
    with pytest.raises(NotFoundError, match="W-9"):
        affordable_share(FLOOR, {"W-9"}, Decimal("0.20"))
