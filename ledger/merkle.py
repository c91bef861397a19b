"""RFC 6962 / RFC 9162 Merkle tree: hashing, stored subtrees, proofs and strict verifiers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from ledger.errors import InputError, ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# A stored node is addressed by (level, index): it covers leaves
# [index * 2**level, (index + 1) * 2**level). Only complete subtrees are ever
# stored, so a stored hash never changes once written; that is what lets a
# database keep them in an append-only table and still serve proofs for any
# past tree size.
Node = tuple[int, int]
NodeReader = Callable[[Sequence[tuple[int, int]]], Mapping[tuple[int, int], bytes]]

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Hash one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# --- tree shape -------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): RFC 6962's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_nodes(lo: int, hi: int) -> list[Node]:
    """Cover leaves [lo, hi) by maximal aligned complete subtrees, left to right.

    For every range the RFC recursion produces, lo is aligned to a power of two
    at least as large as hi - lo, so the subtrees come out strictly decreasing
    in size and folding them right to left gives exactly MTH(D[lo:hi]).
    """
    nodes: list[Node] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo:
            level = min(level, (lo & -lo).bit_length() - 1)
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def root_nodes(tree_size: int) -> list[tuple[int, int]]:
    """The complete subtrees, largest first, whose right-to-left fold is the root at tree_size."""
    _check_size(tree_size)
    return _range_nodes(0, tree_size)


def _check_size(tree_size: int) -> None:
    if tree_size < 0:
        raise InputError(f"tree size must be >= 0, found {tree_size}")


def _check_leaf_hashes(hashes: Sequence[bytes]) -> None:
    for position, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise InputError(
                f"leaf hash {position} must be {HASH_SIZE} bytes, found {len(h)} bytes"
            )


def _fetch(get: NodeReader, coords: Sequence[Node]) -> dict[Node, bytes]:
    """Read every node in one call and insist the store had all of them."""
    if not coords:
        return {}
    found = get(coords)
    hashes: dict[Node, bytes] = {}
    for coord in coords:
        h = found.get(coord)
        if h is None:
            raise ProofError(
                f"the node store has no hash for node (level {coord[0]}, index {coord[1]}); "
                "it is behind the requested tree size or damaged"
            )
        if len(h) != HASH_SIZE:
            raise ProofError(
                f"the node store returned {len(h)} bytes for node (level {coord[0]}, "
                f"index {coord[1]}), expected {HASH_SIZE}"
            )
        hashes[coord] = h
    return hashes


def _fold(nodes: Sequence[Node], hashes: Mapping[Node, bytes]) -> bytes:
    """Combine decreasing complete subtrees right to left into one subtree hash."""
    result = hashes[nodes[-1]]
    for coord in reversed(nodes[:-1]):
        result = node_hash(hashes[coord], result)
    return result


def _ranges_hashes(ranges: Sequence[tuple[int, int]], get: NodeReader) -> list[bytes]:
    """Hash several leaf ranges with a single read of the distinct stored nodes they need.

    The incomplete ranges of one proof are all suffixes [x, tree_size) of the
    same tree, so they share their subtrees: deduplicating keeps the read to
    O(log n) nodes, and memoising the suffix folds keeps the hashing O(log n).
    """
    per_range = [_range_nodes(lo, hi) for lo, hi in ranges]
    wanted = list(dict.fromkeys(coord for nodes in per_range for coord in nodes))
    hashes = _fetch(get, wanted)
    suffix: dict[tuple[Node, ...], bytes] = {}

    def fold_cached(nodes: tuple[Node, ...]) -> bytes:
        if len(nodes) == 1:
            return hashes[nodes[0]]
        cached = suffix.get(nodes)
        if cached is None:
            cached = node_hash(hashes[nodes[0]], fold_cached(nodes[1:]))
            suffix[nodes] = cached
        return cached

    return [fold_cached(tuple(nodes)) for nodes in per_range]


# --- appending --------------------------------------------------------------


def new_nodes(
    tree_size_before: int, new_leaf_hashes: list[bytes], get: NodeReader
) -> list[tuple[int, int, bytes]]:
    """The (level, index, hash) of every complete subtree created by appending the leaves.

    Leaves themselves are included (level 0). Only the frontier subtrees that
    the new leaves complete are read, in one call: O(k + log n) for k leaves.
    """
    _check_size(tree_size_before)
    _check_leaf_hashes(new_leaf_hashes)
    if not new_leaf_hashes:
        return []
    tree_size_after = tree_size_before + len(new_leaf_hashes)
    # A frontier subtree gets a new parent only when that parent is complete in
    # the grown tree; those subtrees form a suffix of the frontier, and the
    # rest can stay out of both the read and the stack.
    merging = [
        (level, index)
        for level, index in _range_nodes(0, tree_size_before)
        if ((index >> 1) + 1) << (level + 1) <= tree_size_after
    ]
    old = _fetch(get, merging)
    stack: list[tuple[int, int, bytes]] = [(lv, ix, old[(lv, ix)]) for lv, ix in merging]
    created: list[tuple[int, int, bytes]] = []
    for offset, h in enumerate(new_leaf_hashes):
        node = (0, tree_size_before + offset, h)
        created.append(node)
        stack.append(node)
        while len(stack) >= 2 and stack[-2][0] == stack[-1][0]:
            right = stack.pop()
            left = stack.pop()
            parent = (left[0] + 1, left[1] >> 1, node_hash(left[2], right[2]))
            created.append(parent)
            stack.append(parent)
    return created


def root_hash(tree_size: int, get: NodeReader) -> bytes:
    """The Merkle tree hash at tree_size (any size up to the stored one)."""
    nodes = root_nodes(tree_size)
    if not nodes:
        return EMPTY_ROOT
    return _fold(nodes, _fetch(get, nodes))


# --- proofs -----------------------------------------------------------------


def _inclusion_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form PATH(index, D[0:tree_size]), leaf's sibling first."""
    lo, hi = 0, tree_size
    top_down: list[tuple[int, int]] = []
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            top_down.append((lo + k, hi))
            hi = lo + k
        else:
            top_down.append((lo, lo + k))
            lo += k
    top_down.reverse()
    return top_down


