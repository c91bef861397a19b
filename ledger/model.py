"""The signed entry: its envelope, canonical bytes, signature message, leaf bytes and leaf hash."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationError

from ledger.encoding import canonical, loads
from ledger.errors import InputError, VerificationError
from ledger.types import FROZEN

FORMAT_VERSION = 1
# Domain separation: an entry signature can never be replayed as any other signed message
# (a checkpoint note, a GEM manifest), and a future format changes this string.
ENTRY_CONTEXT = b"coop-ledger/entry/v1\n"
GENESIS_PREV = "0" * 64

_HEX32_RE = re.compile(r"^[0-9a-f]{64}$")
_TIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")


def _hex32(value: str) -> str:
    if not _HEX32_RE.match(value):
        raise ValueError(f"expected 64 lowercase hex digits, got {value!r}")
    return value


def _utc_time(value: str) -> str:
    if not _TIME_RE.match(value):
        raise ValueError(f"expected a UTC time like 2031-05-01T10:00:00.000000Z, got {value!r}")
    return value


def _sig(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise ValueError(f"signature is not base64: {value!r}") from e
    if len(raw) != 64:
        raise ValueError(f"signature is {len(raw)} bytes, expected 64")
    return value


Hex32 = Annotated[str, AfterValidator(_hex32)]
UtcText = Annotated[str, AfterValidator(_utc_time)]
SigText = Annotated[str, AfterValidator(_sig)]


class Entry(BaseModel):
    """What a key signs: position in the log, link to the previous leaf, kind, body, author."""

    model_config = FROZEN
    v: Literal[1] = 1
    seq: int = Field(ge=0, le=2**53 - 1)
    kind: str = Field(pattern=r"^[a-z]+(\.[a-z-]+)+$")
    body: dict[str, Any]
    prev: Hex32
    recorded_at: UtcText
    effective: date
    key_id: Hex32
    request_id: str | None = Field(default=None, min_length=1, max_length=128)

    def canonical_bytes(self) -> bytes:
        return canonical(self.model_dump(mode="json"))


class Signature(BaseModel):
    model_config = FROZEN
    key_id: Hex32
    sig: SigText

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.sig)


class SignedEntry(BaseModel):
    """The leaf: the entry with its signatures, so the Merkle tree commits to who signed."""

    model_config = FROZEN
    entry: Entry
    signatures: tuple[Signature, ...] = Field(min_length=1, max_length=4)


def signing_message(entry_bytes: bytes) -> bytes:
    """The exact bytes an Ed25519 signature covers: the context string, then the entry bytes."""
    return ENTRY_CONTEXT + entry_bytes


def leaf_bytes(signed: SignedEntry) -> bytes:
    return canonical(signed.model_dump(mode="json"))


def assemble_leaf(entry_bytes: bytes, signatures: list[Signature]) -> bytes:
    """Leaf bytes from already-canonical entry bytes, without encoding the entry twice.

    "entry" sorts before "signatures", and a canonical object nested in a canonical object
    is unchanged, so this equals leaf_bytes() (tests/unit/test_model.py checks it)."""
    sigs = canonical([s.model_dump(mode="json") for s in signatures])
    return b'{"entry":' + entry_bytes + b',"signatures":' + sigs + b"}"


def decode_leaf(data: bytes, where: str = "entry") -> SignedEntry:
    """Parse leaf bytes strictly: valid JSON, canonical form, known fields only."""
    value = loads(data)
    if canonical(value) != data:
        raise VerificationError(f"{where}: bytes are not in canonical RFC 8785 form")
    try:
        return SignedEntry.model_validate(value)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{where}: {loc}: {first['msg']}") from e
