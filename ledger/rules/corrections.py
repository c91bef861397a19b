"""Corrections: a governor's entry that reverses an earlier entry whose effect can still be undone.

Nothing is edited or deleted: the original stays in the log and the correction refers to it.
The appliers see only the state, never the log, so every kind that can be corrected keeps an
`effect` record of each of its entries (its body and context); `correction.applied` reads
that record, calls the kind's @reverser and reverses the entry's postings, or refuses with
the reason the effect can no longer be undone.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import NotFoundError, RuleViolationError
from ledger.postings import FUND, Posting, post
from ledger.state import Ctx, Record, State, kind, load_kinds
from ledger.types import FROZEN, validated

EFFECT = "effect"


class CorrectionApplied(BaseModel):
    """Reverses entry `seq` (of kind `kind`), with the reason and the reversed postings."""

    model_config = FROZEN
    seq: int = Field(ge=0, strict=True)
    kind: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    postings: tuple[Posting, ...] = ()


def _key(seq: int) -> str:
    return f"{seq:012d}"


def remember(state: State, kind_name: str, body: BaseModel, ctx: Ctx) -> None:
    """Keep what a later correction of this entry needs (called by appliers of correctable kinds)."""
    state.put(
        EFFECT,
        _key(ctx.seq),
        {
            "kind": kind_name,
            "body": ctx.body_json if ctx.body_json is not None else body.model_dump(mode="json"),
            "effective": ctx.effective.isoformat(),
            "recorded_at": ctx.recorded_at,
            "key_id": ctx.key_id,
            "request_id": ctx.request_id,
            "corrected_seq": None,
            "reason": None,
        },
    )


def effect_of(state: State, seq: int) -> Record | None:
    return state.get(EFFECT, _key(seq))


def correctable_kinds() -> list[str]:
    return sorted(name for name, spec in load_kinds().items() if spec.reverse is not None)


def reversed_postings(body: Record) -> tuple[Posting, ...]:
    """The original's postings with their signs turned, the fund's leg first (so a shortfall
    is found before any other balance moves)."""
    legs = [
        Posting(account=p["account"], amount_cents=-int(p["amount_cents"]))
        for p in body.get("postings", ())
    ]
    return tuple(sorted(legs, key=lambda p: p.account != FUND))


def _describe(seq: int, record: Record) -> str:
    return f"entry {seq} ({record['kind']})"


def _effect_to_correct(state: State, seq: int, now_seq: int) -> Record:
    if seq >= now_seq:
        raise NotFoundError(
            f"entry {seq} does not exist yet: the log holds entries 0..{now_seq - 1}"
        )
    record = effect_of(state, seq)
    if record is None:
        raise RuleViolationError(
            f"entry {seq} cannot be corrected: only entries of kinds "
            f"{', '.join(correctable_kinds())} can be reversed; record a new entry instead"
        )
    if record["corrected_seq"] is not None:
        raise RuleViolationError(
            f"{_describe(seq, record)} was already corrected at entry {record['corrected_seq']}"
        )
    return record


@kind("correction.applied")
def _corrected(state: State, body: CorrectionApplied, ctx: Ctx) -> None:
    record = _effect_to_correct(state, body.seq, ctx.seq)
    if record["kind"] != body.kind:
        raise RuleViolationError(
            f"entry {body.seq} is a {record['kind']} entry; the correction names {body.kind}"
        )
    expected = reversed_postings(record["body"])
    if body.postings != expected:
        raise RuleViolationError(
            f"correction of {_describe(body.seq, record)}: its postings must reverse the "
            f"original's exactly"
        )
    spec = load_kinds()[record["kind"]]
    assert spec.reverse is not None  # only kinds with a reverser leave an effect record
    original = Ctx(
        body.seq,
        date.fromisoformat(record["effective"]),
        record["recorded_at"],
        record["key_id"],
        record["request_id"],
    )
    spec.reverse(state, spec.body.model_validate(record["body"]), original, ctx)
    if expected:
        # A corrected entry never happened: its postings are reversed on its own date.
        post(state, expected, f"correction of {_describe(body.seq, record)}", original.effective)
    state.put(EFFECT, _key(body.seq), {**record, "corrected_seq": ctx.seq, "reason": body.reason})


def correct(seq: int, reason: str, on: date | None = None) -> Command:
    """Reverse entry `seq` (governor), stating why, dated `on` (default: the day it is
    recorded); refused when the entry's effect can no longer be undone."""

    def decide(state: State, ctx: Ctx) -> Fact:
        record = _effect_to_correct(state, seq, ctx.seq)
        body = validated(
            CorrectionApplied,
            seq=seq,
            kind=record["kind"],
            reason=reason,
            postings=reversed_postings(record["body"]),
        )
        return Fact("correction.applied", body, on or ctx.effective)

    args = {"seq": seq, "reason": reason, "on": None if on is None else on.isoformat()}
    return LegacyCommand("correction.apply", args, decide)


def cannot_reverse(original: Ctx, kind_name: str, why: str) -> RuleViolationError:
    """The refusal a reverser raises: which entry, and why its effect can no longer be undone."""
    return RuleViolationError(f"entry {original.seq} ({kind_name}) cannot be reversed: {why}")
