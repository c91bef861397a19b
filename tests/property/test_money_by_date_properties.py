"""Money by date (issue 12 point 1): whatever order dated entries are recorded in, no balance is
ever negative on any date (the fund; what a subject owes on its contribution charges), and an
order that would make one negative is refused at the entry that causes it; a resale's postings
net to the price difference."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger import dated
from ledger.checks import verify_store
from ledger.errors import RuleViolationError
from ledger.keys import generate
from ledger.postings import FUND
from ledger.reports import contribution_arrears_at
from ledger.rules import contributions, fund, members, shares
from ledger.rules.members import PersonalData
from ledger.state import MemoryState
from tests.support import found_ledger

DAY0 = date(2031, 1, 1)
days = st.integers(min_value=0, max_value=20 * 366)


def brute_balances(moves: list[tuple[date, int]]) -> dict[date, int]:
    """The balance at the end of every date with a movement, by summing them all."""
    return {d: sum(c for on, c in moves if on <= d) for d, _ in moves}


# -- the structure: balances and running minima by date -----------------------------------------


@given(st.lists(st.tuples(days, st.integers(-10_000, 10_000)), min_size=1, max_size=60), days)
def test_balances_by_date_agree_with_summing_every_movement(
    movements: list[tuple[int, int]], probe: int
) -> None:
    state = MemoryState()
    moves = [(DAY0 + timedelta(days=d), c) for d, c in movements]
    for on, cents in moves:
        dated.add(state, "fund", on, cents)
    at = DAY0 + timedelta(days=probe)
    assert dated.balance_on(state, "fund", at) == sum(c for on, c in moves if on <= at)
    later = {d: b for d, b in brute_balances(moves).items() if d >= at}
    lowest, lowest_on = dated.lowest_from(state, "fund", at)
    candidates = [dated.balance_on(state, "fund", at), *later.values()]
    assert lowest == min(candidates)
    assert dated.balance_on(state, "fund", lowest_on) == lowest
    assert lowest_on >= at


# -- the ledger: shuffled recording orders ------------------------------------------------------

# D-i: fixed-rate simple 10% a year on 1,000.00 from 2031-01-01, so a buy-back n years after the
# sale costs the fund 100.00 x n more than the sale brought in.
BASE = 1_000_00


def price(on: date) -> int:
    years = on.year - DAY0.year - (1 if (on.month, on.day) < (DAY0.month, DAY0.day) else 0)
    return BASE + BASE * years // 10


@st.composite
def recordings(draw: st.DrawFn) -> list[tuple[str, Any, date]]:
    """Dated entries (deposits; each dwelling's sale then buy-back) in a random recording order
    that keeps a dwelling's sale before its buy-back."""
    deposits = [
        ("deposit", draw(st.integers(1, 400)) * 100, DAY0 + timedelta(days=draw(days)))
        for _ in range(draw(st.integers(0, 4)))
    ]
    pairs = []
    for i in range(draw(st.integers(1, 4))):
        sold = DAY0 + timedelta(days=draw(days))
        back = sold + timedelta(days=draw(st.integers(0, 8 * 366)))
        pairs.append([("sell", f"D-{i}", sold), ("buy-back", f"D-{i}", back)])
    queues = [[d] for d in deposits] + pairs
    order: list[tuple[str, Any, date]] = []
    while any(queues):
        live = [q for q in queues if q]
        order.append(draw(st.sampled_from(live)).pop(0))
    return order


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recordings())
def test_shuffled_recordings_never_leave_the_fund_negative_on_any_date(
    order: list[tuple[str, Any, date]],
) -> None:
    signers = {r: generate(r) for r in ("governor", "coop-admin", "werk-admin", "levy-admin")}
    signers["log"] = generate("test.example/coop")
    with tempfile.TemporaryDirectory() as tmp:
        f = found_ledger(str(Path(tmp) / "l.db"), signers)
        dwellings = sorted({what for kind, what, _ in order if kind == "sell"})
        f.append(
            "coop-admin",
            [members.admit(f"M-{d}", "person", PersonalData(name=d), DAY0) for d in dwellings]
            + [
                shares.register_dwelling(
                    d,
                    "Pampus-Haven",
                    DAY0,
                    BASE,
                    DAY0,
                    rule="fixed-rate",
                    rate="0.1",
                    compounding="simple",
                )
                for d in dwellings
            ],
        )
        accepted: list[tuple[date, int]] = []
        held: set[str] = set()
        for kind, what, on in order:
            if kind == "deposit":
                command, cents = fund.deposit(what, "GEM", None, on), what
            elif kind == "sell":
                command = shares.sell_share(
                    what, f"M-{what}", on, deed="A", declared_on=on, declaration="V"
                )
                cents = price(on)
            else:
                if what not in held:
                    continue  # its sale was refused: nothing to buy back
                command, cents = shares.buy_back_share(what, on, deed="B"), -price(on)
            # The oracle: accepted iff the fund, with this movement, is nowhere below zero.
            would = brute_balances([*accepted, (on, cents)])
            first_short = min((d for d, b in would.items() if b < 0), default=None)
            try:
                f.append("coop-admin", [command])
            except RuleViolationError as e:
                assert first_short is not None, f"refused though the fund suffices: {e}"
                lowest = min(b for d, b in would.items() if d >= on)
                assert f"short by {-lowest / 100:.2f}" in str(e)
                event("an entry was refused")
                continue
            assert first_short is None, f"accepted though the fund is short on {first_short}"
            accepted.append((on, cents))
            if kind == "sell":
                held.add(what)
            elif kind == "buy-back":
                held.discard(what)
        with f.store.reading() as tx:
            for d, b in brute_balances(accepted).items():
                assert dated.balance_on(tx.state, FUND, d) == b >= 0
            report = verify_store(tx)
            assert report.ok, report.findings
        f.store.dispose()


