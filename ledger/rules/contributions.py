"""Area contributions: one signed entry per monthly run over every home and workspace in use."""

# Decisions (sources of "in use", idempotency, payment allocation, accounts):
# docs/decisions/0007-levy-contributions-gem.md.

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from ledger.command import Command, Fact
from ledger.errors import RuleViolation
from ledger.money import MAX_CENTS, format_eur
from ledger.postings import Posting, post, transfer
from ledger.state import Ctx, Record, State, charter_at, kind, load_kinds
from ledger.types import FROZEN, Ident, Month, validated

SubjectKind = Literal["home", "dwelling", "workspace"]
SUBJECT_KINDS: tuple[SubjectKind, ...] = ("home", "dwelling", "workspace")

RECEIVABLE = "contribution:receivable"
GEM_INCOME = "gem:contribution"
GEM_CASH = "gem:contribution:cash"

PositiveCents = Annotated[int, Field(gt=0, le=MAX_CENTS, strict=True)]
Ref = Annotated[str, Field(min_length=1, max_length=200)]
District = Annotated[str, Field(min_length=1, max_length=100)]


@dataclass(frozen=True)
class ChargeLine:
    """One subject in use in a month, as a source reports it (the amount comes from the charter)."""

    subject: str
    subject_kind: SubjectKind
    district: str
    member: str | None = None


ContributionSource = Callable[[State, str], list[ChargeLine]]
"""(state, "YYYY-MM") -> the subjects in use that month."""

CONTRIBUTION_SOURCES: list[ContributionSource] = []


def contribution_source(fn: ContributionSource) -> ContributionSource:
    """Register a source of subjects in use (idempotent, so a module re-import adds nothing)."""
    if fn not in CONTRIBUTION_SOURCES:
        CONTRIBUTION_SOURCES.append(fn)
    return fn


class AlreadyCharged(RuleViolation):
    """The month was charged before: the run is refused and names the original entry."""

    def __init__(self, month: str, seq: int) -> None:
        super().__init__(f"contribution for {month} was already charged at entry {seq}")
        self.month = month
        self.seq = seq


class ContributionLine(BaseModel):
    model_config = FROZEN
    subject: Ident
    subject_kind: SubjectKind
    district: District
    member: Ident | None = None
    amount_cents: PositiveCents


class ContributionCharged(BaseModel):
    """A month's run: every subject in use, with the charter's amount, as one entry."""

    model_config = FROZEN
    month: Month
    charter_seq: int = Field(ge=0, strict=True)
    lines: tuple[ContributionLine, ...] = Field(min_length=1)
    total_cents: PositiveCents
    postings: tuple[Posting, ...]


class Allocation(BaseModel):
    model_config = FROZEN
    subject: Ident
    month: Month
    amount_cents: PositiveCents


class PaymentArgs(BaseModel):
    """What a payer names: a subject (optionally one month) or a member, an amount and a ref."""

    model_config = FROZEN
    subject: Ident | None = None
    month: Month | None = None
    member: Ident | None = None
    amount_cents: PositiveCents
    ref: Ref

    @model_validator(mode="after")
    def _one_payer(self) -> PaymentArgs:
        if (self.subject is None) == (self.member is None):
            raise ValueError("name either a subject or a member, not both or neither")
        if self.month is not None and self.subject is None:
            raise ValueError("a month can only be named together with a subject")
        return self


class ContributionPaid(PaymentArgs):
    """A payment, with how it was spread over the open charges (oldest first)."""

    allocations: tuple[Allocation, ...] = Field(min_length=1)
    postings: tuple[Posting, ...]


# -- reading the state -------------------------------------------------------------------------


def month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def month_end(month: str) -> date:
    year, mon = int(month[:4]), int(month[5:7])
    return date(year, mon, calendar.monthrange(year, mon)[1])


