"""Area contributions: a dwelling and a workspace never share an id under a version-2 charter."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.errors import RuleViolationError
from ledger.rules import members, shares, werk
from ledger.rules.members import PersonalData


def test_one_id_for_a_dwelling_and_a_workspace_is_refused_at_registration(founded) -> None:  # type: ignore[no-untyped-def]
    founded.append(
        "coop-admin",
        [
            members.admit("M-1", "household", PersonalData(name="A"), date(2031, 2, 1)),
            members.admit(
                "B-1",
                "business",
                PersonalData(name="B"),
                date(2031, 2, 1),
                founded=date(2030, 1, 1),
                district="Pampus-Haven",
            ),
            shares.register_dwelling(
                "X-1",
                "Pampus-Haven",
                date(2031, 1, 1),
                20_000_000,
                date(2031, 1, 1),
                rule="nominal",
            ),
            shares.sell_share(
                "X-1", "M-1", date(2031, 3, 1), **founded.papers(date(2031, 3, 1), "M-1")
            ),
        ],
    )
    # Under a version-2 charter the id is refused where it is given, not at a later run (an old
    # ledger's collision is charged on two lines: tests/rules/test_ids_table.py).
    with founded.store.reading() as tx:
        before = tx.head()
    with pytest.raises(RuleViolationError, match="id X-1 is already dwelling X-1"):
        founded.append(
            "werk-admin",
            [werk.register_workspace("X-1", "Pampus-Haven", 50, 24_000, date(2031, 2, 1))],
        )
    with founded.store.reading() as tx:
        assert tx.head() == before
