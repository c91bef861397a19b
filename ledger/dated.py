"""Balances by effective date (decision 0019): per-account day, month and year totals with their running minima,
so a movement dated in the past is checked against every later date by reading three records.

An account's movements are kept in a three-level tree of keyed records (namespace `dated`):
  `<account>/`          {"years":  {"2035":       [sum, lowest, lowest_on]}}
  `<account>/2035`      {"months": {"2035-03":    [sum, lowest, lowest_on]}}
  `<account>/2035-03`   {"days":   {"2035-03-14": net}}
`sum` is the net movement of the period; `lowest` the lowest balance at the end of any of
its days, counted from the period's start (so relative to the balance before it), and
`lowest_on` that day. A balance is the balance at the END of a date: movements on one date
count together, whatever order they were recorded in. Adding a movement rewrites one record
per level; the balance on a date and the lowest balance from a date on read the same three.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.state import State

NS = "dated"
Summary = list[Any]  # [sum_cents, lowest_cents, lowest_on]


def _key(account: str, period: str) -> str:
    return f"{account}/{period}"


def _summary(items: dict[str, Summary]) -> Summary:
    """The sum and lowest running total of consecutive periods (in key order)."""
    running = 0
    lowest: int | None = None
    lowest_on = ""
    for key in sorted(items):
        total, low, low_on = items[key]
        if lowest is None or running + low < lowest:
            lowest, lowest_on = running + low, low_on
        running += total
    assert lowest is not None
    return [running, lowest, lowest_on]


def add(state: State, account: str, on: date, cents: int) -> None:
    """Record a movement of `cents` into `account` on the date `on`."""
    day, month, year = on.isoformat(), on.isoformat()[:7], on.isoformat()[:4]
    month_rec = state.get(NS, _key(account, month)) or {"days": {}}
    days = dict(month_rec["days"])
    days[day] = int(days.get(day, 0)) + cents
    state.put(NS, _key(account, month), {"days": days})
    year_rec = state.get(NS, _key(account, year)) or {"months": {}}
    months = dict(year_rec["months"])
    months[month] = _summary({d: [v, v, d] for d, v in days.items()})
    state.put(NS, _key(account, year), {"months": months})
    root = state.get(NS, _key(account, "")) or {"years": {}}
    years = dict(root["years"])
    years[year] = _summary(months)
    state.put(NS, _key(account, ""), {"years": years})


def _levels(state: State, account: str, on: date) -> tuple[int, dict[str, int], list[Summary]]:
    """The balance at the start of `on`'s month, the month's days, and the periods after the
    month in order (the rest of its year's months, then the later years)."""
    month, year = on.isoformat()[:7], on.isoformat()[:4]
    root = state.get(NS, _key(account, "")) or {"years": {}}
    years: dict[str, Summary] = root["years"]
    before = sum(int(s[0]) for y, s in years.items() if y < year)
    later = [years[y] for y in sorted(years) if y > year]
    months: dict[str, Summary] = {}
    if year in years:
        months = (state.get(NS, _key(account, year)) or {"months": {}})["months"]
    before += sum(int(s[0]) for m, s in months.items() if m < month)
    later = [months[m] for m in sorted(months) if m > month] + later
    days: dict[str, int] = {}
    if month in months:
        days = (state.get(NS, _key(account, month)) or {"days": {}})["days"]
    return before, days, later


def balance_on(state: State, account: str, on: date) -> int:
    """The account's balance at the end of `on`."""
    before, days, _ = _levels(state, account, on)
    day = on.isoformat()
    return before + sum(int(v) for d, v in days.items() if d <= day)


def lowest_from(state: State, account: str, on: date) -> tuple[int, date]:
    """The lowest end-of-day balance on `on` or any later date, and the first date it occurs."""
    before, days, later = _levels(state, account, on)
    day = on.isoformat()
    running = before + sum(int(v) for d, v in days.items() if d <= day)
    lowest, lowest_on = running, day
    for d in sorted(days):
        if d > day:
            running += int(days[d])
            if running < lowest:
                lowest, lowest_on = running, d
    for total, low, low_on in later:
        if running + int(low) < lowest:
            lowest, lowest_on = running + int(low), low_on
        running += int(total)
    return lowest, date.fromisoformat(lowest_on)
