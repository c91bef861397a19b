"""Proofs read from the stored Merkle nodes equal an in-memory tree's at every past size, on
every backend; and the ledger refuses to sign a checkpoint inconsistent with its last one."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from ledger import merkle, note
from ledger.errors import VerificationError
from ledger.rules import members
from ledger.rules.members import PersonalData
from ledger.storage.store import ReadTx
from ledger.transparency import consistency, inclusion_receipt, log_verifier
from tests.support import ORIGIN, Founded

# Transactions after the fixture's two (genesis, then a batch of three grants): sizes 1 and 4.
BATCHES = (1, 2, 5, 3, 8, 1, 13)


def _admit_batches(founded: Founded, batches: Sequence[int]) -> list[int]:
    """Append one transaction per batch size; return every signed size, in order."""
    sizes = [1, 4]
    number = 0
    for count in batches:
        commands = []
        for _ in range(count):
            number += 1
            member_id = f"M-{number}"
            personal = PersonalData(name=f"Member {number}")
            commands.append(members.admit(member_id, "person", personal, date(2031, 2, 1)))
        receipt = founded.append("coop-admin", commands)
        sizes.append(receipt.checkpoint_size)
    return sizes


class CountingReader:
    """A NodeReader over a ReadTx that records every call, to show proofs cost one small read."""

    def __init__(self, tx: ReadTx) -> None:
        self.tx = tx
        self.calls: list[int] = []

    def __call__(self, coords: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        self.calls.append(len(coords))
        return self.tx.get_nodes(coords)


def test_store_proofs_equal_memory_tree_at_every_past_size(founded_any: Founded) -> None:
    signed_sizes = _admit_batches(founded_any, BATCHES)
    total = signed_sizes[-1]
    assert total == 4 + sum(BATCHES)
    with founded_any.store.reading() as tx:
        rows = list(tx.entries())
        assert [seq for seq, _ in rows] == list(range(total))
        leaves = [merkle.leaf_hash(data) for _, data in rows]
        memory = merkle.MemoryTree(leaves)
        reader = CountingReader(tx)
        bound = 2 * total.bit_length() + 2  # O(log n) nodes per proof, in one read
        for size in range(total + 1):
            reader.calls.clear()
            assert merkle.root_hash(size, reader) == memory.root(size), size
            for index in range(size):
                reader.calls.clear()
                assert merkle.inclusion_proof(index, size, reader) == memory.inclusion_proof(
                    index, size
                ), (index, size)
                assert len(reader.calls) <= 1 and all(n <= bound for n in reader.calls)
            for old in range(size + 1):
                reader.calls.clear()
                assert merkle.consistency_proof(old, size, reader) == memory.consistency_proof(
                    old, size
                ), (old, size)
                assert len(reader.calls) <= 1 and all(n <= bound for n in reader.calls)
        # One checkpoint per transaction, at exactly those sizes, over the same roots.
        stored = list(tx.checkpoints())
        assert [s for s, _, _ in stored] == signed_sizes
        verifier = log_verifier(tx)
        assert verifier.name == ORIGIN
        for size, root, text in stored:
            assert root == memory.root(size)
            cp = note.open_checkpoint(text, verifier)
            assert (cp.tree_size, cp.root_hash) == (size, root)
        # The service-level readers agree too, and what they hand out verifies.
        for old, new in itertools.combinations(signed_sizes, 2):
            proof = consistency(tx, old, new)
            assert list(proof.proof) == memory.consistency_proof(old, new)
            merkle.verify_consistency(old, new, proof.proof, memory.root(old), memory.root(new))
        for size in signed_sizes:
            for index in {0, size // 2, size - 1}:
                receipt = inclusion_receipt(tx, index, size)
                note.verify_tlog_proof(receipt, leaves[index], verifier, expected_index=index)


def test_signed_sizes_around_uses_the_checkpoint_index(founded_any: Founded) -> None:
    _admit_batches(founded_any, (3,))  # signed sizes 1, 4, 7
    with founded_any.store.reading() as tx:
        assert tx.signed_sizes_around(5) == (4, 7)
        assert tx.signed_sizes_around(4) == (1, 7)
        assert tx.signed_sizes_around(0) == (None, 1)
        assert tx.signed_sizes_around(99) == (7, None)


# -- the ledger never signs a checkpoint inconsistent with one it signed before ------------------


def _tamper_node(db: Path, level: int, index: int) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("DROP TRIGGER merkle_nodes_no_update")
        (old,) = conn.execute(
            "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", (level, index)
        ).fetchone()
        changed = bytes([old[0] ^ 1]) + bytes(old[1:])
        cursor = conn.execute(
            "UPDATE merkle_nodes SET hash = ? WHERE level = ? AND idx = ?", (changed, level, index)
        )
        assert cursor.rowcount == 1
        conn.commit()
    finally:
        conn.close()


def _snapshot(tx: ReadTx) -> tuple[object, ...]:
    return (
        tx.head(),
        list(tx.entries()),
        list(tx.checkpoints()),
        tx.state.get("member", "M-99"),
    )


@pytest.mark.parametrize("which", range(2))
def test_tampered_stored_nodes_make_the_next_append_refused(founded: Founded, which: int) -> None:
    _admit_batches(founded, (1,))  # size 5: root_nodes are (2, 0) and (0, 4)
    nodes = merkle.root_nodes(5)
    assert nodes == [(2, 0), (0, 4)]
    founded.store.dispose()
    _tamper_node(Path(founded.target), *nodes[which])
    with founded.store.reading() as tx:
        before = _snapshot(tx)
    admit = members.admit("M-99", "person", PersonalData(name="Late"), date(2031, 2, 2))
    with pytest.raises(VerificationError, match="checkpoint 6 would fork from checkpoint 5"):
        founded.append("coop-admin", [admit])
    with founded.store.reading() as tx:
        assert _snapshot(tx) == before
        assert tx.head()[0] == 5
        assert tx.checkpoint() is not None and tx.checkpoint()[0] == 5  # type: ignore[index]
