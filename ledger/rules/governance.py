"""Governance rules: the genesis entry, key authorisation and revocation, charter amendments."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from ledger.charter import Charter, Role, charter_from_dict
from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import AuthorizationError, NotFoundError, RuleViolationError
from ledger.keys import decode_public_key, key_id
from ledger.state import Ctx, State, adopt_charter, charter_at, kind
from ledger.types import FROZEN

# C2SP tlog-checkpoint: the origin is a non-empty line, conventionally a schema-less URL.
_ORIGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,254}$")


def _origin(value: str) -> str:
    if not _ORIGIN_RE.match(value):
        raise ValueError(
            f"origin {value!r} must be a schema-less URL-like name (letters, digits, . _ / : -)"
        )
    return value


def _public_key(value: str) -> str:
    decode_public_key(value)
    return value


Origin = Annotated[str, AfterValidator(_origin)]
PublicKeyB64 = Annotated[str, AfterValidator(_public_key)]
KeyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$")]


class KeyGrant(BaseModel):
    model_config = FROZEN
    name: KeyName
    public_key: PublicKeyB64
    roles: tuple[Role, ...] = Field(min_length=1, max_length=4)

    @property
    def key_id(self) -> str:
        return key_id(decode_public_key(self.public_key))


class LogKey(BaseModel):
    model_config = FROZEN
    name: KeyName
    public_key: PublicKeyB64

    @property
    def key_id(self) -> str:
        return key_id(decode_public_key(self.public_key))


class LedgerFounded(BaseModel):
    """Entry 0: the origin, the charter, the founding governor and the log key."""

    model_config = FROZEN
    origin: Origin
    charter: Charter
    governor: KeyGrant
    log_key: LogKey


class KeyAuthorized(BaseModel):
    model_config = FROZEN
    key: KeyGrant


class KeyRevoked(BaseModel):
    model_config = FROZEN
    key_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    reason: str = Field(min_length=1, max_length=500)


class CharterAmended(BaseModel):
    model_config = FROZEN
    charter: Charter
    reason: str = Field(min_length=1, max_length=500)


def _register_key(state: State, grant: KeyGrant, seq: int) -> None:
    state.put(
        "key",
        grant.key_id,
        {
            "name": grant.name,
            "public_key": grant.public_key,
            "roles": sorted(set(grant.roles)),
            "authorized_seq": seq,
            "revoked_seq": None,
            "revoked_reason": None,
        },
    )


@kind("ledger.founded")
def _founded(state: State, body: LedgerFounded, ctx: Ctx) -> None:
    if ctx.seq != 0 or state.get("meta", "ledger") is not None:
        raise RuleViolationError(f"entry {ctx.seq}: ledger.founded may only be entry 0")
    if "governor" not in body.governor.roles:
        raise RuleViolationError("the founding key must hold the governor role")
    if ctx.key_id != body.governor.key_id:
        raise AuthorizationError("entry 0 must be signed by the founding governor key it names")
    if body.log_key.name != body.origin:
        raise RuleViolationError(
            f"the log key is named {body.log_key.name!r}; it must be named after the origin {body.origin!r}"
        )
    if body.log_key.key_id == body.governor.key_id:
        raise RuleViolationError("the log key and the governor key must be different keys")
    state.put(
        "meta",
        "ledger",
        {
            "origin": body.origin,
            "log_key": body.log_key.public_key,
            "log_key_id": body.log_key.key_id,
            "founded_on": ctx.effective.isoformat(),
        },
    )
    _register_key(state, body.governor, ctx.seq)
    adopt_charter(state, body.charter, ctx.seq)


@kind("key.authorized")
def _authorized(state: State, body: KeyAuthorized, ctx: Ctx) -> None:
    new_id = body.key.key_id
    existing = state.get("key", new_id)
    if existing is not None:
        if existing["revoked_seq"] is not None:
            raise RuleViolationError(
                f"key {existing['name']} ({new_id[:16]}) was revoked at entry {existing['revoked_seq']}; "
                "a revoked key is never authorised again: make a new key"
            )
        raise RuleViolationError(
            f"key {existing['name']} ({new_id[:16]}) is already authorised with roles {', '.join(existing['roles'])}"
        )
    ledger = state.get("meta", "ledger")
    if ledger is not None and ledger["log_key_id"] == new_id:
        raise RuleViolationError(
            "the log key signs checkpoints only; it cannot be authorised for entries"
        )
    _register_key(state, body.key, ctx.seq)


@kind("key.revoked")
def _revoked(state: State, body: KeyRevoked, ctx: Ctx) -> None:
    record = state.get("key", body.key_id)
    if record is None:
        raise RuleViolationError(f"key {body.key_id[:16]} is not known to this ledger")
    if record["revoked_seq"] is not None:
        raise RuleViolationError(
            f"key {record['name']} was already revoked at entry {record['revoked_seq']}"
        )
    if "governor" in record["roles"]:
        governors = [
            k for k, r in state.scan("key") if r["revoked_seq"] is None and "governor" in r["roles"]
        ]
        if governors == [body.key_id]:
            raise RuleViolationError(
                f"key {record['name']} is the last active governor key; authorise another governor first"
            )
    state.put("key", body.key_id, {**record, "revoked_seq": ctx.seq, "revoked_reason": body.reason})


@kind("charter.amended")
def _amended(state: State, body: CharterAmended, ctx: Ctx) -> None:
    # Contracts made earlier keep the version they reference; only new ones read this one.
    _, current = charter_at(state)
    if body.charter.version < current.version:
        raise RuleViolationError(
            f"the amended charter has version {body.charter.version}, below the version "
            f"{current.version} in force: rules adopted once are never given up"
        )
    dropped = set(current.cooperative.districts) - set(body.charter.cooperative.districts)
    if dropped:
        check_districts_unused(state, dropped)
    adopt_charter(state, body.charter, ctx.seq)


# The records that name a district: a district one of them names stays in the charter.
_DISTRICT_NAMESPACES = ("dwelling", "workspace", "property", "member")


def check_districts_unused(state: State, dropped: set[str]) -> None:
    """Refuse an amendment that drops a district a record names. Read only when an amendment
    drops districts (rare), so no other entry pays for the scan."""
    for ns in _DISTRICT_NAMESPACES:
        for key, record in state.scan(ns):
            district = record.get("district")
            if district in dropped:
                raise RuleViolationError(
                    f"the amended charter drops district {district!r}, which {ns} {key} names"
                )


# -- commands ----------------------------------------------------------------------------------


def authorize_key(name: str, public_key: bytes, roles: tuple[Role, ...]) -> Command:
    from ledger.keys import public_key_b64

    grant = KeyGrant(
        name=name, public_key=public_key_b64(public_key), roles=tuple(sorted(set(roles)))
    )
    return LegacyCommand(
        "key.authorize",
        grant.model_dump(mode="json"),
        lambda _state, ctx: Fact("key.authorized", KeyAuthorized(key=grant), ctx.effective),
    )


def revoke_key(key_id_or_prefix: str, reason: str) -> Command:
    def decide(state: State, ctx: Ctx) -> Fact:
        full = resolve_key_id(state, key_id_or_prefix)
        return Fact("key.revoked", KeyRevoked(key_id=full, reason=reason), ctx.effective)

    return LegacyCommand("key.revoke", {"key_id": key_id_or_prefix, "reason": reason}, decide)


def amend_charter(charter: Charter, reason: str) -> Command:
    # Validated again from its JSON form: a charter built with model_copy skips the validators
    # (the edition-2 placeholders, a version-1 charter's refusals), and the entry must carry
    # the one normal form the auditor's validation gives.
    charter = charter_from_dict(charter.model_dump(mode="json"))
    return LegacyCommand(
        "charter.amend",
        {"charter": charter.model_dump(mode="json"), "reason": reason},
        lambda _state, ctx: Fact(
            "charter.amended", CharterAmended(charter=charter, reason=reason), ctx.effective
        ),
    )


def resolve_key_id(state: State, text: str) -> str:
    """A full key id, or an unambiguous prefix of at least 8 hex digits."""
    text = text.lower()
    if len(text) == 64:
        if state.get("key", text) is None:
            raise NotFoundError(f"unknown key {text[:16]}")
        return text
    if len(text) < 8 or any(c not in "0123456789abcdef" for c in text):
        raise NotFoundError(
            f"key id {text!r}: give the full hex key id or at least its first 8 digits"
        )
    matches = [k for k, _ in state.scan("key") if k.startswith(text)]
    if not matches:
        raise NotFoundError(f"unknown key {text}")
    if len(matches) > 1:
        raise NotFoundError(f"key id prefix {text} is ambiguous ({len(matches)} keys)")
    return matches[0]
