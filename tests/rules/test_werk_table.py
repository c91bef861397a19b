"""Werkcorporatie rules through the real appliers: one row per charter clause, both boundaries.

These are the edition-1 rules (a version-1 charter: typed rents, no lease type, no
revaluation); tests/rules/test_werk_edition2_table.py has the rules of a version-2 charter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger.charter import Charter, charter_from_dict
from ledger.checks import verify_store
from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import (
    AuthorizationError,
    InputError,
    LedgerError,
    NotFoundError,
    RuleViolationError,
)
from ledger.keys import Signer
from ledger.rules import governance, members
from ledger.rules import werk as werk_rules
from ledger.rules.contributions import charge_month
from ledger.rules.corrections import correct as correct_entry
from ledger.rules.members import PersonalData
from ledger.state import Ctx, State, charter_at
from tests.support import Founded, charter_v1, found_ledger

D = date.fromisoformat
# (id, kind, founded, district): B-OLD is founded exactly 5 years before 2031-03-01.
MEMBERS = [
    ("B-1", "business", "2029-06-01", "Pampus-Haven"),
    ("B-2", "business", "2030-01-01", "Pampus-Oost"),
    ("B-3", "business", "2030-06-01", "Pampus-Centrum"),
    ("B-OLD", "business", "2026-03-01", "Pampus-Haven"),
    ("B-NODIST", "business", "2030-01-01", None),
    ("B-NOFOUND", "business", None, "Pampus-Haven"),
    ("H-1", "household", None, "Pampus-Haven"),
]
# 60% of EUR 250.00 per m2 per year x 120 m2 / 12 = EUR 1500.00 a month.
W1_CAP = 1500_00


@pytest.fixture
def founded(tmp_path: Path, signers: dict[str, Signer]) -> Iterator[Founded]:
    """A ledger founded under a version-1 charter: these tests pin the edition-1 rules."""
    f = found_ledger(str(tmp_path / "ledger.db"), signers, charter_v1())
    yield f
    f.store.dispose()


@pytest.fixture
def werk(founded: Founded) -> Founded:
    """The founded ledger with the members above and workspaces W-1 (120 m2), W-2 (40 m2)."""
    founded.append(
        "coop-admin",
        [
            members.admit(
                mid,
                kind,  # type: ignore[arg-type]
                PersonalData(name=mid),
                D("2031-01-02"),
                founded=D(fdate) if fdate else None,
                district=district,
            )
            for mid, kind, fdate, district in MEMBERS
        ],
    )
    founded.append(
        "werk-admin",
        [
            werk_rules.register_workspace("W-1", "Pampus-Haven", 120, 250_00, D("2031-01-03")),
            werk_rules.register_workspace("W-2", "Pampus-Oost", 40, 260_00, D("2031-01-03")),
        ],
    )
    return founded


def snapshot(f: Founded) -> tuple[tuple[int, bytes], dict[tuple[str, str], bytes]]:
    with f.store.reading() as tx:
        return tx.head(), tx.state.snapshot()


def refused(
    f: Founded,
    role: str,
    build: Callable[[], Command] | Command,
    *fragments: str,
    error: type[LedgerError] = RuleViolationError,
) -> str:
    """The command is refused with a one-line message naming the values, and nothing changes."""
    before = snapshot(f)
    with pytest.raises(error) as caught:
        command = build() if callable(build) else build
        f.append(role, [command])
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert snapshot(f) == before
    return message


def lease(f: Founded, lease_id: str) -> dict[str, Any]:
    with f.store.reading() as tx:
        return werk_rules.get_lease(tx.state, lease_id)


def applied(f: Founded, *rows: tuple[str, int, int, str]) -> None:
    f.append("werk-admin", [werk_rules.apply(m, lo, hi, D(on)) for m, lo, hi, on in rows])


def grant(
    f: Founded,
    member: str,
    start: str,
    end: str,
    rent: int = 1000_00,
    workspace: str = "W-1",
    reason: str | None = None,
    role: str = "werk-admin",
) -> str:
    receipt = f.append(
        role,
        [werk_rules.grant(workspace, member, D(start), D(end), rent, D("2031-02-01"), reason)],
    )
    body = receipt.facts[-1].body
    assert isinstance(body, werk_rules.LeaseGranted)
    return body.lease_id


def amend(f: Founded, **lease_terms: Any) -> int:
    with f.store.reading() as tx:
        _, charter = charter_at(tx.state)
    data = charter.model_dump(mode="json")
    data["lease"].update(lease_terms)
    new: Charter = charter_from_dict(data)
    receipt = f.append("governor", [governance.amend_charter(new, "lease terms changed")])
    return receipt.entries[-1].seq


# --- workspace registration -------------------------------------------------------------


REGISTRATION = [
    pytest.param(("W-9", "Pampus-Centrum", 10, 100_00), None, id="ok"),
    pytest.param(("W-1", "Pampus-Haven", 10, 100_00), ("W-1", "already registered"), id="twice"),
    pytest.param(
        ("W-9", "Lelystad", 10, 100_00), ("W-9", "'Lelystad'", "Pampus-Haven"), id="district"
    ),
    pytest.param(("W-9", "Pampus-Haven", 0, 100_00), ("W-9", "1 m2", "found 0"), id="area-zero"),
    pytest.param(("W-9", "Pampus-Haven", 10, 0), ("W-9", "market rent", "0.00"), id="rent-zero"),
]


@pytest.mark.parametrize(("args", "expected"), REGISTRATION)
def test_workspace_registration(
    werk: Founded, args: tuple[str, str, int, int], expected: tuple[str, ...] | None
) -> None:
    command = werk_rules.register_workspace(*args, D("2031-01-04"))
    if expected is None:
        werk.append("werk-admin", [command])
        with werk.store.reading() as tx:
            assert werk_rules.get_workspace(tx.state, args[0])["area_m2"] == args[2]
    else:
        refused(werk, "werk-admin", command, *expected)


def test_workspace_registration_needs_werk_admin(werk: Founded) -> None:
    command = werk_rules.register_workspace("W-9", "Pampus-Haven", 10, 100_00, D("2031-01-04"))
    refused(werk, "coop-admin", command, "needs role werk-admin", error=AuthorizationError)


# --- eligibility (at application, as of its date) ---------------------------------------

ELIGIBILITY = [
    pytest.param("B-1", 100, 150, "2031-03-01", None, id="business-in-area-ok"),
    pytest.param("H-1", 100, 150, "2031-03-01", ("H-1", "'household'"), id="household"),
    pytest.param("B-NODIST", 100, 150, "2031-03-01", ("B-NODIST", "no district"), id="no-district"),
    pytest.param("B-NOFOUND", 100, 150, "2031-03-01", ("no founding date",), id="no-founding-date"),
    pytest.param("B-OLD", 100, 150, "2031-03-01", None, id="founded-5-years-before-ok"),
    pytest.param(
        "B-OLD",
        100,
        150,
        "2031-03-02",
        ("B-OLD", "on or after 2026-03-02", "found founded 2026-03-01"),
        id="founded-5-years-and-a-day-before",
    ),
    pytest.param("B-1", 200, 100, "2031-03-01", ("min_m2 200", "max_m2 100"), id="needs-reversed"),
    pytest.param("B-1", 0, 100, "2031-03-01", ("min_m2 0",), id="needs-zero"),
]


@pytest.mark.parametrize(("member", "lo", "hi", "on", "expected"), ELIGIBILITY)
def test_eligibility_at_application(
    werk: Founded, member: str, lo: int, hi: int, on: str, expected: tuple[str, ...] | None
) -> None:
    command = werk_rules.apply(member, lo, hi, D(on))
    if expected is None:
        werk.append("werk-admin", [command])
        with werk.store.reading() as tx:
            assert [r["member_id"] for r in werk_rules.queue_rows(tx.state)] == [member]
    else:
        refused(werk, "werk-admin", command, *expected)


def test_unknown_member_cannot_apply(werk: Founded) -> None:
    refused(
        werk,
        "werk-admin",
        werk_rules.apply("X-9", 1, 2, D("2031-03-01")),
        "X-9",
        error=NotFoundError,
    )


def test_one_open_application_per_member(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-03-01"))
    refused(
        werk,
        "werk-admin",
        werk_rules.apply("B-1", 10, 50, D("2031-03-02")),
        "B-1",
        "already has an open application",
    )
    werk.append("werk-admin", [werk_rules.withdraw("B-1", D("2031-03-03"), "found space")])
    refused(werk, "werk-admin", werk_rules.withdraw("B-1", D("2031-03-04")), "no open application")
    applied(werk, ("B-1", 10, 50, "2031-03-05"))


def test_district_outside_the_lease_area(werk: Founded) -> None:
    amend(werk, area_districts=["Pampus-Haven", "Pampus-Centrum"])
    refused(
        werk,
        "werk-admin",
        werk_rules.apply("B-2", 30, 50, D("2031-03-01")),
        "B-2",
        "'Pampus-Oost'",
        "Pampus-Centrum, Pampus-Haven",
    )


GRANT_ELIGIBILITY = [
    pytest.param("2031-03-01", None, id="start-on-boundary-ok"),
    pytest.param("2031-03-02", ("on or after 2026-03-02", "2026-03-01"), id="start-a-day-later"),
]


@pytest.mark.parametrize(("start", "expected"), GRANT_ELIGIBILITY)
def test_eligibility_at_the_lease_start(
    werk: Founded, start: str, expected: tuple[str, ...] | None
) -> None:
    applied(werk, ("B-OLD", 100, 150, "2031-02-01"))
    command = werk_rules.grant("W-1", "B-OLD", D(start), D("2032-03-01"), 1000_00, D(start))
    if expected is None:
        werk.append("werk-admin", [command])
    else:
        refused(werk, "werk-admin", command, *expected)


# --- overlap at the boundaries (terms are [start, end)) ---------------------------------

OVERLAP = [
    pytest.param("2032-03-01", "2033-03-01", None, id="touching-after-ok"),
    pytest.param("2030-03-01", "2031-03-01", None, id="touching-before-ok"),
    pytest.param("2032-02-29", "2033-01-01", ("L-", "2032-02-29", "2032-03-01"), id="last-day"),
    pytest.param("2030-06-01", "2031-03-02", ("2031-03-02", "2031-03-01"), id="first-day"),
    pytest.param("2031-03-01", "2032-03-01", ("L-",), id="identical"),
    pytest.param("2031-06-01", "2031-07-01", ("L-",), id="contained"),
]


@pytest.mark.parametrize(("start", "end", "expected"), OVERLAP)
def test_overlap(werk: Founded, start: str, end: str, expected: tuple[str, ...] | None) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"), ("B-2", 100, 150, "2031-01-06"))
    first = grant(werk, "B-1", "2031-03-01", "2032-03-01")
    command = werk_rules.grant("W-1", "B-2", D(start), D(end), 1000_00, D("2031-02-01"))
    if expected is None:
        werk.append("werk-admin", [command])
    else:
        message = refused(werk, "werk-admin", command, *expected)
        assert first in message


def test_other_workspace_does_not_overlap(werk: Founded) -> None:
    applied(werk, ("B-1", 30, 150, "2031-01-05"), ("B-2", 30, 150, "2031-01-06"))
    grant(werk, "B-1", "2031-03-01", "2032-03-01")
    grant(werk, "B-2", "2031-03-01", "2032-03-01", rent=500_00, workspace="W-2")


ENDED_BOUNDARY = [
    pytest.param("2031-09-01", None, id="from-the-end-date-ok"),
    pytest.param("2031-08-31", ("2031-09-01",), id="a-day-before-the-end-date"),
]


@pytest.mark.parametrize(("start", "expected"), ENDED_BOUNDARY)
def test_an_early_end_frees_the_workspace_from_its_date(
    werk: Founded, start: str, expected: tuple[str, ...] | None
) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"), ("B-2", 100, 150, "2031-01-06"))
    first = grant(werk, "B-1", "2031-03-01", "2033-03-01")
    werk.append("werk-admin", [werk_rules.end(first, D("2031-09-01"), "moved out")])
    command = werk_rules.grant("W-1", "B-2", D(start), D("2032-09-01"), 1000_00, D(start))
    if expected is None:
        werk.append("werk-admin", [command])
    else:
        refused(werk, "werk-admin", command, *expected)


def test_a_lease_cancelled_on_its_start_blocks_nothing(werk: Founded) -> None:
    # Its empty term [03-15, 03-15) lies inside both the month and the next lease's term.
    applied(werk, ("B-1", 100, 150, "2031-01-05"), ("B-2", 100, 150, "2031-01-06"))
    first = grant(werk, "B-1", "2031-03-15", "2033-03-01")
    werk.append("werk-admin", [werk_rules.end(first, D("2031-03-15"), "tenant backed out")])
    with werk.store.reading() as tx:
        assert werk_rules.leases_in_use(tx.state, "2031-03") == []
    grant(werk, "B-2", "2031-03-01", "2032-03-01")


# --- rent cap ---------------------------------------------------------------------------

RENT = [
    pytest.param(W1_CAP, None, id="at-cap-ok"),
    pytest.param(W1_CAP + 1, ("W-1", "1500.01", "cap 1500.00", "60%"), id="a-cent-over"),
    pytest.param(0, ("positive", "0.00"), id="zero"),
    pytest.param(-100, ("positive", "-1.00"), id="negative"),
]


@pytest.mark.parametrize(("rent", "expected"), RENT)
def test_rent_cap(werk: Founded, rent: int, expected: tuple[str, ...] | None) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    command = werk_rules.grant(
        "W-1", "B-1", D("2031-03-01"), D("2032-03-01"), rent, D("2031-02-01")
    )
    if expected is None:
        receipt = werk.append("werk-admin", [command])
        assert lease(werk, f"L-{receipt.entries[-1].seq}")["rent_cents_per_month"] == rent
    else:
        refused(werk, "werk-admin", command, *expected)


def test_rent_cap_follows_the_charter_in_force_at_the_grant(werk: Founded) -> None:
    amend(werk, max_rent_ratio="0.50")  # cap now EUR 1250.00
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    refused(
        werk,
        "werk-admin",
        werk_rules.grant("W-1", "B-1", D("2031-03-01"), D("2032-03-01"), 1250_01, D("2031-02-01")),
        "1250.01",
        "cap 1250.00",
        "50%",
    )


# --- term -------------------------------------------------------------------------------

TERM = [
    pytest.param("2031-03-01", "2036-03-01", None, id="five-years-ok"),
    pytest.param(
        "2031-03-01", "2036-03-02", ("2036-03-01", "2036-03-02", "5 years"), id="a-day-over"
    ),
    pytest.param("2031-03-01", "2031-03-01", ("after the start 2031-03-01",), id="empty"),
    pytest.param("2031-03-01", "2031-02-28", ("found end 2031-02-28",), id="end-before-start"),
]


@pytest.mark.parametrize(("start", "end", "expected"), TERM)
def test_term(werk: Founded, start: str, end: str, expected: tuple[str, ...] | None) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    command = werk_rules.grant("W-1", "B-1", D(start), D(end), 1000_00, D("2031-02-01"))
    if expected is None:
        werk.append("werk-admin", [command])
    else:
        refused(werk, "werk-admin", command, *expected)


# --- indexation cap (lease 2031-03-01 to 2036-03-01) ------------------------------------

INDEXATION = [
    pytest.param(1000_00, "2032-03-01", 1030_00, None, id="3pct-after-a-year-ok"),
    pytest.param(1000_00, "2032-03-01", 1030_01, ("1030.01", "ceiling 1030.00"), id="a-cent-over"),
    pytest.param(1000_00, "2032-09-15", 1045_00, None, id="18-months-ok"),
    pytest.param(1000_00, "2032-02-29", 1000_01, ("12 whole months", "found 11"), id="too-soon"),
    pytest.param(1000_00, "2031-06-01", 950_00, None, id="decrease-ok"),
    pytest.param(
        1000_00, "2031-03-01", 950_00, ("after the last change 2031-03-01",), id="on-start"
    ),
    pytest.param(1000_00, "2036-03-01", 950_00, ("found 2036-03-01",), id="on-the-end"),
    pytest.param(1490_00, "2032-03-01", 1500_01, ("1500.01", "cap 1500.00"), id="over-rent-cap"),
    pytest.param(1490_00, "2032-03-01", W1_CAP, None, id="up-to-rent-cap-ok"),
]


@pytest.mark.parametrize(("rent", "on", "new", "expected"), INDEXATION)
def test_indexation(
    werk: Founded, rent: int, on: str, new: int, expected: tuple[str, ...] | None
) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    lid = grant(werk, "B-1", "2031-03-01", "2036-03-01", rent=rent)
    command = werk_rules.index(lid, new, D(on))
    if expected is None:
        werk.append("werk-admin", [command])
        record = lease(werk, lid)
        assert record["rent_cents_per_month"] == new
        assert record["rents"] == [["2031-03-01", rent], [on, new]]
    else:
        refused(werk, "werk-admin", command, *expected)


def test_indexation_is_measured_from_the_last_change(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    lid = grant(werk, "B-1", "2031-03-01", "2036-03-01")
    werk.append("werk-admin", [werk_rules.index(lid, 1030_00, D("2032-03-01"))])
    refused(werk, "werk-admin", werk_rules.index(lid, 1030_01, D("2033-02-28")), "found 11")
    refused(werk, "werk-admin", werk_rules.index(lid, 1060_91, D("2033-03-01")), "ceiling 1060.90")
    werk.append("werk-admin", [werk_rules.index(lid, 1060_90, D("2033-03-01"))])


def test_indexation_keeps_the_charter_the_lease_was_made_under(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"), ("B-2", 30, 50, "2031-01-06"))
    old = grant(werk, "B-1", "2031-03-01", "2036-03-01")
    amended_at = amend(werk, max_indexation_per_year="0.05", max_rent_ratio="0.70")
    # The old lease still indexes by 3%; a lease granted after the amendment by 5%.
    refused(werk, "werk-admin", werk_rules.index(old, 1050_00, D("2032-03-01")), "ceiling 1030.00")
    # W-2's cap is EUR 520.00 at 60% and 606.67 at 70%: 577.00 needs the new charter.
    new = grant(werk, "B-2", "2031-03-01", "2036-03-01", rent=577_00, workspace="W-2")
    assert lease(werk, old)["charter_seq"] == 0
    assert lease(werk, new)["charter_seq"] == amended_at
    werk.append("werk-admin", [werk_rules.index(new, 605_85, D("2032-03-01"))])


def test_an_ended_lease_is_not_indexed(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    lid = grant(werk, "B-1", "2031-03-01", "2036-03-01")
    werk.append("werk-admin", [werk_rules.end(lid, D("2033-01-01"), "closed")])
    refused(werk, "werk-admin", werk_rules.index(lid, 900_00, D("2032-06-01")), lid, "ended")


# --- ending a lease ---------------------------------------------------------------------

ENDING = [
    pytest.param("2031-03-01", None, id="on-the-start-cancels"),
    pytest.param("2032-03-01", None, id="on-the-agreed-end"),
    pytest.param(
        "2031-02-28", ("from the start 2031-03-01", "found 2031-02-28"), id="before-start"
    ),
    pytest.param("2032-03-02", ("agreed end 2032-03-01", "found 2032-03-02"), id="after-the-end"),
]


@pytest.mark.parametrize(("on", "expected"), ENDING)
def test_end(werk: Founded, on: str, expected: tuple[str, ...] | None) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    lid = grant(werk, "B-1", "2031-03-01", "2032-03-01")
    command = werk_rules.end(lid, D(on), "closing down")
    if expected is None:
        werk.append("werk-admin", [command])
        record = lease(werk, lid)
        assert (record["status"], record["end"], record["agreed_end"]) == (
            "ended",
            on,
            "2032-03-01",
        )
        refused(werk, "werk-admin", werk_rules.end(lid, D(on), "again"), "already ended")
    else:
        refused(werk, "werk-admin", command, *expected)


def test_end_after_the_last_rent_change(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    lid = grant(werk, "B-1", "2031-03-01", "2036-03-01")
    werk.append("werk-admin", [werk_rules.index(lid, 1030_00, D("2032-03-01"))])
    refused(
        werk, "werk-admin", werk_rules.end(lid, D("2032-03-01"), "x"), "last rent change 2032-03-01"
    )
    werk.append("werk-admin", [werk_rules.end(lid, D("2032-03-02"), "x")])


def test_user_mistakes_are_one_line_input_errors() -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: werk_rules.end("L-1", D("2031-01-01"), "   "), "'   '"),
        (lambda: werk_rules.apply("B 1", 1, 2, D("2031-01-01")), "'B 1'"),
        (lambda: werk_rules.register_workspace("W/1", "X", 1, 1, D("2031-01-01")), "'W/1'"),
        (
            lambda: werk_rules.grant(
                "W-1", "B-1", D("2031-01-01"), D("2032-01-01"), 1, D("2031-01-01"), ""
            ),
            "''",
        ),
        (lambda: werk_rules.month_bounds("2031-13"), "'2031-13'"),
    ]
    for call, fragment in cases:
        with pytest.raises(InputError) as caught:
            call()
        assert fragment in str(caught.value) and "\n" not in str(caught.value)


# --- queue order ------------------------------------------------------------------------

QUEUE = [
    pytest.param(
        [("B-1", 100, 150), ("B-2", 100, 150)], "B-1", "B-2", ("B-1 is first",), id="in-order"
    ),
    pytest.param(
        [("B-1", 10, 50), ("B-2", 100, 150)], None, "B-2", None, id="non-fitting-first-skipped"
    ),
    pytest.param(
        [("B-OLD", 100, 150), ("B-2", 100, 150)], None, "B-2", None, id="ineligible-first-skipped"
    ),
    pytest.param(
        [("B-3", 121, 150), ("B-1", 100, 119), ("B-2", 120, 120)], None, "B-2", None, id="exact-fit"
    ),
]


@pytest.mark.parametrize(("queue", "first", "later", "later_refusal"), QUEUE)
def test_queue_order(
    werk: Founded,
    queue: list[tuple[str, int, int]],
    first: str | None,
    later: str,
    later_refusal: tuple[str, ...] | None,
) -> None:
    # B-OLD is eligible when it applies (2031-03-01) but no longer from the start 2031-06-01.
    applied(werk, *[(m, lo, hi, "2031-03-01") for m, lo, hi in queue])
    command = werk_rules.grant(
        "W-1", later, D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01")
    )
    if later_refusal is None:
        werk.append("werk-admin", [command])
        return
    refused(werk, "werk-admin", command, *later_refusal)
    assert first is not None
    grant(werk, first, "2031-06-01", "2032-06-01")
    with werk.store.reading() as tx:
        assert first not in [r["member_id"] for r in werk_rules.queue_rows(tx.state)]


def test_queue_order_is_entry_order_not_typed_date(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-03-05"), ("B-2", 100, 150, "2031-03-01"))
    refused(
        werk,
        "werk-admin",
        werk_rules.grant("W-1", "B-2", D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01")),
        "B-1 is first",
    )


def test_withdrawn_applicant_leaves_the_queue(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-03-01"), ("B-2", 100, 150, "2031-03-02"))
    werk.append("werk-admin", [werk_rules.withdraw("B-1", D("2031-04-01"))])
    grant(werk, "B-2", "2031-06-01", "2032-06-01")


def test_grant_needs_an_application(werk: Founded) -> None:
    refused(
        werk,
        "werk-admin",
        werk_rules.grant("W-1", "B-1", D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01")),
        "B-1",
        "waiting list",
    )


def test_unknown_workspace_and_lease(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-03-01"))
    refused(
        werk,
        "werk-admin",
        werk_rules.grant("W-9", "B-1", D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01")),
        "W-9",
        error=NotFoundError,
    )
    refused(
        werk,
        "werk-admin",
        werk_rules.index("L-99", 1, D("2031-06-01")),
        "L-99",
        error=NotFoundError,
    )
    refused(
        werk,
        "werk-admin",
        werk_rules.end("L-99", D("2031-06-01"), "x"),
        "L-99",
        error=NotFoundError,
    )


# --- exceptions -------------------------------------------------------------------------

WAITING = [("B-1", 100, 150, "2031-03-01"), ("B-2", 100, 150, "2031-03-02")]
FIRE = "relocated after the fire at Havenkade 3"

EXCEPTION = [
    pytest.param("governor", "governor", None, None, id="governor-records-it"),
    pytest.param(
        "governor",
        "werk-admin",
        ("lease.exception-granted", "needs role governor"),
        AuthorizationError,
        id="werk-admin-may-not",
    ),
    pytest.param(
        "governor", "levy-admin", ("needs role governor",), AuthorizationError, id="levy-admin"
    ),
    pytest.param("werk-admin", "werk-admin", None, None, id="charter-lets-werk-admin"),
    pytest.param(
        "werk-admin",
        "governor",
        ("lease.granted", "needs role werk-admin"),
        AuthorizationError,
        id="then-governor-may-not",
    ),
]


@pytest.mark.parametrize(("exception_role", "signer", "expected", "error"), EXCEPTION)
def test_exception_role(
    werk: Founded,
    exception_role: str,
    signer: str,
    expected: tuple[str, ...] | None,
    error: type[LedgerError] | None,
) -> None:
    if exception_role != "governor":
        amend(werk, exception_role=exception_role)
    applied(werk, *WAITING)
    command = werk_rules.grant(
        "W-1", "B-2", D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01"), FIRE
    )
    if expected is None:
        receipt = werk.append(signer, [command])
        expected_kind = "lease.granted" if signer == "werk-admin" else "lease.exception-granted"
        assert receipt.entries[-1].kind == expected_kind
        lid = f"L-{receipt.entries[-1].seq}"
        assert lease(werk, lid)["exception"] == {
            "reason": FIRE,
            "passed_over_member_id": "B-1",
            "passed_over_application_seq": receipt.entries[-1].seq - 2,
        }
        with werk.store.reading() as tx:
            # B-1 keeps its place, and the grant is in B-1's own history.
            assert [r["member_id"] for r in werk_rules.queue_rows(tx.state)] == ["B-1"]
            assert receipt.entries[-1].seq in tx.state.get("member", "B-1")["history"]  # type: ignore[index]
    else:
        assert error is not None
        refused(werk, signer, command, *expected, error=error)


EXCEPTION_LIMITS = [
    pytest.param(
        "B-1", FIRE, ("B-1 is the first fitting eligible", "passed over"), id="not-needed"
    ),
    pytest.param("B-3", FIRE, ("B-3", "waiting list"), id="not-applied"),
]


@pytest.mark.parametrize(("member", "reason", "expected"), EXCEPTION_LIMITS)
def test_exception_limits(
    werk: Founded, member: str, reason: str, expected: tuple[str, ...]
) -> None:
    applied(werk, *WAITING)
    command = werk_rules.grant(
        "W-1", member, D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01"), reason
    )
    refused(werk, "governor", command, *expected)


def test_exception_never_waives_eligibility_or_fit(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-03-01"), ("B-OLD", 100, 150, "2031-03-01"))
    applied(werk, ("B-3", 10, 50, "2031-03-01"))
    for member, fragment in [("B-OLD", "founded"), ("B-3", "10 to 50 m2")]:
        command = werk_rules.grant(
            "W-1", member, D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01"), FIRE
        )
        refused(werk, "governor", command, member, fragment)


def test_an_in_order_grant_is_the_werk_admins(werk: Founded) -> None:
    applied(werk, *WAITING)
    command = werk_rules.grant(
        "W-1", "B-1", D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01")
    )
    refused(werk, "governor", command, "needs role werk-admin", error=AuthorizationError)
    stranger = werk.signers["stranger"]
    with pytest.raises(AuthorizationError, match="not authorised"):
        werk.ledger.append([command], stranger, werk.signers["log"])


# --- what the contribution and the reports see ------------------------------------------

IN_USE = [
    pytest.param("2031-02", [], id="month-before"),
    pytest.param("2031-03", ["L"], id="starts-mid-month"),
    pytest.param("2031-04", ["L"], id="month-before-end"),
    pytest.param("2031-05", [], id="ends-on-the-first"),
]


@pytest.mark.parametrize(("month", "expected"), IN_USE)
def test_leases_in_use(werk: Founded, month: str, expected: list[str]) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    lid = grant(werk, "B-1", "2031-03-15", "2031-05-01")
    with werk.store.reading() as tx:
        rows = werk_rules.leases_in_use(tx.state, month)
    want = [
        {"workspace_id": "W-1", "district": "Pampus-Haven", "member_id": "B-1", "lease_id": lid}
    ]
    assert rows == (want if expected else [])


def test_leased_workspaces_pay_the_area_contribution(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    grant(werk, "B-1", "2031-03-15", "2031-05-01")
    receipt = werk.append("levy-admin", [charge_month("2031-04", D("2031-04-01"))])
    lines = receipt.facts[-1].body.lines  # type: ignore[attr-defined]
    workspace_lines = [line for line in lines if line.subject_kind == "workspace"]
    assert [(line.subject, line.member, line.amount_cents) for line in workspace_lines] == [
        ("W-1", "B-1", 1000)
    ]


def test_reports_and_verification(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"), ("B-2", 30, 50, "2031-01-06"))
    first = grant(werk, "B-1", "2031-03-01", "2036-03-01")
    werk.append("werk-admin", [werk_rules.index(first, 1030_00, D("2032-03-01"))])
    with werk.store.reading() as tx:
        roll = werk_rules.lease_roll(tx.state, D("2032-02-29"))
        later = werk_rules.lease_roll(tx.state, D("2032-03-01"))
        occupancy = werk_rules.occupancy(tx.state, D("2032-03-01"))
        assert verify_store(tx).ok
    assert [(r["lease_id"], r["rent_cents_per_month"]) for r in roll["leases"]] == [
        (first, 1000_00)
    ]
    assert later["total_rent_cents_per_month"] == 1030_00
    assert later["leases"][0]["rent_cap_cents_per_month"] == W1_CAP
    # 120 of 160 registered m2 is leased: 75% against the 20% target.
    assert (occupancy["occupied_m2"], occupancy["vacant_m2"], occupancy["vacant_workspaces"]) == (
        120,
        40,
        ["W-2"],
    )
    assert (occupancy["affordable_share"], occupancy["meets_target"]) == ("0.7500", True)


# --- forged bodies: computed values are computed again by the applier ------------------


def forged(command: Command, kind: str | None = None, **changes: Any) -> Command:
    """The command's entry with some body fields (or the kind) changed after the decision."""

    def decide(state: State, ctx: Ctx) -> Fact:
        fact = command.decide(state, ctx)
        return Fact(kind or fact.kind, fact.body.model_copy(update=changes), fact.effective)

    return LegacyCommand("forged", {}, decide)


