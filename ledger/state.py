"""The state every rule reads and the one fold that changes it: apply(state, signed entry)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, NotRequired, Protocol, TypedDict, TypeVar, overload

from pydantic import BaseModel, ValidationError

from ledger.charter import Charter, Role, charter_from_dict
from ledger.encoding import canonical, loads, record_bytes
from ledger.errors import AuthorizationError, InputError, NotFoundError, RuleViolationError
from ledger.model import SignedEntry

Record = dict[str, Any]  # a record as stored, read where its namespace is not known (checks, dumps)

R = TypeVar("R")


class NS(str, Generic[R]):
    """A namespace of the state and the shape of its records: `MEMBER: NS[MemberRecord] =
    NS("member")`. It is its name (a str) at run time; mypy checks what is read and put."""

    __slots__ = ()


class State(Protocol):
    """Keyed records by namespace; the database projection and the auditor's memory both fit.
    Each part declares its namespaces as NS constants with a TypedDict of the record."""

    # TRANSITION (issue 13): the str overloads go once every namespace is an NS constant.
    @overload
    def get(self, ns: NS[R], key: str) -> R | None: ...  # type: ignore[overload-overlap]
    @overload
    def get(self, ns: str, key: str) -> Record | None: ...
    @overload
    def put(self, ns: NS[R], key: str, value: R) -> None: ...
    @overload
    def put(self, ns: str, key: str, value: Record) -> None: ...
    def delete(self, ns: str, key: str) -> None: ...
    @overload
    def scan(self, ns: NS[R]) -> Iterator[tuple[str, R]]: ...  # type: ignore[overload-overlap]
    @overload
    def scan(self, ns: str) -> Iterator[tuple[str, Record]]: ...


# -- the namespaces every part reads ---------------------------------------------------------


class HeadRecord(TypedDict):
    size: int  # entries folded in


class LedgerRecord(TypedDict):
    origin: str
    log_key: str
    log_key_id: str
    founded_on: str


class MetaRecord(TypedDict):
    size: NotRequired[int]  # key "head"
    origin: NotRequired[str]  # key "ledger", the rest too
    log_key: NotRequired[str]
    log_key_id: NotRequired[str]
    founded_on: NotRequired[str]


class KeyRecord(TypedDict):
    name: str
    public_key: str  # base64 of the raw Ed25519 key
    roles: list[str]
    authorized_seq: int
    revoked_seq: int | None
    revoked_reason: str | None


class CharterRecord(TypedDict):
    seq: int  # key "current": the seq that adopted the charter in force
    charter: NotRequired[dict[str, Any]]  # key f"{seq:012d}": the charter adopted there


META: NS[MetaRecord] = NS("meta")
KEY: NS[KeyRecord] = NS("key")
CHARTER: NS[CharterRecord] = NS("charter")


class MemoryState:
    """State held in memory as canonical bytes (so a record can never be changed behind put)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, bytes]] = {}

    def get(self, ns: str, key: str) -> Any:
        raw = self.data.get(ns, {}).get(key)
        return None if raw is None else loads(raw)

    def get_raw(self, ns: str, key: str) -> bytes | None:
        """The record's canonical bytes, unparsed (a cache key for derived objects)."""
        return self.data.get(ns, {}).get(key)

    def put(self, ns: str, key: str, value: Any) -> None:
        self.data.setdefault(ns, {})[key] = record_bytes(value)

    def delete(self, ns: str, key: str) -> None:
        self.data.get(ns, {}).pop(key, None)

    def scan(self, ns: str) -> Iterator[tuple[str, Any]]:
        items = self.data.get(ns, {})
        for key in sorted(items):
            yield key, loads(items[key])

    def snapshot(self) -> dict[tuple[str, str], bytes]:
        return {(ns, k): v for ns, recs in self.data.items() for k, v in recs.items()}


@dataclass(frozen=True)
class Ctx:
    """Where an entry stands: its sequence number, dates and author; passed to every rule."""

    seq: int
    effective: date
    recorded_at: str
    key_id: str
    request_id: str | None = None
    # The entry's body as signed (JSON values), when the applier has it at hand: a rule that
    # keeps the body (corrections' `remember`) takes it instead of dumping the model again.
    body_json: dict[str, Any] | None = field(default=None, compare=False, repr=False)


Applier = Callable[[State, Any, Ctx], None]


# Undo the effect of an earlier entry (its body and context) for a correction, or raise
# RuleViolationError saying why it can no longer be undone.
Reverser = Callable[[State, Any, Ctx, Ctx], None]


@dataclass(frozen=True)
class KindSpec:
    """One line of the registry of entry kinds (ledger/kinds.py)."""

    kind: str
    role: Role | None
    body: type[BaseModel]
    apply: Applier
    reverse: Reverser | None = None
    gem: bool = False  # read by the GEM export (ledger/export/gem.py)


# The attributes the markers below set: they register nothing (the registry is ledger/kinds.py);
# tests/unit/test_kind_registry.py reads them to find an applier the registry does not list.
KIND_MARK = "__entry_kind__"
REVERSER_MARK = "__reverses_kind__"


def kind(name: str) -> Callable[[Applier], Applier]:
    """Mark a function as the applier of entry kind `name` (a marker only, see KIND_MARK)."""

    def mark(fn: Applier) -> Applier:
        setattr(fn, KIND_MARK, name)
        return fn

    return mark


def reverser(name: str) -> Callable[[Reverser], Reverser]:
    """Mark a function as the undo of entry kind `name` for a correction (a marker only;
    kinds without one cannot be corrected, only followed by a new entry)."""

    def mark(fn: Reverser) -> Reverser:
        setattr(fn, REVERSER_MARK, name)
        return fn

    return mark


