"""The signed entry: its envelope, canonical bytes, signature message, leaf bytes and leaf hash."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationError

from ledger.encoding import canonical, loads, record_bytes
from ledger.errors import InputError, UsageError, VerificationError
from ledger.types import FROZEN

FORMAT_VERSION = 1
# Domain separation: an entry signature can never be replayed as any other signed message
# (a checkpoint note, a GEM manifest), and a future format changes this string.
ENTRY_CONTEXT = b"coop-ledger/entry/v1\n"
GENESIS_PREV = "0" * 64

_HEX32_RE = re.compile(r"^[0-9a-f]{64}$")
# What a writer accepts as a new request id: 1-128 visible ASCII characters (no space, no
# control character), so that it can be typed, logged and shown back safely (docs/FORMAT.md).
_REQUEST_ID_RE = re.compile(r"[!-~]{1,128}")
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


def check_request_id(request_id: str) -> str:
    """A new request id, or a UsageError naming it."""
    if not _REQUEST_ID_RE.fullmatch(request_id):
        raise UsageError(
            f"request id {request_id!r} must be 1-128 visible ASCII characters (no spaces)"
        )
    return request_id


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
    is unchanged, so this equals leaf_bytes() (tests/unit/test_model.py checks it). A
    Signature's JSON form is its two string fields, written here without model_dump."""
    sigs = canonical([{"key_id": s.key_id, "sig": s.sig} for s in signatures])
    return b'{"entry":' + entry_bytes + b',"signatures":' + sigs + b"}"


_KIND_RE = re.compile(r"[a-z]+(\.[a-z-]+)+")
_HEX32_FULL = re.compile(r"[0-9a-f]{64}")
_TIME_FULL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")


def _plain_envelope(
    seq: object,
    kind: object,
    body: object,
    prev: object,
    recorded_at: object,
    effective: object,
    key_id: object,
    request_id: object,
) -> bool:
    """True when Entry's validation would accept these values unchanged (each test here is
    as strict as the field's, or stricter): the envelope needs no pydantic run."""
    return (
        type(seq) is int
        and 0 <= seq <= 2**53 - 1
        and type(kind) is str
        and _KIND_RE.fullmatch(kind) is not None
        and type(body) is dict
        and all(type(k) is str for k in body)
        and type(prev) is str
        and _HEX32_FULL.fullmatch(prev) is not None
        and type(recorded_at) is str
        and len(recorded_at) == 27
        and recorded_at[26] == "Z"
        and _TIME_FULL.fullmatch(recorded_at, 0, 26) is not None
        and type(effective) is date
        and type(key_id) is str
        and _HEX32_FULL.fullmatch(key_id) is not None
        and (request_id is None or (type(request_id) is str and 1 <= len(request_id) <= 128))
    )


def make_entry(
    seq: int,
    kind: str,
    body: dict[str, Any],
    prev: str,
    recorded_at: str,
    effective: date,
    key_id: str,
    request_id: str | None,
) -> tuple[Entry | None, bytes]:
    """The entry's canonical bytes, validated and encoded once; the Entry model only when the
    values needed pydantic.

    The envelope the service builds from values it made itself passes plain tests as strict
    as the fields' validators, and is encoded straight from a dict: (None, bytes). Anything
    unusual goes through Entry(), with its exact validation and error: (entry, bytes).
    tests/unit/test_fast_paths.py checks that both give Entry(...).canonical_bytes()."""
    if _plain_envelope(seq, kind, body, prev, recorded_at, effective, key_id, request_id):
        data = {
            "v": 1,
            "seq": seq,
            "kind": kind,
            "body": body,
            "prev": prev,
            "recorded_at": recorded_at,
            "effective": effective.isoformat(),
            "key_id": key_id,
            "request_id": request_id,
        }
        try:
            return None, canonical(data)
        except InputError:
            pass  # a body value that JSON mode would convert: let the model do it
    entry = Entry(
        seq=seq,
        kind=kind,
        body=body,
        prev=prev,
        recorded_at=recorded_at,
        effective=effective,
        key_id=key_id,
        request_id=request_id,
    )
    return entry, entry.canonical_bytes()