def _consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form PROOF(size1, D[0:size2]) (RFC 9162 SUBPROOF)."""
    lo, hi = 0, size2
    on_left_edge = True  # RFC's "b": the subtree is still a prefix of the old tree
    top_down: list[tuple[int, int]] = []
    base: list[tuple[int, int]] = []
    while True:
        if size1 == hi:
            if not on_left_edge:
                base.append((lo, hi))
            break
        k = _split(hi - lo)
        if size1 <= lo + k:
            top_down.append((lo + k, hi))
            hi = lo + k
        else:
            top_down.append((lo, lo + k))
            lo += k
            on_left_edge = False
    top_down.reverse()
    return base + top_down


def inclusion_proof(index: int, tree_size: int, get: NodeReader) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf index in the tree of size tree_size (one read)."""
    _check_size(tree_size)
    if not 0 <= index < tree_size:
        raise InputError(f"leaf index must be in [0, {tree_size}), found {index}")
    return _ranges_hashes(_inclusion_ranges(index, tree_size), get)


def consistency_proof(size1: int, size2: int, get: NodeReader) -> list[bytes]:
    """The RFC 9162 consistency proof from size1 to size2 (one read).

    Empty when size1 == size2 or size1 == 0: every tree extends the empty tree.
    """
    _check_size(size1)
    if size2 < size1:
        raise InputError(f"tree sizes must satisfy size1 <= size2, found {size1} > {size2}")
    if size1 == 0 or size1 == size2:
        return []
    return _ranges_hashes(_consistency_ranges(size1, size2), get)


# --- verification -----------------------------------------------------------


def _check_hash(what: str, h: bytes) -> None:
    if len(h) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, found {len(h)} bytes")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, h in enumerate(proof):
        _check_hash(f"proof hash {position}", h)


