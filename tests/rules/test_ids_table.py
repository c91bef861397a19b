"""Ids across kinds (RULES.md §3, edition 2): one case per clause, through the real appliers.

Under a version-2 charter an id names one thing among members, dwellings, workspaces and
properties; under a version-1 charter ids of different kinds may coincide, as they could when
those ledgers were written. A contribution run charges both things of an old collision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.charter import TEMPLATE, parse_charter
from ledger.checks import verify_store
from ledger.command import Command
from ledger.errors import RuleViolationError
from ledger.keys import Signer
from ledger.rules import contributions, levy, members, shares, werk
from ledger.rules.corrections import correct
from ledger.rules.ids import ID_KINDS
from ledger.rules.members import PersonalData
from tests.support import Founded, charter_v1, found_ledger

ON = date(2031, 1, 6)
DISTRICT = "Pampus-Haven"
V1 = charter_v1()


def member(thing_id: str) -> tuple[str, Command]:
    return "coop-admin", members.admit(thing_id, "household", PersonalData(name="X"), ON)


def dwelling(thing_id: str) -> tuple[str, Command]:
    return "coop-admin", shares.register_dwelling(
        thing_id, DISTRICT, ON, 250_000_00, ON, rule="nominal"
    )


def workspace(thing_id: str) -> tuple[str, Command]:
    return "werk-admin", werk.register_workspace(thing_id, DISTRICT, 50, 200_00, ON)


def property_(thing_id: str) -> tuple[str, Command]:
    return "levy-admin", levy.register_property(thing_id, "home", DISTRICT, ON, 400_000_00, ON)


REGISTRATIONS: dict[str, Callable[[str], tuple[str, Command]]] = {
    "member": member,
    "dwelling": dwelling,
    "workspace": workspace,
    "property": property_,
}
# Property ids start with "P-" (§3), so the shared id of a collision does too.
SHARED = "P-1"


def _verifies(f: Founded) -> None:
    with f.store.reading() as tx:
        report = verify_store(tx)
    assert report.ok, [x.line() for x in report.findings]


def body_of(f: Founded, seq: int) -> dict[str, Any]:
    from ledger.encoding import loads

    with f.store.reading() as tx:
        data = tx.entry(seq)
    assert data is not None
    return dict(loads(data)["entry"]["body"])


def register(f: Founded, kind_name: str, thing_id: str) -> int:
    role, command = REGISTRATIONS[kind_name](thing_id)
    return f.append(role, [command]).entries[-1].seq


PAIRS = [(a, b) for a in REGISTRATIONS for b in REGISTRATIONS if a != b]


def test_every_id_kind_has_a_registration_here() -> None:
    assert set(ID_KINDS) == set(REGISTRATIONS)


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_version_2_refuses_an_id_in_use_by_another_kind(founded, first: str, second: str) -> None:  # type: ignore[no-untyped-def]
    seq = register(founded, first, SHARED)
    with pytest.raises(
        RuleViolationError, match=rf"id {SHARED} is already {first} {SHARED} \(entry {seq}\)"
    ):
        register(founded, second, SHARED)


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_version_1_accepts_ids_that_coincide_across_kinds(
    tmp_path, signers, first: str, second: str
) -> None:  # type: ignore[no-untyped-def]
    f = found_ledger(str(tmp_path / "v1.db"), signers, V1)
    register(f, first, SHARED)
    register(f, second, SHARED)
    _verifies(f)
    f.store.dispose()


def test_distinct_ids_of_every_kind_are_accepted(founded) -> None:  # type: ignore[no-untyped-def]
    for n, kind_name in enumerate(REGISTRATIONS):
        register(founded, kind_name, f"P-{n}")
    _verifies(founded)


def test_a_withdrawn_dwelling_frees_its_id(founded) -> None:  # type: ignore[no-untyped-def]
    seq = register(founded, "dwelling", SHARED)
    founded.append("governor", [correct(seq, "registered as a dwelling by mistake")])
    register(founded, "workspace", SHARED)
    _verifies(founded)


def test_a_removed_workspace_frees_its_id(founded) -> None:  # type: ignore[no-untyped-def]
    seq = register(founded, "workspace", SHARED)
    founded.append("governor", [correct(seq, "a dwelling, not a workspace")])
    register(founded, "dwelling", SHARED)
    _verifies(founded)


def test_ids_in_use_before_version_2_are_refused_to_a_later_registration(tmp_path, signers) -> None:  # type: ignore[no-untyped-def]
    from ledger.rules.governance import amend_charter

    f = found_ledger(str(tmp_path / "v1.db"), signers, V1)
    register(f, "dwelling", SHARED)
    f.append("governor", [amend_charter(parse_charter(TEMPLATE), "rules edition 2")])
    with pytest.raises(RuleViolationError, match=f"id {SHARED} is already dwelling {SHARED}"):
        register(f, "workspace", SHARED)
    f.store.dispose()


# -- what a contribution run does with a collision from a version-1 ledger ----------------------


def _old_collision(tmp_path: Any, signers: dict[str, Signer]) -> Founded:
    """A version-1 ledger where dwelling W-1 (held by M-1) and workspace W-1 (leased to B-1)
    are both in use in 2031-02."""
    f = found_ledger(str(tmp_path / "v1.db"), signers, V1)
    f.append(
        "coop-admin",
        [
            members.admit("M-1", "household", PersonalData(name="M"), ON),
            members.admit(
                "B-1", "business", PersonalData(name="B"), ON, founded=ON, district=DISTRICT
            ),
            shares.register_dwelling("W-1", DISTRICT, ON, 100_000_00, ON, rule="nominal"),
            shares.sell_share("W-1", "M-1", ON),
        ],
    )
    f.append(
        "werk-admin",
        [
            werk.register_workspace("W-1", DISTRICT, 50, 200_00, ON),
            werk.apply("B-1", 10, 100, ON),
            werk.grant("W-1", "B-1", date(2031, 2, 1), date(2032, 2, 1), 400_00, ON),
        ],
    )
    return f


def test_a_run_charges_both_things_of_an_old_collision(tmp_path, signers) -> None:  # type: ignore[no-untyped-def]
    f = _old_collision(tmp_path, signers)
    receipt = f.append("levy-admin", [contributions.charge_month("2031-02", date(2031, 2, 1))])
    body = body_of(f, receipt.entries[-1].seq)
    assert [(line["subject"], line["subject_kind"], line["member"]) for line in body["lines"]] == [
        ("W-1", "dwelling", "M-1"),
        ("W-1", "workspace", "B-1"),
    ]
    assert body["total_cents"] == 20_00
    # The next month's run is not blocked either.
    f.append("levy-admin", [contributions.charge_month("2031-03", date(2031, 3, 1))])
    _verifies(f)
    f.store.dispose()


def test_payments_for_an_old_collision_reach_each_thing(tmp_path, signers) -> None:  # type: ignore[no-untyped-def]
    f = _old_collision(tmp_path, signers)
    f.append("levy-admin", [contributions.charge_month("2031-02", date(2031, 2, 1))])
    # By member: each member pays only the charge that named it.
    paid = f.append(
        "levy-admin",
        [contributions.pay_contribution(10_00, date(2031, 2, 10), "bank 1", member="B-1")],
    )
    assert body_of(f, paid.entries[-1].seq)["allocations"] == [
        {"subject": "W-1", "month": "2031-02", "amount_cents": 10_00}
    ]
    with f.store.reading() as tx:
        due = [(a["subject_kind"], a["member"]) for a in contributions.arrears(tx.state)]
    assert due == [("dwelling", "M-1")]
    # By subject: the id's open charges, both kinds, oldest first (here: the dwelling's).
    f.append(
        "levy-admin",
        [contributions.pay_contribution(10_00, date(2031, 2, 11), "bank 2", subject="W-1")],
    )
    with f.store.reading() as tx:
        assert list(contributions.arrears(tx.state)) == []
    _verifies(f)
    f.store.dispose()


# -- the invariant -------------------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(REGISTRATIONS)), st.sampled_from(["P-1", "P-2", "P-3"])),
        min_size=1,
        max_size=8,
    )
)
def test_under_version_2_no_id_ever_names_two_kinds(founded, attempts) -> None:  # type: ignore[no-untyped-def]
    """Whatever registrations are tried, in whatever order, the accepted ones never give one
    id to two kinds; and a refusal is exactly an id already in use by another kind (or by the
    same kind, which its own rule refuses)."""
    from ledger.errors import LedgerError

    with founded.store.reading() as tx:
        start = {
            (k, i)
            for k, spec in ID_KINDS.items()
            for i in ("P-1", "P-2", "P-3")
            if tx.state.get(spec.namespace, i) is not None
        }
    owner: dict[str, str] = {i: k for k, i in start}
    for kind_name, thing_id in attempts:
        try:
            register(founded, kind_name, thing_id)
        except LedgerError:
            assert thing_id in owner
            continue
        assert owner.get(thing_id) in (None,)
        owner[thing_id] = kind_name
    with founded.store.reading() as tx:
        for thing_id in ("P-1", "P-2", "P-3"):
            kinds = [
                k
                for k, spec in ID_KINDS.items()
                if tx.state.get(spec.namespace, thing_id) is not None
            ]
            assert len(kinds) <= 1, (thing_id, kinds)