_kinds: dict[str, KindSpec] | None = None


def load_kinds() -> dict[str, KindSpec]:
    """The registry (ledger/kinds.py). It sits above the rules, which import this module, so
    it is imported on first use; after that this is one global read."""
    global _kinds
    if _kinds is None:
        from ledger.kinds import KINDS

        _kinds = KINDS
    return _kinds


def body_model(kind_name: str) -> type[BaseModel]:
    spec = load_kinds().get(kind_name)
    if spec is None:
        raise RuleViolationError(f"unknown entry kind {kind_name!r}")
    return spec.body


def apply(state: State, signed: SignedEntry) -> None:
    """Check one entry against every rule and fold it into the state, or raise and change nothing
    the caller keeps (the service rolls back; the auditor reports the finding)."""
    entry = signed.entry
    apply_entry(
        state,
        entry.kind,
        entry.body,
        entry.seq,
        entry.effective,
        entry.recorded_at,
        entry.key_id,
        entry.request_id,
        [s.key_id for s in signed.signatures],
    )


def apply_entry(
    state: State,
    kind_name: str,
    entry_body: dict[str, Any],
    seq: int,
    effective: date,
    recorded_at: str,
    key_id: str,
    request_id: str | None,
    signature_key_ids: Sequence[str],
    decided: BaseModel | None = None,
) -> None:
    """apply() on the fields of an already validated entry: the service and the auditor's fast
    path call it without building the Entry and SignedEntry models (same checks, same order).

    `decided` is the body model the writer's own rule just built, of which `entry_body` is the
    JSON dump: it is not parsed and dumped again (docs/decisions/0013-perf-rules-replay.md).
    An auditor never passes it: every body it reads is validated and checked for normal form."""
    spec = (_kinds if _kinds is not None else load_kinds()).get(kind_name)
    if spec is None:
        raise RuleViolationError(f"unknown entry kind {kind_name!r}")
    if decided is not None and type(decided) is spec.body:
        body = decided
    else:
        body = validate_body(spec, entry_body)
    if signature_key_ids[0] != key_id:
        raise AuthorizationError("the first signature is not by the entry's key_id")
    if spec.role is not None:
        authorize(state, key_id, spec.role, kind_name)
        if len(signature_key_ids) != 1:
            raise AuthorizationError(
                f"{kind_name} carries {len(signature_key_ids)} signatures, expected 1"
            )
    ctx = Ctx(seq, effective, recorded_at, key_id, request_id, entry_body)
    spec.apply(state, body, ctx)
    state.put(META, "head", {"size": seq + 1})  # the record's one field: nothing to read


def validate_body(spec: KindSpec, entry_body: dict[str, Any]) -> BaseModel:
    """The body model of an entry read from outside, which must be in its normal form: the
    dump of the model it validates to (so one body has one signed spelling)."""
    try:
        body = spec.body.model_validate(entry_body)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{spec.kind} body: {loc}: {first['msg']}") from e
    if body.model_dump(mode="json") != entry_body:
        raise RuleViolationError(f"{spec.kind} body is not in its normal form")
    return body


def authorize(state: State, key_id: str, role: Role, what: str) -> KeyRecord:
    """The key must be known, not revoked, and hold the role the entry kind needs."""
    record = state.get(KEY, key_id)
    if record is None:
        raise AuthorizationError(f"{what}: key {key_id[:16]} is not authorised in this ledger")
    if record.get("revoked_seq") is not None:
        raise AuthorizationError(
            f"{what}: key {record['name']} ({key_id[:16]}) was revoked at entry {record['revoked_seq']}"
        )
    if role not in record["roles"]:
        raise AuthorizationError(
            f"{what}: needs role {role}; key {record['name']} ({key_id[:16]}) holds {', '.join(record['roles'])}"
        )
    return record


def public_key_of(state: State, key_id: str) -> bytes | None:
    """The public key registered under a key id (revoked or not), for signature checks."""
    record = state.get(KEY, key_id)
    return None if record is None else base64.b64decode(record["public_key"])


def size(state: State) -> int:
    meta = state.get(META, "head")
    return 0 if meta is None else int(meta["size"])


_charter_cache: dict[bytes, Charter] = {}


def charter_at(state: State, seq: int | None = None) -> tuple[int, Charter]:
    """The charter in force (or the version adopted at entry `seq`) and the seq that adopted it."""
    if seq is None:
        current = state.get(CHARTER, "current")
        if current is None:
            raise NotFoundError("this ledger has no charter yet: run coopledger init")
        seq = int(current["seq"])
    key = f"{seq:012d}"
    # The charter record is the largest one rules read, several times an entry: a state that
    # keeps canonical bytes hands them out as the cache key, so the record is neither parsed
    # nor encoded again (docs/decisions/0008-perf-append-fast-path.md).
    get_raw = getattr(state, "get_raw", None)
    raw = get_raw("charter", key) if get_raw is not None else None
    if raw is not None:
        cached = _charter_cache.get(raw)
        if cached is not None:
            return seq, cached
    record = state.get(CHARTER, key)
    if record is None:
        raise NotFoundError(f"no charter version adopted at entry {seq}")
    if raw is None:
        raw = canonical(record["charter"])
    charter = _charter_cache.get(raw)
    if charter is None:
        charter = charter_from_dict(record["charter"])
        _charter_cache[raw] = charter
    return seq, charter


def adopt_charter(state: State, charter: Charter, seq: int) -> None:
    state.put(CHARTER, f"{seq:012d}", {"seq": seq, "charter": charter.model_dump(mode="json")})
    state.put(CHARTER, "current", {"seq": seq})
