"""The fast paths of issue 7 against the slow paths they replace: same bytes, same findings.

docs/decisions/0008 (append), 0009 (raw DBAPI), 0010 (verification) and 0011 (start-up) name
these tests as what keeps them honest. No timing is asserted here.
"""

from __future__ import annotations

import base64
import re
import string
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ledger.encoding import _check, _plain, canonical
from ledger.errors import InputError
from ledger.model import (
    Entry,
    Signature,
    SignedEntry,
    assemble_leaf,
    assemble_leaf_texts,
    decode_leaf,
    leaf_bytes,
    make_entry,
    plain_leaf,
)
from ledger.verify import audit
from ledger.verify.audit import Auditor, verify_leaves

HEX = "0123456789abcdef"

# -- canonical encoding: _plain never accepts what _check refuses ---------------------------

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=4), children, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_plain_walk_agrees_with_the_general_walk(value: Any) -> None:
    try:
        _check(value)
        refused = None
    except InputError as e:
        refused = str(e)
    if _plain(value):
        assert refused is None
    if refused is None:
        assert canonical(value) == canonical(value)
    else:
        with pytest.raises(InputError) as caught:
            canonical(value)
        assert str(caught.value) == refused  # the same message as before the fast path


# -- the service's entry encoding -------------------------------------------------------------

hex64 = st.text(HEX, min_size=64, max_size=64)
bodies = st.dictionaries(
    st.text(string.ascii_lowercase + "_", min_size=1, max_size=8),
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), st.text(max_size=10)),
    max_size=5,
)
times = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
kinds = st.sampled_from(
    ["member.admitted", "share.sold", "lease.exception-granted", "Bad.kind", "x"]
)
request_ids = st.one_of(st.none(), st.text(max_size=3), st.text(min_size=127, max_size=130))


@settings(max_examples=300, deadline=None)
@given(
    seq=st.one_of(st.integers(0, 2**53 - 1), st.integers(-5, -1), st.just(2**53)),
    kind=kinds,
    body=bodies,
    prev=st.one_of(hex64, st.just("0" * 63), st.just(("a" * 64) + "\n")),
    recorded_at=st.one_of(times, st.just("2031-01-01T00:00:00Z")),
    effective=st.dates(),
    key_id=hex64,
    request_id=request_ids,
)
def test_make_entry_equals_the_model(
    seq: int,
    kind: str,
    body: dict[str, Any],
    prev: str,
    recorded_at: str,
    effective: date,
    key_id: str,
    request_id: str | None,
) -> None:
    args = (seq, kind, body, prev, recorded_at, effective, key_id, request_id)
    fields = dict(
        seq=seq,
        kind=kind,
        body=body,
        prev=prev,
        recorded_at=recorded_at,
        effective=effective,
        key_id=key_id,
        request_id=request_id,
    )
    try:
        model = Entry(**fields)  # type: ignore[arg-type]
    except ValidationError as e:
        with pytest.raises(ValidationError) as caught:
            make_entry(*args)
        assert caught.value.json() == e.json()
        return
    entry, encoded = make_entry(*args)
    assert encoded == model.canonical_bytes()
    if entry is not None:
        assert entry == model


def test_leaf_from_texts_equals_leaf_bytes() -> None:
    entry = Entry(
        seq=3,
        kind="member.admitted",
        body={"member_id": "M-1"},
        prev="a" * 64,
        recorded_at="2031-01-01T00:00:00.000000Z",
        effective=date(2031, 1, 1),
        key_id="b" * 64,
    )
    sigs = [
        ("b" * 64, base64.b64encode(bytes(range(64))).decode()),
        ("c" * 64, base64.b64encode(bytes(64)).decode()),
    ]
    models = [Signature(key_id=k, sig=v) for k, v in sigs]
    expected = leaf_bytes(SignedEntry(entry=entry, signatures=tuple(models)))
    assert assemble_leaf_texts(entry.canonical_bytes(), sigs) == expected
    assert assemble_leaf(entry.canonical_bytes(), models) == expected


# -- the auditor's leaf decoding -------------------------------------------------------------


def _agrees(data: bytes) -> None:
    leaf = plain_leaf(data)
    if leaf is None:
        return
    signed = decode_leaf(data)  # whatever the fast path accepts, the models accept
    entry = signed.entry
    assert (leaf.seq, leaf.kind, leaf.body, leaf.prev) == (
        entry.seq,
        entry.kind,
        entry.body,
        entry.prev,
    )
    assert (leaf.recorded_at, leaf.effective, leaf.key_id, leaf.request_id) == (
        entry.recorded_at,
        entry.effective,
        entry.key_id,
        entry.request_id,
    )
    assert leaf.signatures == tuple((s.key_id, s.raw) for s in signed.signatures)
    assert leaf.entry_bytes == entry.canonical_bytes()