def lines_in_use(state: State, month: str) -> tuple[tuple[ContributionLine, ...], int]:
    """The lines a run for `month` charges now, and the charter seq their amounts come from."""
    charter_seq, charter = charter_at(state)
    amounts = {
        "home": charter.contribution.home_monthly_cents,
        "dwelling": charter.contribution.home_monthly_cents,
        "workspace": charter.contribution.workspace_monthly_cents,
    }
    # Keyed by id and kind: ids of two kinds may coincide in a ledger written under a version-1
    # charter (docs/RULES.md §3); both things are charged, each on its own line.
    seen: dict[tuple[str, str], ContributionLine] = {}
    # Every part registers its source when its module is imported; a command-line process
    # imports only what its command needs, so load them all before the first line is counted.
    load_kinds()
    for source in CONTRIBUTION_SOURCES:
        for line in source(state, month):
            amount = amounts[line.subject_kind]
            key = (line.subject, line.subject_kind)
            if key in seen or amount == 0:
                continue
            seen[key] = validated(
                ContributionLine,
                subject=line.subject,
                subject_kind=line.subject_kind,
                district=line.district,
                member=line.member,
                amount_cents=amount,
            )
    return tuple(seen[s] for s in sorted(seen)), charter_seq


def run_of(state: State, month: str) -> Record | None:
    return state.get("contribution-run", month)


def runs(state: State) -> Iterator[tuple[str, Record]]:
    """Every month run so far, by month, with its record (the entry's seq among it)."""
    return state.scan("contribution-run")


def subject_record(state: State, subject: str) -> Record | None:
    return state.get("contribution", subject)


def record_of(state: State, subject: str, subject_kind: str) -> tuple[str, Record | None]:
    """Where a subject's charges are kept, and the record there: under its id, or, for an id
    that a version-1 ledger gave to a second kind of thing (RULES.md §3), under
    "<id>/<kind>" (no id holds a "/")."""
    plain = subject_record(state, subject)
    if plain is None or plain["subject_kind"] == subject_kind:
        return subject, plain
    key = f"{subject}/{subject_kind}"
    return key, subject_record(state, key)


def subject_of(key: str) -> str:
    return key.partition("/")[0]


def _subject_records(state: State, subject: str) -> list[tuple[str, Record]]:
    """Every record of an id, with its key: its own, and one per further kind of an old
    collision."""
    keys = [subject, *(f"{subject}/{k}" for k in SUBJECT_KINDS)]
    found = ((key, subject_record(state, key)) for key in keys)
    return [(key, record) for key, record in found if record is not None]


def _open_items(
    state: State, body_subject: str | None, month: str | None, member: str | None, paid_on: date
) -> list[tuple[str, str, str, int]]:
    """(month, subject, record key, cents due) a payment may cover, oldest first."""
    items: list[tuple[str, str, str, int]] = []
    if body_subject is not None:
        records = _subject_records(state, body_subject)
        if not records:
            raise RuleViolation(f"subject {body_subject} was never charged a contribution")
        for key, record in records:
            for m, due in record["open"].items():
                if month is None or m == month:
                    items.append((m, body_subject, key, int(due["cents"])))
        if month is not None and not items:
            raise RuleViolation(f"subject {body_subject}: nothing is due for {month}")
    else:
        assert member is not None
        index = state.get("contribution-payer", member)
        if index is None:
            raise RuleViolation(f"member {member} was never charged a contribution")
        for key in index["subjects"]:
            charged = subject_record(state, key)
            assert charged is not None
            for m, due in charged["open"].items():
                if due["member"] == member:
                    items.append((m, subject_of(key), key, int(due["cents"])))
    return sorted(i for i in items if month_start(i[0]) <= paid_on)


def allocate(
    state: State,
    subject: str | None,
    month: str | None,
    member: str | None,
    amount_cents: int,
    paid_on: date,
) -> tuple[Allocation, ...]:
    """Spread a payment over the open charges, oldest month first; refuse an overpayment."""
    return tuple(a for a, _ in _allocate(state, subject, month, member, amount_cents, paid_on))


