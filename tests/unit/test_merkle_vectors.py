"""The RFC 6962 reference tree vectors, and the edge cases of the strict Merkle verifiers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ledger import merkle
from ledger.errors import InputError, ProofError
from ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    RootAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    new_nodes,
    root_hash,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "rfc6962_tree.json").read_text("utf-8")
)
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves_hex"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots_hex"]]


def unhex(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


@pytest.fixture
def tree() -> MemoryTree:
    return MemoryTree(leaf_hash(leaf) for leaf in LEAVES)


class CountingReader:
    """Wraps a NodeReader to count calls and nodes read (the database round trips)."""

    def __init__(self, tree: MemoryTree) -> None:
        self.tree = tree
        self.calls = 0
        self.nodes = 0

    def __call__(self, coords: Sequence[tuple[int, int]]) -> Mapping[tuple[int, int], bytes]:
        self.calls += 1
        self.nodes += len(coords)
        assert len(set(coords)) == len(coords), "a read asked for the same node twice"
        return self.tree.get(coords)


def test_empty_root_is_sha256_of_nothing() -> None:
    assert ROOTS[0] == EMPTY_ROOT
    assert RootAccumulator().root() == ROOTS[0]
    assert MemoryTree().root() == ROOTS[0]


@pytest.mark.parametrize("size", range(9))
def test_roots_by_size(tree: MemoryTree, size: int) -> None:
    assert tree.root(size) == ROOTS[size]
    acc = RootAccumulator()
    acc.extend(leaf_hash(leaf) for leaf in LEAVES[:size])
    assert acc.tree_size == size
    assert acc.root() == ROOTS[size]
    assert MemoryTree(leaf_hash(leaf) for leaf in LEAVES[:size]).root() == ROOTS[size]


@pytest.mark.parametrize(
    "case", VECTORS["inclusion_proofs"], ids=lambda c: f"{c['index']}@{c['tree_size']}"
)
def test_inclusion_vectors(tree: MemoryTree, case: dict[str, Any]) -> None:
    index, size, expected = case["index"], case["tree_size"], unhex(case["proof_hex"])
    assert tree.inclusion_proof(index, size) == expected
    verify_inclusion(leaf_hash(LEAVES[index]), index, size, expected, ROOTS[size])


@pytest.mark.parametrize(
    "case", VECTORS["consistency_proofs"], ids=lambda c: f"{c['size1']}-{c['size2']}"
)
def test_consistency_vectors(tree: MemoryTree, case: dict[str, Any]) -> None:
    size1, size2, expected = case["size1"], case["size2"], unhex(case["proof_hex"])
    assert tree.consistency_proof(size1, size2) == expected
    verify_consistency(size1, size2, expected, ROOTS[size1], ROOTS[size2])


def test_root_nodes_are_the_binary_decomposition() -> None:
    assert root_nodes(0) == []
    assert root_nodes(1) == [(0, 0)]
    assert root_nodes(7) == [(2, 0), (1, 2), (0, 6)]
    assert root_nodes(8) == [(3, 0)]
    assert root_nodes(13) == [(3, 0), (2, 2), (0, 12)]


def test_new_nodes_reads_once_and_creates_complete_subtrees(tree: MemoryTree) -> None:
    small = MemoryTree(leaf_hash(leaf) for leaf in LEAVES[:7])
    reader = CountingReader(small)
    created = new_nodes(7, [leaf_hash(LEAVES[7])], reader)
    assert [(level, index) for level, index, _ in created] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert created[-1][2] == ROOTS[8]
    assert reader.calls == 1
    # Only the frontier subtrees that get a parent are read: (2,0), (1,2), (0,6).
    assert reader.nodes == 3


def test_new_nodes_reads_nothing_it_does_not_merge() -> None:
    small = MemoryTree(leaf_hash(leaf) for leaf in LEAVES[:4])
    reader = CountingReader(small)
    created = new_nodes(4, [leaf_hash(LEAVES[4])], reader)
    assert [(level, index) for level, index, _ in created] == [(0, 4)]
    assert reader.calls == 0
    assert new_nodes(4, [], reader) == []


def test_proofs_use_one_read_of_logarithmically_many_nodes() -> None:
    big = MemoryTree(leaf_hash(i.to_bytes(4, "big")) for i in range(1000))
    for size in (1, 2, 3, 511, 512, 513, 999, 1000):
        for index in {0, size // 2, size - 1}:
            reader = CountingReader(big)
            inclusion_proof(index, size, reader)
            assert reader.calls <= 1
            assert reader.nodes <= 2 * size.bit_length()
        for size1 in {1, size // 3 or 1, size - 1 or 1}:
            reader = CountingReader(big)
            consistency_proof(size1, size, reader)
            assert reader.calls <= 1
            assert reader.nodes <= 2 * size.bit_length() + 1
        reader = CountingReader(big)
        root_hash(size, reader)
        assert reader.calls == 1


def test_missing_node_is_a_proof_error(tree: MemoryTree) -> None:
    with pytest.raises(ProofError, match=r"no hash for node \(level 3, index 0\)"):
        root_hash(8, lambda coords: {})
    with pytest.raises(ProofError, match="no hash for node"):
        inclusion_proof(0, 16, tree.get)
    with pytest.raises(InputError, match="beyond the 8 leaves"):
        tree.root(9)


def test_generation_refuses_bad_arguments(tree: MemoryTree) -> None:
    with pytest.raises(InputError, match=r"leaf index must be in \[0, 8\), found 8"):
        tree.inclusion_proof(8, 8)
    with pytest.raises(InputError, match="size1 <= size2"):
        tree.consistency_proof(5, 4)
    with pytest.raises(InputError, match="must be 32 bytes"):
        new_nodes(0, [b"short"], tree.get)
    with pytest.raises(InputError, match=">= 0"):
        root_nodes(-1)
    assert tree.consistency_proof(0, 8) == []
    assert tree.consistency_proof(8, 8) == []


def test_inclusion_verifier_is_strict(tree: MemoryTree) -> None:
    leaf5 = leaf_hash(LEAVES[5])
    proof = tree.inclusion_proof(5, 8)
    with pytest.raises(ProofError, match=r"leaf index must be in \[0, 8\), found 8"):
        verify_inclusion(leaf5, 8, 8, proof, ROOTS[8])
    with pytest.raises(ProofError, match=r"found -1"):
        verify_inclusion(leaf5, -1, 8, proof, ROOTS[8])
    with pytest.raises(ProofError, match=r"\[0, 0\)"):
        verify_inclusion(leaf5, 0, 0, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="must have 3 hashes, found 2"):
        verify_inclusion(leaf5, 5, 8, proof[:2], ROOTS[8])
    with pytest.raises(ProofError, match="must have 3 hashes, found 4"):
        verify_inclusion(leaf5, 5, 8, [*proof, proof[0]], ROOTS[8])
    with pytest.raises(ProofError, match="proof hash 1 must be 32 bytes, found 31"):
        verify_inclusion(leaf5, 5, 8, [proof[0], proof[1][:31], proof[2]], ROOTS[8])
    with pytest.raises(ProofError, match="leaf hash must be 32 bytes"):
        verify_inclusion(LEAVES[5], 5, 8, proof, ROOTS[8])
    with pytest.raises(ProofError, match="root hash must be 32 bytes, found 33"):
        verify_inclusion(leaf5, 5, 8, proof, ROOTS[8] + b"\x00")
    with pytest.raises(ProofError, match=f"leads to root .*, expected {ROOTS[7].hex()}"):
        verify_inclusion(leaf5, 5, 8, proof, ROOTS[7])
    # The raw leaf data instead of its hash must not verify either.
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(leaf_hash(LEAVES[5])), 5, 8, proof, ROOTS[8])


def test_consistency_verifier_is_strict(tree: MemoryTree) -> None:
    proof = tree.consistency_proof(6, 8)
    verify_consistency(0, 8, [], EMPTY_ROOT, ROOTS[8])
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(8, 8, [], ROOTS[8], ROOTS[8])
    with pytest.raises(ProofError, match="root of the empty tree must be"):
        verify_consistency(0, 8, [], ROOTS[1], ROOTS[8])
    with pytest.raises(ProofError, match="from size 0 to 8 must be empty, found 1"):
        verify_consistency(0, 8, [ROOTS[8]], EMPTY_ROOT, ROOTS[8])
    with pytest.raises(ProofError, match="from size 8 to 8 must be empty"):
        verify_consistency(8, 8, [ROOTS[8]], ROOTS[8], ROOTS[8])
    with pytest.raises(ProofError, match="equal size 8 have different roots"):
        verify_consistency(8, 8, [], ROOTS[8], ROOTS[7])
    with pytest.raises(ProofError, match="0 <= size1 <= size2, found 8 and 6"):
        verify_consistency(8, 6, proof, ROOTS[8], ROOTS[6])
    with pytest.raises(ProofError, match="0 <= size1 <= size2, found -1 and 6"):
        verify_consistency(-1, 6, proof, ROOTS[8], ROOTS[6])
    with pytest.raises(ProofError, match="must have 3 hashes, found 0"):
        verify_consistency(6, 8, [], ROOTS[6], ROOTS[8])
    with pytest.raises(ProofError, match="must have 3 hashes, found 4"):
        verify_consistency(6, 8, [*proof, proof[0]], ROOTS[6], ROOTS[8])
    with pytest.raises(ProofError, match="leads to old root"):
        verify_consistency(6, 8, proof, ROOTS[5], ROOTS[8])
    with pytest.raises(ProofError, match="leads to new root"):
        verify_consistency(6, 8, proof, ROOTS[6], ROOTS[7])
    with pytest.raises(ProofError, match="new root hash must be 32 bytes, found 0"):
        verify_consistency(6, 8, proof, ROOTS[6], b"")


def test_accumulator_refuses_short_hashes() -> None:
    with pytest.raises(InputError, match="must be 32 bytes"):
        RootAccumulator().push(b"abc")


def test_module_constants() -> None:
    assert merkle.HASH_SIZE == 32
    assert leaf_hash(b"") == bytes.fromhex(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