OTHER = werk_rules.QueueException(
    reason="x", passed_over_member_id="B-3", passed_over_application_seq=1
)
FORGED = [
    pytest.param({"lease_id": "L-1"}, None, "werk-admin", ("expected lease id L-",), id="lease-id"),
    pytest.param({"charter_seq": 1}, None, "werk-admin", ("found charter_seq 1",), id="charter"),
    pytest.param(
        {"application_seq": 1}, None, "werk-admin", ("found application_seq 1",), id="application"
    ),
    pytest.param(
        {"exception": OTHER},
        None,
        "werk-admin",
        ("reserves queue exceptions to the governor",),
        id="exception-as-lease.granted",
    ),
    pytest.param(
        {},
        "lease.exception-granted",
        "governor",
        ("expected an exception",),
        id="exception-kind-without-exception",
    ),
    pytest.param(
        {"exception": OTHER},
        "lease.exception-granted",
        "governor",
        ("B-1 is the first",),
        id="exception-passing-over-nobody",
    ),
]


@pytest.mark.parametrize(("changes", "kind", "role", "expected"), FORGED)
def test_forged_grant_is_refused(
    werk: Founded, changes: dict[str, Any], kind: str | None, role: str, expected: tuple[str, ...]
) -> None:
    applied(werk, *WAITING)
    command = werk_rules.grant(
        "W-1", "B-1", D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01")
    )
    refused(werk, role, forged(command, kind, **changes), *expected, error=LedgerError)


