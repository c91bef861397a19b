"""Double-entry postings: every entry that moves money carries balanced postings (debits = credits)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from ledger import dated
from ledger.errors import RuleViolationError
from ledger.money import MAX_CENTS, format_eur
from ledger.state import State, charter_at
from ledger.types import FROZEN

# Account names: "fund" (the cooperative fund's money), "member:M-42" (what a member paid in,
# net), "external:<source>" (money from outside: the GEM, the revolving fund, a notary),
# and further namespaced accounts a domain introduces ("levy:receivable:P-1", ...).
_ACCOUNT_RE = re.compile(r"^[a-z]+(:[A-Za-z0-9._-]+)*$")
FUND = "fund"


def _account(value: str) -> str:
    if not _ACCOUNT_RE.match(value) or len(value) > 128:
        raise ValueError(f"account {value!r} must look like 'fund' or 'member:M-42'")
    return value


Account = Annotated[str, AfterValidator(_account)]


class Posting(BaseModel):
    """One leg: a positive amount debits the account (money or a claim comes in), a negative
    amount credits it."""

    model_config = FROZEN
    account: Account
    amount_cents: int = Field(ge=-MAX_CENTS, le=MAX_CENTS, strict=True)


def transfer(debit: str, credit: str, amount_cents: int) -> tuple[Posting, Posting]:
    """The common two-legged posting: `amount` moves into `debit` from `credit`."""
    return (
        Posting(account=debit, amount_cents=amount_cents),
        Posting(account=credit, amount_cents=-amount_cents),
    )


def check_balanced(postings: Sequence[Posting], what: str) -> None:
    if not postings:
        raise RuleViolationError(f"{what}: an entry that moves money needs postings")
    if any(p.amount_cents == 0 for p in postings):
        raise RuleViolationError(f"{what}: a posting of zero is not allowed")
    total = sum(p.amount_cents for p in postings)
    if total != 0:
        raise RuleViolationError(
            f"{what}: postings do not balance (debits - credits = {format_eur(total)})"
        )


def balance(state: State, account: str) -> int:
    record = state.get("balance", account)
    return 0 if record is None else int(record["cents"])


LEVY_RECEIVABLE = "levy:receivable:"


def must_not_go_negative(account: str) -> bool:
    """The balances that may never be below zero on any date (edition 2), checked here: the
    fund's money and each property's levy receivable (a payment or waiver before the levy it
    settles would make it so). Their movements are kept by date under every edition
    (ledger/dated.py). The contribution receivable is one account for every subject, so it is
    checked per charge instead (ledger/rules/contributions.py, decision 0019)."""
    return account == FUND or account.startswith(LEVY_RECEIVABLE)


def post(state: State, postings: Sequence[Posting], what: str, on: date | None = None) -> None:
    """Apply balanced postings to the running balances, and to the balances by date on `on`
    (required when a posting moves a balance that must not go negative).

    Edition 1: the fund may not go below zero in log order, leg by leg (the receivables keep
    their own rules then). Edition 2 (charter version 2; docs/RULES.md §5): every such balance
    is checked by date after all the entry's legs (so an entry is checked on its net), from
    `on` through every later date."""
    check_balanced(postings, what)
    guarded = {p.account for p in postings if must_not_go_negative(p.account)}
    by_date = False
    if guarded:
        if on is None:
            raise RuntimeError(f"{what}: postings to {sorted(guarded)} need their date")
        by_date = charter_at(state)[1].rules_from(2)
    for p in postings:
        new = balance(state, p.account) + p.amount_cents
        if p.account in guarded:
            assert on is not None
            if not by_date and p.account == FUND and new < 0:
                raise RuleViolationError(
                    f"{what}: the fund holds {format_eur(balance(state, FUND))}, "
                    f"short by {format_eur(-new)}"
                )
            dated.add(state, p.account, on, p.amount_cents)
        state.put("balance", p.account, {"cents": new})
    if by_date:
        assert on is not None
        for account in sorted(guarded):
            net = sum(p.amount_cents for p in postings if p.account == account)
            if net >= 0:
                continue  # money coming in never makes a balance lower on any date
            lowest, lowest_on = dated.lowest_from(state, account, on)
            if lowest < 0 and account == FUND:
                raise RuleViolationError(
                    f"{what}: the {account} would hold {format_eur(lowest)} on {lowest_on}, "
                    f"short by {format_eur(-lowest)}"
                )
            if lowest < 0:
                raise RuleViolationError(
                    f"{what}: {account} would be {format_eur(lowest)} on {lowest_on}, "
                    f"{format_eur(-lowest)} more paid than owed by then"
                )
