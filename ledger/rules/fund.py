"""The cooperative fund: capital deposits (the GEM, the revolving fund) as balanced postings."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field

from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import InputError, RuleViolationError
from ledger.money import MAX_CENTS, format_eur
from ledger.postings import FUND, Posting, balance, post, transfer
from ledger.rules.corrections import remember
from ledger.state import Ctx, State, kind, reverser
from ledger.types import FROZEN, Ident, validated

PositiveCents = Annotated[int, Field(gt=0, le=MAX_CENTS, strict=True)]


class FundDeposited(BaseModel):
    """Money paid into the fund from outside; `source` names the payer's account."""

    model_config = FROZEN
    amount_cents: PositiveCents
    source: Ident
    note: str | None = Field(default=None, min_length=1, max_length=300)
    postings: tuple[Posting, ...]


def external(source: str) -> str:
    return f"external:{source}"


def deposit_postings(amount_cents: int, source: str) -> tuple[Posting, Posting]:
    return transfer(FUND, external(source), amount_cents)


@kind("fund.deposited")
def _deposited(state: State, body: FundDeposited, ctx: Ctx) -> None:
    expected = deposit_postings(body.amount_cents, body.source)
    if body.postings != expected:
        raise RuleViolationError(
            f"deposit of {format_eur(body.amount_cents)} from {body.source}: postings must move "
            f"it from {external(body.source)} into the fund"
        )
    post(state, body.postings, f"deposit from {body.source}", ctx.effective)
    remember(state, "fund.deposited", body, ctx)


@reverser("fund.deposited")
def _undo_deposit(state: State, body: FundDeposited, original: Ctx, ctx: Ctx) -> None:
    # A deposit moves money and nothing else: the correction reverses its postings, and
    # post() refuses (naming the shortfall) when the fund has spent the money since.
    return None


def deposit(
    amount_cents: int, source: str, note: str | None = None, on: date | None = None
) -> Command:
    """Money paid into the fund from `source`, dated `on` (default: the day it is recorded)."""
    if amount_cents <= 0:
        raise InputError(f"a deposit must be above 0, found {format_eur(amount_cents)}")
    checked = validated(
        FundDeposited, amount_cents=amount_cents, source=source, note=note, postings=()
    )
    # The postings are derived, never supplied: built once the source is known to be valid.
    body = checked.model_copy(update={"postings": deposit_postings(amount_cents, source)})
    return LegacyCommand(
        "fund.deposit",
        {
            "amount_cents": amount_cents,
            "source": source,
            "note": note,
            "on": None if on is None else on.isoformat(),
        },
        lambda _state, ctx: Fact("fund.deposited", body, on or ctx.effective),
    )


def fund_balance(state: State) -> dict[str, Any]:
    return {"account": FUND, "balance_cents": balance(state, FUND)}