def test_forged_exception_naming_the_wrong_applicant_is_refused(werk: Founded) -> None:
    applied(werk, *WAITING, ("B-3", 100, 150, "2031-03-03"))
    command = werk_rules.grant(
        "W-1", "B-3", D("2031-06-01"), D("2032-06-01"), 1000_00, D("2031-05-01"), FIRE
    )
    wrong = OTHER.model_copy(update={"reason": FIRE, "passed_over_member_id": "B-2"})
    refused(werk, "governor", forged(command, exception=wrong), "passes over B-1", "found B-2")


def test_forged_previous_rent_is_refused(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    lid = grant(werk, "B-1", "2031-03-01", "2036-03-01")
    command = forged(
        werk_rules.index(lid, 900_00, D("2031-06-01")), previous_rent_cents_per_month=1200_00
    )
    refused(werk, "werk-admin", command, "expected previous rent 1000.00", "found 1200.00")


# --- corrections (governor) --------------------------------------------------------------


def correct(f: Founded, seq: int, reason: str = "recorded in error") -> int:
    return f.append("governor", [correct_entry(seq, reason, D("2040-01-01"))]).entries[-1].seq


def seq_of(f: Founded, kind: str, nth: int = -1) -> int:
    with f.store.reading() as tx:
        return [seq for seq, k, _ in tx.entry_rows(0, tx.head()[0]) if k == kind][nth]


def queue(f: Founded) -> list[tuple[str, int]]:
    with f.store.reading() as tx:
        return [(a.member_id, a.applied_seq) for a in werk_rules.waiting_list(tx.state)]


def test_a_corrected_grant_frees_the_workspace_and_reopens_the_application(
    werk: Founded,
) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"), ("B-2", 100, 150, "2031-01-06"))
    before = queue(werk)
    lid = grant(werk, "B-1", "2031-03-01", "2033-03-01")
    fixed = correct(werk, seq_of(werk, "lease.granted"), "granted to the wrong business")
    assert queue(werk) == before  # B-1 is back in its own place, before B-2
    record = lease(werk, lid)
    assert (record["status"], record["corrected_seq"]) == ("corrected", fixed)
    with werk.store.reading() as tx:
        assert werk_rules.leases_in_use(tx.state, "2031-04") == []
        assert verify_store(tx).ok
    refused(
        werk,
        "werk-admin",
        lambda: werk_rules.index(lid, 1010_00, D("2032-03-01")),
        f"lease {lid}: its grant was corrected at entry {fixed}",
    )
    # The workspace can be let again, to the right applicant.
    grant(werk, "B-1", "2031-03-01", "2033-03-01")


def test_a_grant_with_an_indexation_or_an_end_is_corrected_last(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    lid = grant(werk, "B-1", "2031-03-01", "2036-03-01")
    granted = seq_of(werk, "lease.granted")
    werk.append("werk-admin", [werk_rules.index(lid, 1030_00, D("2032-03-01"))])
    refused(
        werk,
        "governor",
        correct_entry(granted, "wrong", D("2032-04-01")),
        f"entry {granted} (lease.granted) cannot be reversed",
        "was changed on 2032-03-01; correct that indexation first",
    )
    correct(werk, seq_of(werk, "lease.indexed"))
    assert (lease(werk, lid)["rent_cents_per_month"], len(lease(werk, lid)["rents"])) == (
        1000_00,
        1,
    )
    werk.append("werk-admin", [werk_rules.end(lid, D("2033-01-01"), "moved out")])
    refused(
        werk,
        "governor",
        correct_entry(granted, "wrong", D("2033-02-01")),
        "ended at entry",
        "correct its end first",
    )
    correct(werk, seq_of(werk, "lease.ended"))
    assert (lease(werk, lid)["status"], lease(werk, lid)["end"]) == ("granted", "2036-03-01")
    correct(werk, granted)
    with werk.store.reading() as tx:
        assert verify_store(tx).ok


def test_a_grant_charged_by_a_contribution_run_stands(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    grant(werk, "B-1", "2031-03-15", "2031-05-01")
    run = werk.append("levy-admin", [charge_month("2031-04", D("2031-04-01"))]).entries[-1].seq
    granted = seq_of(werk, "lease.granted")
    refused(
        werk,
        "governor",
        correct_entry(granted, "wrong", D("2031-04-02")),
        f"the contribution run for 2031-04 (entry {run}) charged workspace W-1",
    )


def test_an_end_is_undone_only_while_the_days_are_free(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"), ("B-2", 100, 150, "2031-01-06"))
    first = grant(werk, "B-1", "2031-03-01", "2033-03-01")
    werk.append("werk-admin", [werk_rules.end(first, D("2031-06-01"), "moved out")])
    ended = seq_of(werk, "lease.ended")
    grant(werk, "B-2", "2031-07-01", "2032-07-01")
    refused(
        werk,
        "governor",
        correct_entry(ended, "wrong", D("2031-07-02")),
        f"entry {ended} (lease.ended) cannot be reversed",
        "overlap",
    )
    # Without the second tenant, a contribution run after the end still stands in the way
    # (W-2 is let in June, so the run has something to charge).
    correct(werk, seq_of(werk, "lease.granted"))
    applied(werk, ("B-3", 30, 50, "2031-01-07"))
    grant(werk, "B-3", "2031-06-01", "2032-06-01", rent=400_00, workspace="W-2")
    run = werk.append("levy-admin", [charge_month("2031-06", D("2031-06-02"))]).entries[-1].seq
    refused(
        werk,
        "governor",
        correct_entry(ended, "wrong", D("2031-07-02")),
        f"the contribution run for 2031-06 (entry {run}) did not charge workspace W-1",
    )


def test_an_application_is_corrected_while_it_is_open(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"), ("B-2", 100, 150, "2031-01-06"))
    first, second = seq_of(werk, "lease.applied", 0), seq_of(werk, "lease.applied", 1)
    correct(werk, second)
    assert queue(werk) == [("B-1", first)]
    grant(werk, "B-1", "2031-03-01", "2033-03-01")
    refused(
        werk,
        "governor",
        correct_entry(first, "wrong", D("2031-03-02")),
        "the application of B-1 is no longer open",
    )


def test_a_withdrawal_in_error_puts_the_application_back_in_its_place(werk: Founded) -> None:
    applied(werk, ("B-1", 100, 150, "2031-01-05"), ("B-2", 100, 150, "2031-01-06"))
    before = queue(werk)
    werk.append("werk-admin", [werk_rules.withdraw("B-1", D("2031-02-01"))])
    withdrawn = seq_of(werk, "lease.withdrawn")
    assert [m for m, _ in queue(werk)] == ["B-2"]
    correct(werk, withdrawn)
    assert queue(werk) == before
    # Withdrawn again and applied anew: the old place cannot come back beside the new one.
    werk.append("werk-admin", [werk_rules.withdraw("B-1", D("2031-02-02"))])
    applied(werk, ("B-1", 100, 150, "2031-02-03"))
    refused(
        werk,
        "governor",
        correct_entry(seq_of(werk, "lease.withdrawn"), "wrong", D("2031-02-04")),
        "B-1 has applied again since",
    )


def test_a_workspace_registered_in_error_is_undone_while_never_let(werk: Founded) -> None:
    with werk.store.reading() as tx:
        w1, w2 = [
            seq for seq, kind, _ in tx.entry_rows(0, tx.head()[0]) if kind == "workspace.registered"
        ]
    applied(werk, ("B-1", 100, 150, "2031-01-05"))
    lid = grant(werk, "B-1", "2031-03-01", "2033-03-01")
    refused(
        werk,
        "governor",
        correct_entry(w1, "wrong area", D("2031-02-04")),
        f"workspace W-1 has leases ({lid}); correct their grants first",
    )
    correct(werk, w2, "wrong market rent")
    with werk.store.reading() as tx:
        assert tx.state.get("workspace", "W-2") is None
        assert verify_store(tx).ok
    werk.append(
        "werk-admin",
        [werk_rules.register_workspace("W-2", "Pampus-Oost", 40, 200_00, D("2031-02-05"))],
    )
