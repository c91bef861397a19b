"""Governance rules, one case per clause: genesis, roles, authorisation and revocation."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.checks import verify_store
from ledger.errors import AuthorizationError, LedgerError, RuleViolationError
from ledger.keys import generate
from ledger.rules import governance, members
from ledger.rules.members import PersonalData


def _admit(member_id: str):  # type: ignore[no-untyped-def]
    return members.admit(member_id, "person", PersonalData(name="X"), date(2031, 2, 1))


def _head(founded) -> int:  # type: ignore[no-untyped-def]
    with founded.store.reading() as tx:
        return tx.head()[0]


def test_every_kind_requires_a_role_except_genesis() -> None:
    from ledger.state import load_kinds

    for name, spec in load_kinds().items():
        assert (spec.role is None) == (name == "ledger.founded"), name


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("coop-admin", True), ("werk-admin", False), ("levy-admin", False), ("governor", False)],
    ids=[
        "coop-admin may admit",
        "werk-admin may not",
        "levy-admin may not",
        "governor alone may not",
    ],
)
def test_member_admission_needs_the_coop_admin_role(founded, role: str, allowed: bool) -> None:  # type: ignore[no-untyped-def]
    before = _head(founded)
    if allowed:
        founded.append(role, [_admit("M-1")])
        assert _head(founded) == before + 1
    else:
        with pytest.raises(AuthorizationError, match="needs role coop-admin"):
            founded.append(role, [_admit("M-1")])
        assert _head(founded) == before


def test_an_unknown_key_is_refused(founded) -> None:  # type: ignore[no-untyped-def]
    stranger = founded.signers["stranger"]
    with pytest.raises(AuthorizationError, match="not authorised"):
        founded.ledger.append([_admit("M-1")], stranger, founded.signers["log"])


def test_key_authorisation_needs_a_governor(founded) -> None:  # type: ignore[no-untyped-def]
    newcomer = generate("newcomer")
    with pytest.raises(AuthorizationError, match="needs role governor"):
        founded.append(
            "coop-admin",
            [governance.authorize_key("newcomer", newcomer.public_key, ("coop-admin",))],
        )


def test_a_key_may_hold_several_roles(founded) -> None:  # type: ignore[no-untyped-def]
    both = generate("both")
    founded.append(
        "governor",
        [governance.authorize_key("both", both.public_key, ("coop-admin", "werk-admin"))],
    )
    founded.ledger.append([_admit("M-7")], both, founded.signers["log"])


def test_a_revoked_key_is_refused_but_its_earlier_entries_stay_valid(founded) -> None:  # type: ignore[no-untyped-def]
    founded.append("coop-admin", [_admit("M-1")])
    admin = founded.signers["coop-admin"]
    founded.append("governor", [governance.revoke_key(admin.key_id[:12], "left the board")])
    with pytest.raises(AuthorizationError, match="revoked at entry"):
        founded.append("coop-admin", [_admit("M-2")])
    with founded.store.reading() as tx:
        assert verify_store(tx).ok


def test_a_revoked_key_is_never_authorised_again(founded) -> None:  # type: ignore[no-untyped-def]
    admin = founded.signers["coop-admin"]
    founded.append("governor", [governance.revoke_key(admin.key_id, "lost laptop")])
    with pytest.raises(RuleViolationError, match="never authorised again"):
        founded.append(
            "governor", [governance.authorize_key(admin.name, admin.public_key, ("coop-admin",))]
        )


def test_the_last_governor_cannot_be_revoked(founded) -> None:  # type: ignore[no-untyped-def]
    gov = founded.signers["governor"]
    with pytest.raises(RuleViolationError, match="last active governor"):
        founded.append("governor", [governance.revoke_key(gov.key_id, "oops")])


def test_an_already_authorised_key_is_refused(founded) -> None:  # type: ignore[no-untyped-def]
    admin = founded.signers["coop-admin"]
    with pytest.raises(RuleViolationError, match="already authorised"):
        founded.append(
            "governor", [governance.authorize_key(admin.name, admin.public_key, ("werk-admin",))]
        )


def test_the_log_key_cannot_sign_entries(founded) -> None:  # type: ignore[no-untyped-def]
    log = founded.signers["log"]
    with pytest.raises(RuleViolationError, match="log key"):
        founded.append(
            "governor", [governance.authorize_key("log", log.public_key, ("coop-admin",))]
        )


def test_an_unknown_key_prefix_is_a_clear_error(founded) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LedgerError, match="unknown key deadbeef"):
        founded.append("governor", [governance.revoke_key("deadbeef", "x")])


def test_a_second_genesis_is_refused(founded) -> None:  # type: ignore[no-untyped-def]
    from ledger.charter import TEMPLATE, parse_charter
    from ledger.errors import StorageError
    from ledger.service import genesis

    gov, log = founded.signers["governor"], founded.signers["log"]
    with pytest.raises(StorageError, match="already holds entries"):
        founded.ledger.found(
            genesis(log.name, parse_charter(TEMPLATE), gov, log, date(2031, 1, 1)), gov, log
        )


def test_a_foreign_log_key_is_refused_at_append(founded) -> None:  # type: ignore[no-untyped-def]
    other_log = generate(founded.signers["log"].name)
    with pytest.raises(LedgerError, match="not this ledger's log key"):
        founded.ledger.append([_admit("M-1")], founded.signers["coop-admin"], other_log)


def test_charter_amendment_needs_a_governor_and_is_kept_as_a_version(founded) -> None:  # type: ignore[no-untyped-def]
    from ledger.charter import TEMPLATE, parse_charter
    from ledger.state import charter_at

    amended = parse_charter(TEMPLATE.replace('rate = "0.30"', 'rate = "0.25"'))
    with pytest.raises(AuthorizationError):
        founded.append("coop-admin", [governance.amend_charter(amended, "lower levy")])
    receipt = founded.append("governor", [governance.amend_charter(amended, "lower levy")])
    with founded.store.reading() as tx:
        seq, current = charter_at(tx.state)
        assert seq == receipt.entries[0].seq and current.levy.rate == "0.25"
        assert charter_at(tx.state, 0)[1].levy.rate == "0.30"


# -- charter versions: the edition of the rules (docs/decisions/0016-rules-by-charter-version.md)


def test_a_new_charter_adopts_the_current_rules_edition() -> None:
    from ledger.charter import TEMPLATE, parse_charter

    charter = parse_charter(TEMPLATE)
    assert charter.version == 2
    assert charter.rules_from(2) and not charter.rules_from(3)


def test_a_ledger_moves_to_new_rules_by_amendment_and_never_back(tmp_path, signers) -> None:  # type: ignore[no-untyped-def]
    from ledger.state import charter_at
    from tests.support import charter_v1, found_ledger

    first = charter_v1()
    founded = found_ledger(str(tmp_path / "v1.db"), signers, first)
    founded.append(
        "governor",
        [governance.amend_charter(first.model_copy(update={"version": 2}), "rules of 2032")],
    )
    with founded.store.reading() as tx:
        before = tx.head()[0]
        _, now = charter_at(tx.state)
    assert now.version == 2
    with pytest.raises(RuleViolationError, match="version 1, below the version 2 in force"):
        founded.append("governor", [governance.amend_charter(first, "back to the first rules")])
    assert _head(founded) == before
    with founded.store.reading() as tx:
        assert verify_store(tx).ok
    founded.store.dispose()