def assemble_leaf_texts(entry_bytes: bytes, signatures: Sequence[tuple[str, str]]) -> bytes:
    """assemble_leaf() from (key id, base64 signature) pairs, for signatures we just made."""
    sigs = canonical([{"key_id": k, "sig": v} for k, v in signatures])
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


_DATE_FULL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ENTRY_KEYS = frozenset(
    ("v", "seq", "kind", "body", "prev", "recorded_at", "effective", "key_id", "request_id")
)
_LEAF_HEAD = b'{"entry":'


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    """A leaf decoded without pydantic: what SignedEntry.model_validate would give, field by
    field, plus the exact entry bytes the signatures cover."""

    seq: int
    kind: str
    body: dict[str, Any]
    prev: str
    recorded_at: str
    effective: date
    key_id: str
    request_id: str | None
    signatures: tuple[tuple[str, bytes], ...]  # (key id, raw 64-byte signature)
    entry_bytes: bytes


def _plain_signatures(sigs: list[Any]) -> list[tuple[str, bytes]] | None:
    """The (key id, raw signature) pairs of a leaf's signatures, or None if any is unusual."""
    raw_sigs: list[tuple[str, bytes]] = []
    for sig in sigs:
        if type(sig) is not dict or sig.keys() != {"key_id", "sig"}:
            return None
        sig_key, text = sig["key_id"], sig["sig"]
        if type(sig_key) is not str or _HEX32_FULL.fullmatch(sig_key) is None:
            return None
        if type(text) is not str or len(text) != 88:
            return None
        try:
            raw = base64.b64decode(text, validate=True)
        except binascii.Error:
            return None
        if len(raw) != 64:
            return None
        raw_sigs.append((sig_key, raw))
    return raw_sigs


def plain_leaf(data: bytes) -> PlainLeaf | None:
    """Decode leaf bytes on the fast path, or None to send the leaf to decode_leaf().

    Only a leaf that is canonical JSON holding exactly the fields of SignedEntry, each of
    them a value its validator accepts unchanged, is decoded here; for such a leaf the
    entry's canonical bytes are the slice of the leaf between '{"entry":' and
    ',"signatures":', so they are not encoded again. Everything else (a malformed, unusual
    or tampered leaf) returns None and gets decode_leaf's exact findings. The equivalence is
    tested in tests/unit/test_fast_paths.py (docs/decisions/0010-perf-verification.md)."""
    try:
        value = loads(data)
        if type(value) is not dict or len(value) != 2:
            return None
        entry = value.get("entry")
        sigs = value.get("signatures")
        if type(entry) is not dict or type(sigs) is not list or not 1 <= len(sigs) <= 4:
            return None
        if canonical(value) != data:
            return None
    except (InputError, RecursionError):
        return None
    if entry.keys() != _ENTRY_KEYS:
        return None
    seq, kind, body = entry["seq"], entry["kind"], entry["body"]
    prev, recorded_at, effective = entry["prev"], entry["recorded_at"], entry["effective"]
    key_id, request_id, v = entry["key_id"], entry["request_id"], entry["v"]
    if not (
        type(v) is int
        and v == 1
        and type(effective) is str
        and _DATE_FULL.fullmatch(effective) is not None
    ):
        return None
    try:
        day = date.fromisoformat(effective)
    except ValueError:
        return None
    if not _plain_envelope(seq, kind, body, prev, recorded_at, day, key_id, request_id):
        return None
    raw_sigs = _plain_signatures(sigs)
    if raw_sigs is None:
        return None
    # Each signature is two ASCII strings (checked above): encoded without the guard walk.
    tail = b',"signatures":' + record_bytes(sigs) + b"}"
    if not (data.startswith(_LEAF_HEAD) and data.endswith(tail)):
        return None  # cannot happen for a canonical leaf; kept as the slice's guard
    return PlainLeaf(
        seq,
        kind,
        body,
        prev,
        recorded_at,
        day,
        key_id,
        request_id,
        tuple(raw_sigs),
        data[len(_LEAF_HEAD) : len(data) - len(tail)],
    )