def _allocate(
    state: State,
    subject: str | None,
    month: str | None,
    member: str | None,
    amount_cents: int,
    paid_on: date,
) -> list[tuple[Allocation, str]]:
    """The allocations, each with the key of the record it pays."""
    items = _open_items(state, subject, month, member, paid_on)
    who = f"subject {subject}" if subject is not None else f"member {member}"
    if month is not None:
        who += f" for {month}"
    due = sum(cents for _, _, _, cents in items)
    if due == 0:
        raise RuleViolation(f"{who}: nothing is due on or before {paid_on}")
    if amount_cents > due:
        raise RuleViolation(
            f"{who}: payment {format_eur(amount_cents)} is more than the "
            f"{format_eur(due)} due on {paid_on}"
        )
    out: list[tuple[Allocation, str]] = []
    left = amount_cents
    for m, s, key, cents in items:
        if left == 0:
            break
        part = min(left, cents)
        out.append((Allocation(subject=s, month=m, amount_cents=part), key))
        left -= part
    return out


# -- appliers ----------------------------------------------------------------------------------


@kind("contribution.charged", role="levy-admin", body=ContributionCharged)
def _charged(state: State, body: ContributionCharged, ctx: Ctx) -> None:
    previous = run_of(state, body.month)
    if previous is not None:
        raise AlreadyCharged(body.month, int(previous["seq"]))
    if ctx.effective < month_start(body.month):
        raise RuleViolation(
            f"contribution for {body.month} cannot be charged on {ctx.effective}, "
            f"before the month begins"
        )
    lines, charter_seq = lines_in_use(state, body.month)
    if body.charter_seq != charter_seq:
        raise RuleViolation(
            f"contribution for {body.month}: charter_seq is {body.charter_seq}, "
            f"the charter in force was adopted at entry {charter_seq}"
        )
    if body.lines != lines:
        raise RuleViolation(
            f"contribution for {body.month}: the lines differ from the homes and workspaces in "
            f"use ({_first_difference(body.lines, lines)})"
        )
    total = sum(line.amount_cents for line in lines)
    if body.total_cents != total:
        raise RuleViolation(
            f"contribution for {body.month}: total {format_eur(body.total_cents)} recorded, "
            f"the lines add up to {format_eur(total)}"
        )
    expected = transfer(RECEIVABLE, GEM_INCOME, total)
    if body.postings != expected:
        raise RuleViolation(f"contribution for {body.month}: postings are not {_show(expected)}")
    post(state, body.postings, f"contribution for {body.month}")
    for line in lines:
        key, found = record_of(state, line.subject, line.subject_kind)
        record = found or {
            "subject_kind": line.subject_kind,
            "district": line.district,
            "open": {},
            "charged_cents": 0,
            "paid_cents": 0,
        }
        record["subject_kind"] = line.subject_kind
        record["district"] = line.district
        record["member"] = line.member
        record["open"] = {
            **record["open"],
            body.month: {"cents": line.amount_cents, "member": line.member, "seq": ctx.seq},
        }
        record["charged_cents"] = int(record["charged_cents"]) + line.amount_cents
        state.put("contribution", key, record)
        if line.member is not None:
            index = state.get("contribution-payer", line.member) or {"subjects": []}
            if key not in index["subjects"]:
                state.put(
                    "contribution-payer",
                    line.member,
                    {"subjects": sorted([*index["subjects"], key])},
                )
    state.put(
        "contribution-run",
        body.month,
        {
            "seq": ctx.seq,
            "total_cents": total,
            "lines": len(lines),
            "effective": ctx.effective.isoformat(),
        },
    )


@kind("contribution.paid", role="levy-admin", body=ContributionPaid)
def _paid(state: State, body: ContributionPaid, ctx: Ctx) -> None:
    keyed = _allocate(
        state, body.subject, body.month, body.member, body.amount_cents, ctx.effective
    )
    expected = tuple(a for a, _ in keyed)
    if body.allocations != expected:
        raise RuleViolation(
            f"contribution payment {body.ref}: allocations differ from the open charges, "
            f"oldest first ({_first_difference(body.allocations, expected)})"
        )
    postings = transfer(GEM_CASH, RECEIVABLE, body.amount_cents)
    if body.postings != postings:
        raise RuleViolation(f"contribution payment {body.ref}: postings are not {_show(postings)}")
    post(state, body.postings, f"contribution payment {body.ref}")
    for part, key in keyed:
        record = subject_record(state, key)
        assert record is not None
        due = record["open"][part.month]
        left = int(due["cents"]) - part.amount_cents
        open_ = dict(record["open"])
        if left == 0:
            # Settled months leave the record, so it stays small however long the subject pays.
            del open_[part.month]
        else:
            open_[part.month] = {**due, "cents": left}
        record["open"] = open_
        record["paid_cents"] = int(record["paid_cents"]) + part.amount_cents
        state.put("contribution", key, record)


