"""Calendar arithmetic for every rule: anniversaries, whole years and whole months, one way only.

A period counts as whole only once it has fully run. So adding months or years to a day that
the target month lacks (29 February in a common year, 31 January + 1 month) gives the first
day of the next month, never an earlier day: 29 February 2032 + 5 years is 1 March 2037.
Prices (whole years since the base date), the levy term (the 40th anniversary of delivery),
lease terms, tenants' founding dates and rent indexation all use these functions.
"""

from __future__ import annotations

import calendar
from datetime import MAXYEAR, MINYEAR, date

from ledger.errors import InputError, RuleViolationError


def add_months(day: date, months: int) -> date:
    """`day` moved by `months` (may be negative); a missing day rolls to the next month's 1st."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    if not MINYEAR <= year <= MAXYEAR:
        raise InputError(f"{months} months from {day} is outside the calendar (years 1 to 9999)")
    last = calendar.monthrange(year, month0 + 1)[1]
    if day.day <= last:
        return date(year, month0 + 1, day.day)
    return date(year, month0 + 1, last) + (date(2000, 1, 2) - date(2000, 1, 1))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def anniversary(start: date, years: int) -> date:
    """The `years`-th anniversary of `start` (from 29 February: 1 March in a common year)."""
    return add_years(start, years)


def whole_years(start: date, on: date) -> int:
    """How many anniversaries of `start` have come by `on`, counting `on` itself."""
    if on < start:
        raise RuleViolationError(f"date {on} is before the start date {start}")
    years = on.year - start.year
    if anniversary(start, years) > on:
        years -= 1
    return years


def whole_months(since: date, on: date) -> int:
    """Whole months from `since` to `on`: the largest m >= 0 with add_months(since, m) <= on."""
    months = (on.year - since.year) * 12 + on.month - since.month
    if months > 0 and add_months(since, months) > on:
        months -= 1
    return max(months, 0)
