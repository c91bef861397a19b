"""The storage contract, run on SQLite and on PostgreSQL: append-only, idempotent, replayable."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from ledger.checks import verify_store
from ledger.errors import ConflictError, RuleViolationError
from ledger.rules import members
from ledger.rules.members import PersonalData
from ledger.storage.store import Store
from ledger.verify.audit import verify_leaves


def _admit(member_id: str, name: str = "X"):  # type: ignore[no-untyped-def]
    return members.admit(member_id, "person", PersonalData(name=name), date(2031, 2, 1))


@pytest.mark.parametrize("statement", ["UPDATE entries SET kind = 'x'", "DELETE FROM entries"])
def test_entries_refuse_update_and_delete(founded_any, statement: str) -> None:  # type: ignore[no-untyped-def]
    engine = sa.create_engine(founded_any.store.url, poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()
    with founded_any.store.reading() as tx:
        assert verify_store(tx).ok


@pytest.mark.parametrize("table", ["merkle_nodes", "checkpoints"])
def test_tree_and_checkpoints_are_append_only_too(founded_any, table: str) -> None:  # type: ignore[no-untyped-def]
    engine = sa.create_engine(founded_any.store.url, poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()


def test_request_id_is_idempotent(founded_any) -> None:  # type: ignore[no-untyped-def]
    first = founded_any.append("coop-admin", [_admit("M-1", "Ans")], request_id="r-1")
    again = founded_any.append("coop-admin", [_admit("M-1", "Ans")], request_id="r-1")
    assert again.replayed and not first.replayed
    assert again.entries == first.entries and again.checkpoint_size == first.checkpoint_size
    with pytest.raises(ConflictError, match="r-1 was already used"):
        founded_any.append("coop-admin", [_admit("M-2", "Bob")], request_id="r-1")
    with founded_any.store.reading() as tx:
        assert tx.head()[0] == first.entries[0].seq + 1


def test_a_failed_batch_appends_nothing(founded_any) -> None:  # type: ignore[no-untyped-def]
    founded_any.append("coop-admin", [_admit("M-1")])
    with founded_any.store.reading() as tx:
        before = (tx.head(), tx.state.snapshot(), tx.checkpoint())
    with pytest.raises(RuleViolationError, match="M-1 is already admitted"):
        founded_any.append("coop-admin", [_admit("M-2"), _admit("M-3"), _admit("M-1")])
    with founded_any.store.reading() as tx:
        assert (tx.head(), tx.state.snapshot(), tx.checkpoint()) == before
        assert tx.member_data("M-2") is None


def test_projections_equal_a_replay_of_the_log(founded_any) -> None:  # type: ignore[no-untyped-def]
    founded_any.append("coop-admin", [_admit(f"M-{i}") for i in range(5)])
    founded_any.append("coop-admin", [members.forget("M-2", date(2031, 3, 1))])
    with founded_any.store.reading() as tx:
        leaves = [d for _, d in tx.entries()]
        replay_report, replayed = verify_leaves(leaves, [], None)
        assert replay_report.ok
        assert replayed.snapshot() == tx.state.snapshot()  # type: ignore[attr-defined]


def test_forgetting_erases_personal_data_and_still_verifies(founded_any) -> None:  # type: ignore[no-untyped-def]
    founded_any.append("coop-admin", [_admit("M-1", "Anna de Wit")])
    founded_any.append("coop-admin", [members.forget("M-1", date(2031, 3, 1))])
    with founded_any.store.reading() as tx:
        salt, data, erased = tx.member_data("M-1")  # type: ignore[misc]
        assert salt is None and data is None and erased is not None
        assert verify_store(tx).ok
        assert all(b"Anna" not in d for _, d in tx.entries())


def test_schema_is_checked_on_open(store_target: str) -> None:
    from ledger.errors import StorageError

    if "://" not in store_target:
        with pytest.raises(StorageError, match="no ledger at"):
            Store(store_target)
        return
    store = Store(store_target)
    with pytest.raises(StorageError, match="not a coop-ledger database"), store.reading():
        pass
    store.dispose()


def test_read_snapshot_is_stable_while_a_writer_appends(founded_any) -> None:  # type: ignore[no-untyped-def]
    with founded_any.store.reading() as tx:
        size = tx.head()[0]
        founded_any.append("coop-admin", [_admit("M-9")])
        assert tx.head()[0] == size
    with founded_any.store.reading() as tx:
        assert tx.head()[0] == size + 1