def _first_difference(recorded: tuple[BaseModel, ...], computed: tuple[BaseModel, ...]) -> str:
    for i, (a, b) in enumerate(zip(recorded, computed, strict=False)):
        if a != b:
            return f"item {i}: recorded {_brief(a)}, computed {_brief(b)}"
    return f"{len(recorded)} recorded, {len(computed)} computed"


def _brief(model: BaseModel) -> str:
    return " ".join(f"{k}={v}" for k, v in model.model_dump(mode="json").items() if v is not None)


def _show(postings: tuple[Posting, ...]) -> str:
    return ", ".join(f"{p.account} {format_eur(p.amount_cents)}" for p in postings)


# -- commands ----------------------------------------------------------------------------------


def charge_month(month: str, effective: date) -> Command:
    """Charge every home and workspace in use in `month`, as one entry."""

    def decide(state: State, _ctx: Ctx) -> Fact:
        valid = validated(_MonthArg, month=month).month
        previous = run_of(state, valid)
        if previous is not None:
            raise AlreadyCharged(valid, int(previous["seq"]))
        lines, charter_seq = lines_in_use(state, valid)
        if not lines:
            raise RuleViolation(f"no home or workspace is in use in {valid}: nothing to charge")
        total = sum(line.amount_cents for line in lines)
        body = ContributionCharged(
            month=valid,
            charter_seq=charter_seq,
            lines=lines,
            total_cents=total,
            postings=transfer(RECEIVABLE, GEM_INCOME, total),
        )
        return Fact("contribution.charged", body, effective)

    return Command(
        "contribution.charge", {"month": month, "effective": effective.isoformat()}, decide
    )


class _MonthArg(BaseModel):
    model_config = FROZEN
    month: Month


def pay_contribution(
    amount_cents: int,
    paid_on: date,
    ref: str,
    *,
    subject: str | None = None,
    month: str | None = None,
    member: str | None = None,
) -> Command:
    """Record a contribution payment for a subject (optionally one month) or a member."""

    def decide(state: State, _ctx: Ctx) -> Fact:
        payment = validated(
            PaymentArgs,
            subject=subject,
            month=month,
            member=member,
            amount_cents=amount_cents,
            ref=ref,
        )
        allocations = allocate(
            state, payment.subject, payment.month, payment.member, amount_cents, paid_on
        )
        body = ContributionPaid(
            **payment.model_dump(),
            allocations=allocations,
            postings=transfer(GEM_CASH, RECEIVABLE, amount_cents),
        )
        return Fact("contribution.paid", body, paid_on)

    args: dict[str, Any] = {
        "amount_cents": amount_cents,
        "paid_on": paid_on.isoformat(),
        "ref": ref,
        "subject": subject,
        "month": month,
        "member": member,
    }
    return Command("contribution.pay", args, decide)


# -- reports -----------------------------------------------------------------------------------


def arrears(state: State, on: date | None = None) -> Iterator[dict[str, Any]]:
    """Every open charge (per subject and month), oldest first within a subject; a report."""
    for key, record in state.scan("contribution"):
        subject = subject_of(key)
        for month in sorted(record["open"]):
            if on is not None and month_start(month) > on:
                continue
            due = record["open"][month]
            yield {
                "subject": subject,
                "subject_kind": record["subject_kind"],
                "district": record["district"],
                "month": month,
                "member": due["member"],
                "due_cents": int(due["cents"]),
                "charged_seq": int(due["seq"]),
            }