def _inclusion_shape(index: int, tree_size: int) -> tuple[int, int]:
    """(inner, border): proof hashes below the point where the paths to index and to the
    last leaf meet, and hashes above it (one per set bit: left siblings on the right edge)."""
    inner = (index ^ (tree_size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _consistency_proof_length(size1: int, size2: int) -> int:
    """Exact RFC 9162 proof length for 0 < size1 < size2."""
    inner, border = _inclusion_shape(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    # When size1 is a power of two the old root is itself a node of the new
    # tree, the verifier already has it, and the proof omits it.
    seed = 0 if size1 == 1 << shift else 1
    return seed + (inner - shift) + border


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that proof shows leaf_hash at index in the tree of tree_size with this root.

    RFC 9162 §2.1.3.2, strict: 0 <= index < tree_size, every hash 32 bytes, and
    the proof exactly as long as the tree shape needs. Raises ProofError.
    """
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root hash", root)
    _check_proof_hashes(proof)
    if index < 0 or index >= tree_size:
        raise ProofError(f"leaf index must be in [0, {tree_size}), found {index}")
    inner, border = _inclusion_shape(index, tree_size)
    if len(proof) != inner + border:
        raise ProofError(
            f"inclusion proof for leaf {index} in a tree of size {tree_size} must have "
            f"{inner + border} hashes, found {len(proof)}"
        )
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:  # unreachable after the length check; kept as the RFC's guard
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    if r != root:
        raise ProofError(
            f"inclusion proof for leaf {index} in a tree of size {tree_size} leads to root "
            f"{r.hex()}, expected {root.hex()}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of size2 with root2 extends the tree of size1 with root1.

    RFC 9162 §2.1.4.2, strict. Sizes must satisfy 0 <= size1 <= size2. Equal
    sizes need an empty proof and equal roots. size1 == 0 needs an empty proof
    and root1 equal to EMPTY_ROOT (the only root a size-0 tree has); any tree
    extends it. Raises ProofError.
    """
    _check_hash("old root hash", root1)
    _check_hash("new root hash", root2)
    _check_proof_hashes(proof)
    if size1 < 0 or size2 < size1:
        raise ProofError(f"tree sizes must satisfy 0 <= size1 <= size2, found {size1} and {size2}")
    if size1 == 0 or size1 == size2:
        if proof:
            raise ProofError(
                f"consistency proof from size {size1} to {size2} must be empty, "
                f"found {len(proof)} hashes"
            )
        if size1 == 0 and root1 != EMPTY_ROOT:
            raise ProofError(
                f"root of the empty tree must be {EMPTY_ROOT.hex()}, found {root1.hex()}"
            )
        if size1 == size2 and root1 != root2:
            raise ProofError(
                f"trees of equal size {size1} have different roots {root1.hex()} and {root2.hex()}"
            )
        return
    expected = _consistency_proof_length(size1, size2)
    if len(proof) != expected:
        raise ProofError(
            f"consistency proof from size {size1} to {size2} must have {expected} hashes, "
            f"found {len(proof)}"
        )
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # unreachable after the length check; kept as the RFC's guard
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    if fr != root1:
        raise ProofError(
            f"consistency proof from size {size1} to {size2} leads to old root {fr.hex()}, "
            f"expected {root1.hex()}"
        )
    if sr != root2:
        raise ProofError(
            f"consistency proof from size {size1} to {size2} leads to new root {sr.hex()}, "
            f"expected {root2.hex()}"
        )


# --- in-memory helpers ------------------------------------------------------


class MemoryTree:
    """All stored nodes in a dict: for tests and for an auditor rebuilding a bundle's tree."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._nodes: dict[Node, bytes] = {}
        self._size = 0
        self.extend(leaf_hashes)

    @property
    def tree_size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def __len__(self) -> int:
        return self._size

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash and return its index."""
        self.extend([leaf_hash])
        return self._size - 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append leaf hashes in order."""
        batch = list(leaf_hashes)
        for level, index, h in new_nodes(self._size, batch, self.get):
            self._nodes[(level, index)] = h
        self._size += len(batch)

    def get(self, coords: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """NodeReader over the dict; absent nodes are simply left out."""
        return {c: self._nodes[c] for c in coords if c in self._nodes}

    def _size_or_current(self, tree_size: int | None) -> int:
        size = self._size if tree_size is None else tree_size
        if size > self._size:
            raise InputError(f"tree size {size} is beyond the {self._size} leaves appended")
        return size

    def root(self, tree_size: int | None = None) -> bytes:
        """Root at tree_size, by default the current size."""
        return root_hash(self._size_or_current(tree_size), self.get)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """Inclusion proof of leaf index at tree_size, by default the current size."""
        return inclusion_proof(index, self._size_or_current(tree_size), self.get)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Consistency proof from size1 to size2, by default the current size."""
        return consistency_proof(size1, self._size_or_current(size2), self.get)


class RootAccumulator:
    """Streaming root computation keeping O(log n) hashes: a compact range starting at leaf 0.

    Lets an auditor recompute the root of millions of entries while reading them
    once, without holding the tree.
    """

    def __init__(self) -> None:
        # (level, hash) of the frontier subtrees, levels strictly decreasing.
        self._frontier: list[tuple[int, bytes]] = []
        self._size = 0

    @property
    def tree_size(self) -> int:
        """Number of leaves pushed so far."""
        return self._size

    def push(self, leaf_hash: bytes) -> None:
        """Append one leaf hash."""
        if len(leaf_hash) != HASH_SIZE:
            raise InputError(f"leaf hash must be {HASH_SIZE} bytes, found {len(leaf_hash)} bytes")
        level, h = 0, leaf_hash
        frontier = self._frontier
        while frontier and frontier[-1][0] == level:
            h = node_hash(frontier.pop()[1], h)
            level += 1
        frontier.append((level, h))
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append leaf hashes in order."""
        for h in leaf_hashes:
            self.push(h)

    def root(self) -> bytes:
        """Root of the leaves pushed so far (EMPTY_ROOT when none)."""
        if not self._frontier:
            return EMPTY_ROOT
        result = self._frontier[-1][1]
        for _, h in reversed(self._frontier[:-1]):
            result = node_hash(h, result)
        return result