@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.sampled_from(["M-1", "M-2"]),
)
def test_a_resales_postings_net_to_the_price_difference(buy: int, sale: int, seller: str) -> None:
    buyer = "M-3"
    postings = shares.resale_postings(seller, buyer, buy, sale)
    assert sum(p.amount_cents for p in postings) == 0
    assert sum(p.amount_cents for p in postings if p.account == FUND) == sale - buy
    assert all(p.amount_cents != 0 for p in postings)
    by_account = {p.account: p.amount_cents for p in postings}
    assert by_account.get(f"member:{buyer}", 0) == -sale
    assert by_account.get(f"member:{seller}", 0) == buy


# -- the contribution: what a subject owes, by date (edition 2) ---------------------------------

MONTHS = ["2032-01", "2032-02", "2032-03", "2032-04"]
MONTHLY = 10_00  # B-1's one workplace


@st.composite
def contribution_recordings(draw: st.DrawFn) -> list[tuple[str, Any, date]]:
    """Month runs (each dated on or after its month's first day) and payments for B-1, in a
    random recording order."""
    entries: list[tuple[str, Any, date]] = []
    for month in draw(st.lists(st.sampled_from(MONTHS), unique=True, max_size=4)):
        first = contributions.month_start(month)
        entries.append(("run", month, first + timedelta(days=draw(st.integers(0, 60)))))
    for _ in range(draw(st.integers(1, 6))):
        on = date(2032, 1, 1) + timedelta(days=draw(st.integers(0, 180)))
        entries.append(("pay", draw(st.integers(1, 3)) * 5_00, on))
    return draw(st.permutations(entries))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contribution_recordings())
def test_shuffled_contribution_recordings_never_leave_a_charge_overpaid_on_any_date(
    order: list[tuple[str, Any, date]],
) -> None:
    signers = {r: generate(r) for r in ("governor", "coop-admin", "werk-admin", "levy-admin")}
    signers["log"] = generate("test.example/coop")
    with tempfile.TemporaryDirectory() as tmp:
        f = found_ledger(str(Path(tmp) / "l.db"), signers)
        f.append(
            "coop-admin",
            [
                members.admit(
                    "B-1",
                    "business",
                    PersonalData(name="B"),
                    date(2031, 6, 1),
                    founded=date(2030, 1, 1),
                    district="Pampus-Haven",
                )
            ],
        )
        f.append(
            "levy-admin",
            [contributions.register_workplaces("B-1", "Pampus-Haven", 1, date(2031, 12, 1))],
        )
        charged: dict[str, date] = {}  # month -> its run's date
        paid: list[tuple[str, date, int]] = []  # (month, payment date, cents allocated)
        for kind, what, on in order:
            if kind == "run":
                f.append("levy-admin", [contributions.charge_month(what, on)])
                charged[what] = on
                continue
            # The oracle: what the charges made by the payment's date still lack.
            due = sum(
                MONTHLY - sum(c for m2, _d, c in paid if m2 == m)
                for m, made in charged.items()
                if made <= on
            )
            command = contributions.pay_contribution(what, on, f"ref-{on}", subject="B-1")
            try:
                receipt = f.append("levy-admin", [command])
            except RuleViolationError:
                assert what > due, f"refused though {due} was due on {on}"
                event("a payment was refused")
                continue
            assert what <= due, f"accepted {what} though only {due} was due on {on}"
            body = receipt.facts[0].body
            assert isinstance(body, contributions.ContributionPaid)
            paid.extend((a.month, on, a.amount_cents) for a in body.allocations)
        probes = sorted({*charged.values(), *(d for _m, d, _c in paid)})
        with f.store.reading() as tx:
            for d in probes:
                owed = {
                    m: MONTHLY - sum(c for m2, on, c in paid if m2 == m and on <= d)
                    for m, made in charged.items()
                    if made <= d
                }
                # No charge is ever paid before it is made, nor beyond what it charges.
                assert all(v >= 0 for v in owed.values()), (d, owed)
                assert all(c == 0 for m, on, c in paid if on <= d and m not in owed)
                at = {r["month"]: r["due_cents"] for r in contribution_arrears_at(tx, d)}
                assert at == {m: v for m, v in owed.items() if v > 0}
            report = verify_store(tx)
            assert report.ok, report.findings
        f.store.dispose()
