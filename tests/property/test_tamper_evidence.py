"""Tamper evidence: any change to the stored log makes verification fail at the first affected entry."""

from __future__ import annotations

import base64
import sqlite3
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import merkle, note
from ledger.checks import verify_store
from ledger.keys import generate
from ledger.model import Entry, Signature, SignedEntry, assemble_leaf, signing_message
from ledger.rules import members
from ledger.rules.members import PersonalData
from ledger.verify.audit import verify_leaves
from tests.support import found_ledger


def _first_bad(leaves: list[bytes], log_data) -> int | None:  # type: ignore[no-untyped-def]
    _, checkpoints, trusted = log_data
    report, _ = verify_leaves(leaves, checkpoints, trusted)
    assert not report.ok
    return report.first_bad_seq


def test_untouched_log_verifies(log_data) -> None:  # type: ignore[no-untyped-def]
    leaves, checkpoints, trusted = log_data
    report, _ = verify_leaves(leaves, checkpoints, trusted)
    assert report.ok, [f.line() for f in report.findings]
    assert report.checkpoints == len(checkpoints)


settings_ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@settings_
@given(data=st.data())
def test_flipping_any_byte_is_caught_at_that_entry(log_data, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    leaves = list(log_data[0])
    i = data.draw(st.integers(0, len(leaves) - 1), label="entry")
    pos = data.draw(st.integers(0, len(leaves[i]) - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    raw = bytearray(leaves[i])
    raw[pos] ^= 1 << bit
    leaves[i] = bytes(raw)
    assert _first_bad(leaves, log_data) == i


@settings_
@given(data=st.data())
def test_flipping_a_signature_bit_is_caught(log_data, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    leaves = list(log_data[0])
    i = data.draw(st.integers(0, len(leaves) - 1), label="entry")
    signed = SignedEntry.model_validate_json(leaves[i])
    sig = bytearray(signed.signatures[0].raw)
    sig[data.draw(st.integers(0, 63))] ^= 1 << data.draw(st.integers(0, 7))
    bad = Signature(key_id=signed.signatures[0].key_id, sig=base64.b64encode(bytes(sig)).decode())
    leaves[i] = assemble_leaf(signed.entry.canonical_bytes(), [bad, *signed.signatures[1:]])
    assert _first_bad(leaves, log_data) == i


@settings_
@given(data=st.data())
def test_deleting_an_entry_is_caught(log_data, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    leaves = list(log_data[0])
    i = data.draw(st.integers(0, len(leaves) - 1))
    del leaves[i]
    assert _first_bad(leaves, log_data) == i


@settings_
@given(data=st.data())
def test_swapping_two_entries_is_caught(log_data, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    leaves = list(log_data[0])
    i = data.draw(st.integers(0, len(leaves) - 2))
    j = data.draw(st.integers(i + 1, len(leaves) - 1))
    leaves[i], leaves[j] = leaves[j], leaves[i]
    assert _first_bad(leaves, log_data) == i


@settings_
@given(data=st.data())
def test_truncating_the_log_is_caught(log_data, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    leaves = list(log_data[0])
    keep = data.draw(st.integers(0, len(leaves) - 1))
    assert _first_bad(leaves[:keep], log_data) == keep


@settings_
@given(data=st.data())
def test_an_entry_by_an_unauthorised_key_is_caught(log_data, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    leaves = list(log_data[0])
    i = data.draw(st.integers(1, len(leaves)), label="position")
    intruder = generate("intruder")
    prev = merkle.leaf_hash(leaves[i - 1]).hex()
    entry = Entry(
        seq=i,
        kind="member.admitted",
        body=members.MemberAdmitted(
            member_id="M-X", member_kind="person", commitment="00" * 32
        ).model_dump(mode="json"),
        prev=prev,
        recorded_at="2031-06-01T00:00:00.000000Z",
        effective=date(2031, 6, 1),
        key_id=intruder.key_id,
    )
    sig = intruder.sign(signing_message(entry.canonical_bytes()))
    forged = assemble_leaf(
        entry.canonical_bytes(),
        [Signature(key_id=intruder.key_id, sig=base64.b64encode(sig).decode())],
    )
    leaves.insert(i, forged)
    assert _first_bad(leaves, log_data) == i


def _tampered_db(tmp_path: Path, signers, tamper) -> int | None:  # type: ignore[no-untyped-def]
    path = tmp_path / "l.db"
    f = found_ledger(str(path), signers)
    f.append(
        "coop-admin",
        [
            members.admit(m, "person", PersonalData(name=m), date(2031, 2, 1))
            for m in ("M-1", "M-2", "M-3")
        ],
    )
    f.append(
        "coop-admin", [members.admit("M-4", "person", PersonalData(name="M-4"), date(2031, 2, 2))]
    )
    f.store.dispose()
    conn = sqlite3.connect(path)
    for table in ("entries",):
        conn.execute(f"DROP TRIGGER {table}_no_update")
        conn.execute(f"DROP TRIGGER {table}_no_delete")
    tamper(conn)
    conn.commit()
    conn.close()
    from ledger.storage.store import Store

    store = Store(str(path))
    with store.reading() as tx:
        report = verify_store(tx)
    store.dispose()
    assert not report.ok
    return report.first_bad_seq


def test_a_flipped_byte_in_the_database_is_caught(tmp_path: Path, signers) -> None:  # type: ignore[no-untyped-def]
    def flip(conn: sqlite3.Connection) -> None:
        (data,) = conn.execute("SELECT data FROM entries WHERE seq = 5").fetchone()
        assert b"M-2" in data
        conn.execute("UPDATE entries SET data = ? WHERE seq = 5", (data.replace(b"M-2", b"M-8"),))

    assert _tampered_db(tmp_path, signers, flip) == 5


def test_a_deleted_row_in_the_database_is_caught(tmp_path: Path, signers) -> None:  # type: ignore[no-untyped-def]
    assert (
        _tampered_db(tmp_path, signers, lambda c: c.execute("DELETE FROM entries WHERE seq = 3"))
        == 3
    )


def test_a_truncated_database_is_caught(tmp_path: Path, signers) -> None:  # type: ignore[no-untyped-def]
    assert (
        _tampered_db(tmp_path, signers, lambda c: c.execute("DELETE FROM entries WHERE seq >= 5"))
        == 5
    )


def test_two_checkpoints_for_one_size_are_reported_as_a_fork(log_data, signers) -> None:  # type: ignore[no-untyped-def]
    leaves, checkpoints, trusted = log_data
    size, _ = checkpoints[-1]
    forged = note.sign_checkpoint(
        note.Checkpoint(trusted.name, size, bytes(32)), signers["log"].private_key
    )
    report, _ = verify_leaves(leaves, [*checkpoints, (size, forged)], trusted)
    assert not report.ok
    assert any(
        f"two different checkpoints are filed for tree size {size}" in f.message
        for f in report.findings
    )