def test_every_real_leaf_takes_the_fast_path(log_data) -> None:  # type: ignore[no-untyped-def]
    for data in log_data[0]:
        assert plain_leaf(data) is not None
        _agrees(data)


settings_ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@settings_
@given(data=st.data())
def test_fast_decoding_of_altered_leaves_agrees(log_data, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    leaves = log_data[0]
    raw = bytearray(leaves[data.draw(st.integers(0, len(leaves) - 1))])
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.sampled_from(b'0123456789abcdef"{}[],:.-eZ \\n'))
    _agrees(bytes(raw))


def _report(leaves: list[bytes], checkpoints, trusted, workers: int) -> list[str]:  # type: ignore[no-untyped-def]
    report, _ = verify_leaves(leaves, checkpoints, trusted, workers=workers)
    return [f.line() for f in report.findings] + [str(report.checkpoints), report.root_hash.hex()]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_worker_processes_report_the_same_findings(
    log_data,
    data: st.DataObject,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(audit, "_CHUNK", 2)  # many chunks, so findings wait on results
    leaves, checkpoints, trusted = list(log_data[0]), log_data[1], log_data[2]
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(leaves) - 1))
        raw = bytearray(leaves[i])
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
        leaves[i] = bytes(raw)
    assert _report(leaves, checkpoints, trusted, 2) == _report(leaves, checkpoints, trusted, 1)


def test_a_bad_signature_found_by_a_worker_is_reported_in_order(log_data) -> None:  # type: ignore[no-untyped-def]
    leaves, checkpoints, trusted = list(log_data[0]), log_data[1], log_data[2]
    signed = SignedEntry.model_validate_json(leaves[5])
    sig = bytearray(signed.signatures[0].raw)
    sig[0] ^= 1
    bad = Signature(key_id=signed.signatures[0].key_id, sig=base64.b64encode(bytes(sig)).decode())
    leaves[5] = assemble_leaf(signed.entry.canonical_bytes(), [bad])
    one = _report(leaves, checkpoints, trusted, 1)
    assert any("does not verify" in line for line in one)
    assert _report(leaves, checkpoints, trusted, 2) == one


def test_auditor_without_workers_starts_no_pool(log_data) -> None:  # type: ignore[no-untyped-def]
    auditor = Auditor(log_data[2])
    for data in log_data[0]:
        auditor.feed(data)
    auditor.finish()
    assert auditor._pool is None


def test_store_schema_version_matches_the_tables() -> None:
    from ledger.storage import store, tables

    assert store.SCHEMA_VERSION == tables.SCHEMA_VERSION


# -- the spilling replay state -------------------------------------------------------------------

