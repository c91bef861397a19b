"""The signed entry: frozen models, strict decoding, the leaf layout the format document gives."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from ledger.encoding import canonical
from ledger.errors import InputError, VerificationError
from ledger.keys import generate
from ledger.model import (
    ENTRY_CONTEXT,
    GENESIS_PREV,
    Entry,
    Signature,
    SignedEntry,
    assemble_leaf,
    decode_leaf,
    leaf_bytes,
    signing_message,
)


def _signed() -> SignedEntry:
    signer = generate("unit")
    entry = Entry(
        seq=3,
        kind="member.admitted",
        body={"member_id": "M-1", "member_kind": "person", "commitment": "ab" * 32},
        prev="cd" * 32,
        recorded_at="2031-05-01T10:00:00.000000Z",
        effective="2031-05-01",  # type: ignore[arg-type]
        key_id=signer.key_id,
    )
    sig = signer.sign(signing_message(entry.canonical_bytes()))
    return SignedEntry(
        entry=entry,
        signatures=(Signature(key_id=signer.key_id, sig=base64.b64encode(sig).decode()),),
    )


def test_assembled_leaf_equals_the_canonical_signed_entry() -> None:
    signed = _signed()
    assert assemble_leaf(signed.entry.canonical_bytes(), list(signed.signatures)) == leaf_bytes(
        signed
    )


def test_signing_message_is_context_then_canonical_bytes() -> None:
    signed = _signed()
    assert signing_message(signed.entry.canonical_bytes()) == ENTRY_CONTEXT + canonical(
        signed.entry.model_dump(mode="json")
    )
    assert ENTRY_CONTEXT == b"coop-ledger/entry/v1\n"


def test_decode_round_trip() -> None:
    signed = _signed()
    assert decode_leaf(leaf_bytes(signed)) == signed


def test_models_are_frozen_and_closed() -> None:
    signed = _signed()
    with pytest.raises(ValidationError):
        signed.entry.seq = 4  # type: ignore[misc]
    data = signed.model_dump(mode="json")
    data["entry"]["surprise"] = 1
    with pytest.raises(InputError, match="surprise"):
        decode_leaf(canonical(data))


def test_non_canonical_bytes_are_refused() -> None:
    data = leaf_bytes(_signed())
    with pytest.raises(VerificationError, match="canonical"):
        decode_leaf(data.replace(b'"entry":', b'"entry": '))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prev", "XYZ"),
        ("key_id", "ab" * 31),
        ("recorded_at", "2031-05-01 10:00:00"),
        ("kind", "Member Admitted"),
        ("seq", -1),
    ],
)
def test_envelope_fields_are_validated(field: str, value: object) -> None:
    data = _signed().model_dump(mode="json")
    data["entry"][field] = value
    with pytest.raises(InputError):
        decode_leaf(canonical(data))


def test_genesis_prev_is_32_zero_bytes() -> None:
    assert bytes.fromhex(GENESIS_PREV) == bytes(32)
