"""ledger.calendar: one way to count years and months, for prices, levies and leases alike."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.calendar import add_months, anniversary, whole_months, whole_years
from ledger.errors import RuleViolationError

D = date


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        (D(2031, 5, 1), 10, D(2041, 5, 1)),
        (D(2032, 2, 29), 1, D(2033, 3, 1)),
        (D(2032, 2, 29), 4, D(2036, 2, 29)),
        (D(2032, 2, 29), -5, D(2027, 3, 1)),
    ],
    ids=["plain", "leap day rolls to 1 March", "leap to leap", "backwards from a leap day"],
)
def test_anniversary(start: date, years: int, expected: date) -> None:
    assert anniversary(start, years) == expected


@pytest.mark.parametrize(
    ("start", "on", "expected"),
    [
        (D(2031, 5, 1), D(2041, 4, 30), 9),
        (D(2031, 5, 1), D(2041, 5, 1), 10),
        (D(2032, 2, 29), D(2033, 2, 28), 0),
        (D(2032, 2, 29), D(2033, 3, 1), 1),
    ],
    ids=[
        "day before the 10th",
        "on the 10th",
        "leap day: 28 Feb is early",
        "leap day: 1 Mar counts",
    ],
)
def test_whole_years(start: date, on: date, expected: int) -> None:
    assert whole_years(start, on) == expected


def test_whole_years_refuses_a_date_before_the_start() -> None:
    with pytest.raises(RuleViolationError, match="before the start date"):
        whole_years(D(2031, 5, 1), D(2031, 4, 30))


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2031, 1, 31), 1, D(2031, 3, 1)),
        (D(2031, 1, 15), 1, D(2031, 2, 15)),
        (D(2031, 3, 31), -1, D(2031, 3, 1)),
    ],
    ids=["31 Jan + 1 month", "mid-month", "31 Mar - 1 month"],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("since", "on", "expected"),
    [
        (D(2031, 1, 31), D(2031, 2, 28), 0),
        (D(2031, 1, 31), D(2031, 3, 1), 1),
        (D(2031, 4, 1), D(2032, 4, 1), 12),
        (D(2031, 4, 1), D(2031, 3, 1), 0),
    ],
    ids=["not yet a month", "a month has run", "a year", "before: zero"],
)
def test_whole_months(since: date, on: date, expected: int) -> None:
    assert whole_months(since, on) == expected
