"""Members: admission with a salted commitment to personal data kept outside the log, and erasure."""

from __future__ import annotations

import hashlib
import os
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from ledger.command import Command, Fact, LegacyCommand
from ledger.encoding import canonical
from ledger.errors import NotFoundError, RuleViolationError
from ledger.rules.ids import check_unique
from ledger.state import Ctx, Record, State, charter_at, kind
from ledger.types import FROZEN, Ident, validated

MemberKind = Literal["person", "household", "business"]


class PersonalData(BaseModel):
    """What GDPR lets a member have erased: never signed, only committed to."""

    model_config = FROZEN
    name: str = Field(min_length=1, max_length=300)
    address: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=300)
    kvk: str | None = Field(default=None, max_length=20)


def new_salt() -> bytes:
    return os.urandom(32)


def commitment(data: PersonalData, salt: bytes) -> str:
    """SHA-256(salt || canonical JSON of the data): binds the entry to the data, reveals nothing
    without the salt, and stays a valid hash after both are erased."""
    return hashlib.sha256(salt + canonical(data.model_dump(mode="json"))).hexdigest()


class MemberAdmitted(BaseModel):
    model_config = FROZEN
    member_id: Ident
    member_kind: MemberKind
    commitment: str = Field(pattern=r"^[0-9a-f]{64}$")
    founded: date | None = None
    district: str | None = None


class MemberForgotten(BaseModel):
    """Records that a member's personal data was erased on request (the data never was signed)."""

    model_config = FROZEN
    member_id: Ident


def get_member(state: State, member_id: str) -> Record:
    record = state.get("member", member_id)
    if record is None:
        raise NotFoundError(f"unknown member {member_id}")
    return record


@kind("member.admitted")
def _admitted(state: State, body: MemberAdmitted, ctx: Ctx) -> None:
    if state.get("member", body.member_id) is not None:
        raise RuleViolationError(f"member {body.member_id} is already admitted")
    check_unique(state, "member", body.member_id)
    if body.founded is not None and body.member_kind != "business":
        raise RuleViolationError(f"member {body.member_id}: only a business has a founding date")
    if body.founded is not None and body.founded > ctx.effective:
        raise RuleViolationError(
            f"member {body.member_id}: founded {body.founded} is after the admission date {ctx.effective}"
        )
    if body.district is not None:
        _, charter = charter_at(state)
        if body.district not in charter.cooperative.districts:
            raise RuleViolationError(
                f"member {body.member_id}: district {body.district!r} is not one of the charter's "
                f"districts ({', '.join(charter.cooperative.districts)})"
            )
    state.put(
        "member",
        body.member_id,
        {
            "member_kind": body.member_kind,
            "commitment": body.commitment,
            "founded": None if body.founded is None else body.founded.isoformat(),
            "district": body.district,
            "admitted_seq": ctx.seq,
            "admitted_on": ctx.effective.isoformat(),
            "forgotten_seq": None,
            "history": [ctx.seq],
        },
    )


def add_history(state: State, member_id: str, seq: int) -> None:
    """Remember that entry `seq` concerns the member, for `member show` without a log scan."""
    record = get_member(state, member_id)
    state.put("member", member_id, {**record, "history": [*record["history"], seq]})


@kind("member.forgotten")
def _forgotten(state: State, body: MemberForgotten, ctx: Ctx) -> None:
    record = get_member(state, body.member_id)
    if record["forgotten_seq"] is not None:
        raise RuleViolationError(
            f"member {body.member_id}: personal data was already erased at entry {record['forgotten_seq']}"
        )
    state.put(
        "member",
        body.member_id,
        {**record, "forgotten_seq": ctx.seq, "history": [*record["history"], ctx.seq]},
    )


# -- commands ----------------------------------------------------------------------------------


def admit(
    member_id: str,
    member_kind: MemberKind,
    personal: PersonalData,
    effective: date,
    founded: date | None = None,
    district: str | None = None,
    salt: bytes | None = None,
) -> Command:
    salt = new_salt() if salt is None else salt
    body = validated(
        MemberAdmitted,
        member_id=member_id,
        member_kind=member_kind,
        commitment=commitment(personal, salt),
        founded=founded,
        district=district,
    )
    personal_json = canonical(personal.model_dump(mode="json")).decode("utf-8")
    # The request content names the data, not the salt: a retried request makes a new salt.
    args = {
        "member_id": member_id,
        "member_kind": member_kind,
        "personal": personal.model_dump(mode="json"),
        "effective": effective.isoformat(),
        "founded": None if founded is None else founded.isoformat(),
        "district": district,
    }
    return LegacyCommand(
        "member.admit",
        args,
        lambda _state, _ctx: Fact(
            "member.admitted", body, effective, personal=(member_id, salt, personal_json)
        ),
    )


def forget(member_id: str, effective: date) -> Command:
    def decide(state: State, _ctx: Ctx) -> Fact:
        get_member(state, member_id)
        return Fact(
            "member.forgotten",
            MemberForgotten(member_id=member_id),
            effective,
            erase_personal=member_id,
        )

    return LegacyCommand(
        "member.forget", {"member_id": member_id, "effective": effective.isoformat()}, decide
    )