ops = st.lists(
    st.tuples(
        st.sampled_from(["get", "put", "delete", "scan"]),
        st.sampled_from(["member", "effect", "meta"]),
        st.sampled_from(["a", "b", "M-1", "M-10", "é", "z"]),
        st.dictionaries(st.sampled_from(["x", "y"]), st.integers(-5, 5), max_size=2),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_spill_state_behaves_as_memory_state(
    operations: list[tuple[str, str, str, dict[str, int]]],
) -> None:
    from ledger.state import MemoryState
    from ledger.verify.spill import BLOOM_BITS, SpillState

    memory = MemoryState()
    # A cache of 3, so most reads go to the file; a Bloom filter of 8 bits, which soon gives
    # false positives, and the full-size one, which answers "never written" itself.
    spills = [
        SpillState(cache_records=3, pending_records=2, bloom_bits=bits) for bits in (8, BLOOM_BITS)
    ]
    try:
        for op, ns, key, value in operations:
            if op == "put":
                memory.put(ns, key, value)
            elif op == "delete":
                memory.delete(ns, key)
            for spill in spills:
                if op == "get":
                    assert spill.get(ns, key) == memory.get(ns, key)
                elif op == "put":
                    spill.put(ns, key, value)
                elif op == "delete":
                    spill.delete(ns, key)
                else:
                    assert list(spill.scan(ns)) == list(memory.scan(ns))
        for spill in spills:
            assert spill.snapshot() == memory.snapshot()
    finally:
        for spill in spills:
            spill.close()


# -- the price memo (decision 0013) --------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(0, 10**9),
    rate=st.sampled_from(["0", "0.02", "0.035", "0.1", "1.25"]),
    compounding=st.sampled_from(["simple", "compound"]),
    days=st.integers(0, 40 * 366),
    rounding=st.sampled_from(["half-up", "truncate"]),
)
def test_memoised_price_equals_a_fresh_computation(
    cents: int, rate: str, compounding: str, days: int, rounding: str
) -> None:
    from datetime import timedelta

    from ledger.rules.price_rules import FixedRateRule, _compute_price, compute_price

    rule = FixedRateRule(
        base_price_cents=cents, base_date=date(2031, 1, 1), rate=rate, compounding=compounding
    )
    on = date(2031, 1, 1) + timedelta(days=days)
    steps: list[str] = []
    try:
        fresh = _compute_price(rule, on, rounding, lambda _s, _m: None, None, None, steps)  # type: ignore[arg-type]
    except InputError as e:  # out of range: the memoised path refuses alike, and keeps nothing
        for _ in range(2):
            with pytest.raises(InputError, match=re.escape(str(e))):
                compute_price(rule, on, rounding, lambda _s, _m: None)  # type: ignore[arg-type]
        return
    # Without the explanation lines, the same price and inputs.
    assert _compute_price(rule, on, rounding, lambda _s, _m: None, None, None, None) == fresh  # type: ignore[arg-type]
    for _ in range(2):  # the second call is answered from the memo
        got = compute_price(rule, on, rounding, lambda _s, _m: None)  # type: ignore[arg-type]
        assert (got.price_cents, got.inputs) == fresh
        assert got.steps == tuple(steps)
        got.inputs["rule"] = "changed by a caller"  # must not reach the memo


def test_memoised_indexed_price_follows_the_index_values() -> None:
    from decimal import Decimal

    from ledger.errors import RuleViolationError
    from ledger.rules.price_rules import IndexedRule, compute_price

    rule = IndexedRule(base_price_cents=100_000_00, base_date=date(2031, 1, 1), series="CPI")
    values = {"2031-01": Decimal("100"), "2032-06": Decimal("110")}

    def lookup(_series: str, month: str) -> Decimal | None:
        return values.get(month)

    first = compute_price(rule, date(2032, 6, 15), "half-up", lookup)
    assert first.price_cents == 110_000_00
    values["2032-06"] = Decimal("120")  # a governor's correction of the published value
    assert compute_price(rule, date(2032, 6, 15), "half-up", lookup).price_cents == 120_000_00
    # The first price's explanation still shows the values that price used.
    assert "I(t) = I(CPI, 2032-06) = 110" in first.steps
    del values["2032-06"]
    with pytest.raises(RuleViolationError, match="no value for 2032-06"):
        compute_price(rule, date(2032, 6, 15), "half-up", lookup)


def test_the_writer_records_bodies_in_their_normal_form(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The service applies the body model its rule built without parsing it back (decision
    0013); every body it wrote must still be the normal form an auditor demands."""
    from pathlib import Path

    from ledger.demo import build_demo
    from ledger.state import load_kinds, validate_body

    bundle = Path(tmp_path) / "bundle"
    build_demo(str(Path(tmp_path) / "demo.db"), Path(tmp_path) / "keys", bundle, lambda _l: None)
    kinds = load_kinds()
    seen = set()
    for line in (bundle / "entries.jsonl").read_bytes().splitlines():
        leaf = plain_leaf(line)
        assert leaf is not None
        validate_body(kinds[leaf.kind], leaf.body)  # raises if not in normal form
        seen.add(leaf.kind)
    assert len(seen) >= 20


def test_the_price_memo_keeps_no_reference_to_the_callers_state() -> None:
    """A memoised price is explained from the values it used, so the memo does not hold on to
    the state (and, for a database, its transaction's records) the lookup reads."""
    import gc
    import weakref
    from decimal import Decimal

    from ledger.rules.price_rules import FixedRateRule, IndexedRule, compute_price

    class State:
        def __init__(self) -> None:
            self.values = {"2031-01": Decimal("100"), "2033-03": Decimal("104")}

    for rule in (
        FixedRateRule(
            base_price_cents=1_000_00, base_date=date(2031, 1, 1), rate="0.02", compounding="simple"
        ),
        IndexedRule(base_price_cents=1_000_00, base_date=date(2031, 1, 1), series="CPI"),
    ):
        state = State()
        alive = weakref.ref(state)

        def lookup(_series: str, month: str, state: State = state) -> Decimal | None:
            return state.values.get(month)

        price = compute_price(rule, date(2033, 3, 2), "half-up", lookup)
        del state, lookup
        gc.collect()
        assert alive() is None
        assert price.steps  # still explained, from the values it used
