"""Merkle properties: every proof of every size verifies, every mutation fails, roots match RFC."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import ProofError
from ledger.merkle import (
    MemoryTree,
    RootAccumulator,
    leaf_hash,
    new_nodes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# --- an independent oracle: RFC 6962 §2.1 written out recursively ----------


def _h_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _h_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) straight from the RFC, on leaf data (not leaf hashes)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return _h_leaf(leaves[0])
    k = _k(len(leaves))
    return _h_node(reference_root(leaves[:k]), reference_root(leaves[k:]))


def reference_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) straight from the RFC."""
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*reference_path(m, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), reference_root(leaves[:k])]


def reference_subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) straight from the RFC."""
    n = len(leaves)
    if m == n:
        return [] if b else [reference_root(leaves)]
    k = _k(n)
    if m <= k:
        return [*reference_subproof(m, leaves[:k], b), reference_root(leaves[k:])]
    return [*reference_subproof(m - k, leaves[k:], False), reference_root(leaves[:k])]


def inclusion_trace(i: int, n: int) -> list[str]:
    """Which side each proof hash sits on: equal traces make the verifier compute the same."""
    if n == 1:
        return []
    k = _k(n)
    return [*inclusion_trace(i, k), "R"] if i < k else [*inclusion_trace(i - k, n - k), "L"]


def consistency_trace(m: int, n: int, b: bool = True) -> list[str]:
    if m == n:
        return [] if b else ["base"]
    k = _k(n)
    if m <= k:
        return [*consistency_trace(m, k, b), "R"]
    return [*consistency_trace(m - k, n - k, False), "L"]


# --- one tree of 300 leaves serves every past size --------------------------

N = 300
LEAVES = [f"leaf {i}".encode() for i in range(N)]
TREE = MemoryTree(leaf_hash(leaf) for leaf in LEAVES)
ROOTS = [reference_root(LEAVES[:n]) for n in range(N + 1)]
INCLUSION = {(i, n): TREE.inclusion_proof(i, n) for n in range(1, N + 1) for i in range(n)}
# Every complete aligned subtree of the 300 leaves, hashed by the oracle.
SUBTREES = {
    (level, index): reference_root(LEAVES[index << level : (index + 1) << level])
    for level in range(N.bit_length())
    for index in range(N >> level)
}


def test_oracle_matches_the_rfc_vectors() -> None:
    vectors = json.loads(
        (Path(__file__).parent.parent / "vectors" / "rfc6962_tree.json").read_text("utf-8")
    )
    leaves = [bytes.fromhex(x) for x in vectors["leaves_hex"]]
    for size, root in enumerate(vectors["roots_hex"]):
        assert reference_root(leaves[:size]).hex() == root


def test_roots_at_every_size() -> None:
    acc = RootAccumulator()
    assert TREE.root(0) == acc.root() == ROOTS[0]
    for n in range(1, N + 1):
        acc.push(leaf_hash(LEAVES[n - 1]))
        assert acc.tree_size == n
        assert acc.root() == ROOTS[n], n
        assert TREE.root(n) == ROOTS[n], n


def test_proofs_equal_the_rfc_definition_for_small_trees() -> None:
    for n in range(1, 65):
        for i in range(n):
            assert INCLUSION[(i, n)] == reference_path(i, LEAVES[:n]), (i, n)
        for m in range(1, n + 1):
            expected = reference_subproof(m, LEAVES[:n], True)
            assert TREE.consistency_proof(m, n) == expected, (m, n)


def test_every_inclusion_proof_verifies() -> None:
    for (i, n), proof in INCLUSION.items():
        verify_inclusion(leaf_hash(LEAVES[i]), i, n, proof, ROOTS[n])


def test_every_consistency_proof_verifies() -> None:
    for n in range(0, N + 1):
        for m in range(0, n + 1):
            verify_consistency(m, n, TREE.consistency_proof(m, n), ROOTS[m], ROOTS[n])


# --- mutations --------------------------------------------------------------

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
sizes = st.integers(min_value=1, max_value=N)


@st.composite
def inclusion_case(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(sizes)
    return draw(st.integers(0, n - 1)), n


@st.composite
def consistency_case(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(2, N))
    return draw(st.integers(1, n - 1)), n


def _flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


@FAST
@given(inclusion_case(), st.data())
def test_inclusion_flipped_bit_fails(case: tuple[int, int], data: st.DataObject) -> None:
    i, n = case
    proof = list(INCLUSION[(i, n)])
    leaf, root = leaf_hash(LEAVES[i]), ROOTS[n]
    target = data.draw(st.integers(0, len(proof) + 1))  # a proof hash, the leaf, or the root
    bit = data.draw(st.integers(0, 255))
    if target < len(proof):
        proof[target] = _flip(proof[target], bit)
    elif target == len(proof):
        leaf = _flip(leaf, bit)
    else:
        root = _flip(root, bit)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, i, n, proof, root)


@FAST
@given(inclusion_case(), st.integers(0, N + 5))
def test_inclusion_wrong_index_fails(case: tuple[int, int], other: int) -> None:
    i, n = case
    if other == i:
        other = i + 1
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(LEAVES[i]), other, n, INCLUSION[(i, n)], ROOTS[n])


@FAST
@given(inclusion_case(), st.integers(0, N + 5))
def test_inclusion_wrong_size_fails_unless_same_shape(case: tuple[int, int], other: int) -> None:
    i, n = case
    if other == n:
        other = n + 1
    args = (leaf_hash(LEAVES[i]), i, other, INCLUSION[(i, n)], ROOTS[n])
    # The size is authenticated by the signed checkpoint, not by the proof: a
    # size giving the same left/right pattern recomputes the same root, so
    # only then may the proof pass.
    if i < other and inclusion_trace(i, other) == inclusion_trace(i, n):
        verify_inclusion(*args)
    else:
        with pytest.raises(ProofError):
            verify_inclusion(*args)


@FAST
@given(inclusion_case(), st.sampled_from(["drop-first", "drop-last", "append", "prepend"]))
def test_inclusion_wrong_length_fails(case: tuple[int, int], how: str) -> None:
    i, n = case
    proof = list(INCLUSION[(i, n)])
    extra = hashlib.sha256(b"extra").digest()
    if not proof and how.startswith("drop"):
        proof = [extra]  # nothing to drop: a lone hash is just as wrong
    elif how == "drop-first":
        proof = proof[1:]
    elif how == "drop-last":
        proof = proof[:-1]
    else:
        proof = [*proof, extra] if how == "append" else [extra, *proof]
    with pytest.raises(ProofError, match="must have"):
        verify_inclusion(leaf_hash(LEAVES[i]), i, n, proof, ROOTS[n])


@FAST
@given(consistency_case(), st.data())
def test_consistency_flipped_bit_fails(case: tuple[int, int], data: st.DataObject) -> None:
    m, n = case
    proof = TREE.consistency_proof(m, n)
    root1, root2 = ROOTS[m], ROOTS[n]
    target = data.draw(st.integers(0, len(proof) + 1))
    bit = data.draw(st.integers(0, 255))
    if target < len(proof):
        proof[target] = _flip(proof[target], bit)
    elif target == len(proof):
        root1 = _flip(root1, bit)
    else:
        root2 = _flip(root2, bit)
    with pytest.raises(ProofError):
        verify_consistency(m, n, proof, root1, root2)


@FAST
@given(consistency_case())
def test_consistency_swapped_roots_fail(case: tuple[int, int]) -> None:
    m, n = case
    with pytest.raises(ProofError):
        verify_consistency(m, n, TREE.consistency_proof(m, n), ROOTS[n], ROOTS[m])


@FAST
@given(consistency_case(), st.integers(-1, N + 5), st.booleans())
def test_consistency_wrong_size_fails_unless_same_shape(
    case: tuple[int, int], other: int, change_old: bool
) -> None:
    m, n = case
    m2, n2 = (other, n) if change_old else (m, other)
    if (m2, n2) == (m, n):
        m2, n2 = (m + 1, n) if change_old else (m, n + 1)
    args = (m2, n2, TREE.consistency_proof(m, n), ROOTS[m], ROOTS[n])
    if 0 < m2 < n2 and consistency_trace(m2, n2) == consistency_trace(m, n):
        verify_consistency(*args)
    else:
        with pytest.raises(ProofError):
            verify_consistency(*args)


@FAST
@given(consistency_case(), st.sampled_from(["drop-first", "drop-last", "append", "prepend"]))
def test_consistency_wrong_length_fails(case: tuple[int, int], how: str) -> None:
    m, n = case
    proof = TREE.consistency_proof(m, n)
    extra = hashlib.sha256(b"extra").digest()
    if how == "drop-first":
        proof = proof[1:]
    elif how == "drop-last":
        proof = proof[:-1]
    else:
        proof = [*proof, extra] if how == "append" else [extra, *proof]
    with pytest.raises(ProofError, match="must have"):
        verify_consistency(m, n, proof, ROOTS[m], ROOTS[n])


# --- incremental storage ----------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_incremental_nodes_match_the_oracle(batches: list[int]) -> None:
    store: dict[tuple[int, int], bytes] = {}
    reads: list[int] = []

    def get(coords: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        reads.append(len(coords))
        return {c: store[c] for c in coords}

    acc = RootAccumulator()
    size = 0
    for wanted in batches:
        count = min(wanted, N - size)
        batch = [leaf_hash(leaf) for leaf in LEAVES[size : size + count]]
        reads.clear()
        created = new_nodes(size, batch, get)
        assert len(reads) <= 1
        for level, index, h in created:
            assert (level, index) not in store, "a stored node was written twice"
            # Every created node is complete inside the grown tree.
            assert (index + 1) << level <= size + count
            store[(level, index)] = h
        acc.extend(batch)
        size += count
        assert root_hash(size, get) == acc.root() == ROOTS[size]
    # Every complete subtree of the final tree is stored with its RFC hash, and nothing else.
    assert store == {
        (level, index): SUBTREES[(level, index)]
        for level in range(size.bit_length())
        for index in range(size >> level)
    }
