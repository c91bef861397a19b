"""Area contributions: one signed entry per monthly run over every home and workspace in use."""

# Decisions (sources of "in use", idempotency, payment allocation, accounts):
# docs/decisions/0007-levy-contributions-gem.md.

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from ledger.charter import Charter
from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import RuleViolationError
from ledger.money import MAX_CENTS, format_eur, round_to_cents
from ledger.postings import Posting, post, transfer
from ledger.state import Ctx, Record, State, charter_at, kind, load_kinds
from ledger.types import FROZEN, Ident, Month, edition_2, validated

SubjectKind = Literal["home", "dwelling", "workspace", "workplace"]
SUBJECT_KINDS: tuple[SubjectKind, ...] = ("home", "dwelling", "workspace", "workplace")

RECEIVABLE = "contribution:receivable"
# Edition 1: the contributions are the GEM's. Edition 2: the charter's beneficiary's.
GEM_INCOME = "gem:contribution"
GEM_CASH = "gem:contribution:cash"
WORKPLACES = "workplaces"
DEBTOR = "contribution-debtor"
MAX_WORKPLACES = 1_000_000


def income_account(beneficiary: str | None) -> str:
    return GEM_INCOME if beneficiary is None else f"beneficiary:{beneficiary}:contribution"


def cash_account(beneficiary: str | None) -> str:
    return GEM_CASH if beneficiary is None else f"beneficiary:{beneficiary}:contribution:cash"


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


class AlreadyChargedError(RuleViolationError):
    """The month was charged before: the run is refused and names the original entry."""

    def __init__(self, month: str, seq: int) -> None:
        super().__init__(f"contribution for {month} was already charged at entry {seq}")
        self.month = month
        self.seq = seq


class ContributionLine(BaseModel):
    """One charge. Edition 2 adds the debtor (every line names one), the number of
    workplaces of a business line, and the days in use when the charter's part-month
    policy is pro-rata."""

    model_config = FROZEN
    subject: Ident
    subject_kind: SubjectKind
    district: District
    member: Ident | None = None
    amount_cents: PositiveCents
    debtor: Ident | None = edition_2()
    workplaces: int | None = edition_2(ge=1, le=MAX_WORKPLACES, strict=True)
    days: int | None = edition_2(ge=1, le=31, strict=True)


class ContributionCharged(BaseModel):
    """A month's run: every subject in use, with the charter's amount, as one entry.
    Edition 2 names the beneficiary and the part-month policy the amounts follow."""

    model_config = FROZEN
    month: Month
    charter_seq: int = Field(ge=0, strict=True)
    lines: tuple[ContributionLine, ...] = Field(min_length=1)
    total_cents: PositiveCents
    postings: tuple[Posting, ...]
    beneficiary: Ident | None = edition_2()
    part_month: Literal["whole-month", "pro-rata"] | None = edition_2()


class WorkplacesRegistered(BaseModel):
    """A business's number of workplaces in the area from the entry's effective date on
    (edition 2); 0 when it stops."""

    model_config = FROZEN
    member_id: Ident
    district: District
    workplaces: int = Field(ge=0, le=MAX_WORKPLACES, strict=True)


class DebtorNamed(BaseModel):
    """Who owes a home's contribution from the entry's effective date on (edition 2): its
    owner, by an id whose personal data stays outside the signed entries, like a member's."""

    model_config = FROZEN
    subject: Ident
    debtor: Ident


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
    if charter.rules_from(2):
        return _lines_edition_2(state, month, charter), charter_seq
    amounts = {
        "home": charter.contribution.home_monthly_cents,
        "dwelling": charter.contribution.home_monthly_cents,
        "workspace": charter.contribution.workspace_monthly_cents,
    }
    # Keyed by id and kind: ids of two kinds may coincide in a ledger written under a version-1
    # charter (docs/RULES.md §3); both things are charged, each on its own line.
    seen: dict[tuple[str, str], ContributionLine] = {}
    # Every part registers its source when its module is imported; a command-line process
    # imports only what its command needs, so load the registry of kinds (ledger/kinds.py,
    # which imports every rules module) before the first line is counted.
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


# -- edition 2: every home and every workplace, each charge naming its debtor ------------------


_DAY = timedelta(days=1)


def _rows_in(rows: list[list[Any]], first: date, last: date) -> Iterator[tuple[date, date, Any]]:
    """Date-ordered rows [[from, value, ...], ...] (each in force until the next one's date)
    as the segments (first day, last day, row) that fall in [first, last]."""
    for row, following in zip(rows, [*rows[1:], None], strict=True):
        start = max(date.fromisoformat(row[0]), first)
        end = last if following is None else min(date.fromisoformat(following[0]) - _DAY, last)
        if start <= end:
            yield start, end, row


def workplace_lines(state: State, month: str) -> list[ChargeLine]:
    """Businesses with at least one workplace on some day of the month (edition 2)."""
    first, last = month_start(month), month_end(month)
    out = []
    for member_id, record in state.scan(WORKPLACES):
        used = [row for _s, _e, row in _rows_in(record["rows"], first, last) if int(row[1]) > 0]
        if used:
            out.append(ChargeLine(member_id, "workplace", used[-1][2], member_id))
    return out


def _workplace_amount(
    state: State, member_id: str, first: date, last: date
) -> tuple[int, int, int]:
    """(most workplaces on a day of the month, workplace-days, days with any) of a business."""
    record = state.get(WORKPLACES, member_id)
    assert record is not None
    most = workplace_days = days = 0
    for start, end, row in _rows_in(record["rows"], first, last):
        count, span = int(row[1]), (end - start).days + 1
        if count > 0:
            most = max(most, count)
            workplace_days += count * span
            days += span
    return most, workplace_days, days


def _home_days(state: State, subject: str, first: date, last: date) -> int:
    delivered = date.fromisoformat(state.get("property", subject)["delivered"])  # type: ignore[index]
    return (last - max(delivered, first)).days + 1


def _dwelling_days(state: State, subject: str, first: date, last: date) -> int:
    from ledger.rules.shares import holding_rows  # shares imports this module

    rows = [[r["on"], r["holder"]] for r in holding_rows(state.get("dwelling", subject) or {})]
    return sum((e - b).days + 1 for b, e, row in _rows_in(rows, first, last) if row[1] is not None)


def debtor_on(state: State, subject: str, on: date) -> str | None:
    """The debtor named for a home on a day (the latest naming dated on or before it)."""
    record = state.get(DEBTOR, subject)
    found = None
    for day, debtor, _seq in record["rows"] if record else ():
        if date.fromisoformat(day) <= on:
            found = debtor
    return found


def _lines_edition_2(state: State, month: str, charter: Charter) -> tuple[ContributionLine, ...]:
    """Edition 2: every home (levy-bound homes and member-held dwellings) and every workplace
    of a business, each line naming its debtor; Werkcorporatie workspaces are charged
    through their tenants' workplaces. Whole months, or pro rata by days, as the charter says."""
    first, last = month_start(month), month_end(month)
    in_month = last.day
    pro_rata = charter.contribution.part_month == "pro-rata"
    rounding = charter.cooperative.rounding
    load_kinds()
    found = [
        line
        for source in CONTRIBUTION_SOURCES
        for line in source(state, month)
        if line.subject_kind != "workspace"
    ]
    # Keyed by id and kind: an id given to two kinds under a version-1 charter (RULES.md §3)
    # is charged once per kind, each on its own line.
    seen: dict[tuple[str, str], ChargeLine] = {}
    for line in [*found, *workplace_lines(state, month)]:
        seen.setdefault((line.subject, line.subject_kind), line)
    out = []
    for subject, _kind in sorted(seen):
        line = seen[(subject, _kind)]
        count: int | None = None
        if line.subject_kind == "workplace":
            count, workplace_days, days = _workplace_amount(state, subject, first, last)
            monthly = charter.contribution.workspace_monthly_cents
            debtor: str | None = subject
            units = workplace_days if pro_rata else count * in_month
        else:
            monthly = charter.contribution.home_monthly_cents
            if line.subject_kind == "home":
                days = _home_days(state, subject, first, last)
                debtor = debtor_on(state, subject, last)
                if debtor is None:
                    raise RuleViolationError(
                        f"contribution for {month}: home {subject} has no debtor named on or "
                        f"before {last.isoformat()}; name its owner first (contribution debtor)"
                    )
            else:
                days = _dwelling_days(state, subject, first, last)
                debtor = line.member
            units = days if pro_rata else in_month
        # monthly x units / days in the month, in cents; rounded once by the charter's rule.
        amount = round_to_cents(Decimal(monthly * units) / (in_month * 100), rounding)
        if amount == 0:
            continue
        out.append(
            validated(
                ContributionLine,
                subject=subject,
                subject_kind=line.subject_kind,
                district=line.district,
                member=line.member,
                amount_cents=amount,
                debtor=debtor,
                workplaces=count,
                days=days if pro_rata else None,
            )
        )
    return tuple(out)


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
            raise RuleViolationError(f"subject {body_subject} was never charged a contribution")
        for key, record in records:
            for m, due in record["open"].items():
                if month is None or m == month:
                    items.append((m, body_subject, key, int(due["cents"])))
        if month is not None and not items:
            raise RuleViolationError(f"subject {body_subject}: nothing is due for {month}")
    else:
        assert member is not None
        index = state.get("contribution-payer", member)
        if index is None:
            raise RuleViolationError(f"member {member} was never charged a contribution")
        for key in index["subjects"]:
            charged = subject_record(state, key)
            assert charged is not None
            for m, due in charged["open"].items():
                if due["member"] == member:
                    items.append((m, subject_of(key), key, int(due["cents"])))
    if not charter_at(state)[1].rules_from(2):
        return sorted(i for i in items if month_start(i[0]) <= paid_on)
    # Edition 2: only a charge already made on the payment's date (its run dated on or before
    # it); a payment before its charge would leave what is owed negative on the dates between.
    made = sorted(i for i in items if _charged_on(state, i[0]) <= paid_on)
    later = sorted(i for i in items if _charged_on(state, i[0]) > paid_on)
    if not made and later:
        m, s, _key, _cents = later[0]
        raise RuleViolationError(
            f"subject {s}: the charge for {m} is dated {_charged_on(state, m)}, after the "
            f"payment on {paid_on}; a payment cannot come before the charge it pays"
        )
    return made


def _charged_on(state: State, month: str) -> date:
    run = run_of(state, month)
    assert run is not None  # an open charge was made by its month's run
    return date.fromisoformat(run["effective"])


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
        raise RuleViolationError(f"{who}: nothing is due on or before {paid_on}")
    if amount_cents > due:
        raise RuleViolationError(
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


@kind("contribution.charged")
def _charged(state: State, body: ContributionCharged, ctx: Ctx) -> None:
    previous = run_of(state, body.month)
    if previous is not None:
        raise AlreadyChargedError(body.month, int(previous["seq"]))
    if ctx.effective < month_start(body.month):
        raise RuleViolationError(
            f"contribution for {body.month} cannot be charged on {ctx.effective}, "
            f"before the month begins"
        )
    lines, charter_seq = lines_in_use(state, body.month)
    if body.charter_seq != charter_seq:
        raise RuleViolationError(
            f"contribution for {body.month}: charter_seq is {body.charter_seq}, "
            f"the charter in force was adopted at entry {charter_seq}"
        )
    if body.lines != lines:
        raise RuleViolationError(
            f"contribution for {body.month}: the lines differ from the homes and workspaces in "
            f"use ({_first_difference(body.lines, lines)})"
        )
    total = sum(line.amount_cents for line in lines)
    if body.total_cents != total:
        raise RuleViolationError(
            f"contribution for {body.month}: total {format_eur(body.total_cents)} recorded, "
            f"the lines add up to {format_eur(total)}"
        )
    _, charter = charter_at(state)
    terms = _edition_2_terms(charter)
    if (body.beneficiary, body.part_month) != terms:
        raise RuleViolationError(
            f"contribution for {body.month}: expected beneficiary and part-month policy "
            f"{terms}, found {(body.beneficiary, body.part_month)}"
        )
    expected = transfer(RECEIVABLE, income_account(body.beneficiary), total)
    if body.postings != expected:
        raise RuleViolationError(
            f"contribution for {body.month}: postings are not {_show(expected)}"
        )
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
        # Who pays: the debtor (edition 2), else the member the line names.
        payer = line.debtor or line.member
        record["open"] = {
            **record["open"],
            body.month: {"cents": line.amount_cents, "member": payer, "seq": ctx.seq},
        }
        record["charged_cents"] = int(record["charged_cents"]) + line.amount_cents
        state.put("contribution", key, record)
        if payer is not None:
            index = state.get("contribution-payer", payer) or {"subjects": []}
            if key not in index["subjects"]:
                state.put(
                    "contribution-payer",
                    payer,
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


@kind("contribution.paid")
def _paid(state: State, body: ContributionPaid, ctx: Ctx) -> None:
    keyed = _allocate(
        state, body.subject, body.month, body.member, body.amount_cents, ctx.effective
    )
    expected = tuple(a for a, _ in keyed)
    if body.allocations != expected:
        raise RuleViolationError(
            f"contribution payment {body.ref}: allocations differ from the open charges, "
            f"oldest first ({_first_difference(body.allocations, expected)})"
        )
    postings = transfer(_cash(state), RECEIVABLE, body.amount_cents)
    if body.postings != postings:
        raise RuleViolationError(
            f"contribution payment {body.ref}: postings are not {_show(postings)}"
        )
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


def _edition_2_terms(charter: Charter) -> tuple[str | None, Any]:
    """(beneficiary, part-month policy) a run records under the charter; (None, None) in
    edition 1, where the contributions are the GEM's and any day charges the whole month."""
    if not charter.rules_from(2):
        return None, None
    return charter.contribution.beneficiary, charter.contribution.part_month


def _cash(state: State) -> str:
    """The account a contribution payment is paid into: the beneficiary's of the charter in
    force at the payment (edition 2), else the GEM's."""
    return cash_account(_edition_2_terms(charter_at(state)[1])[0])


# -- edition 2: workplaces and debtors ------------------------------------------------------


def _edition_2_only(state: State, what: str) -> Charter:
    charter_seq, charter = charter_at(state)
    if not charter.rules_from(2):
        raise RuleViolationError(
            f"{what} applies from charter version 2; the charter in force (entry "
            f"{charter_seq}) is version {charter.version}"
        )
    return charter


@kind("workplaces.registered")
def _workplaces(state: State, body: WorkplacesRegistered, ctx: Ctx) -> None:
    mid = body.member_id
    charter = _edition_2_only(state, f"member {mid}: a number of workplaces")
    member = state.get("member", mid)
    if member is None:
        raise RuleViolationError(f"unknown member {mid}")
    if member["member_kind"] != "business":
        raise RuleViolationError(
            f"member {mid}: expected a business to register workplaces, "
            f"found member kind {member['member_kind']!r}"
        )
    if body.district not in charter.cooperative.districts:
        raise RuleViolationError(
            f"member {mid}: district {body.district!r} is not one of the charter's districts "
            f"({', '.join(charter.cooperative.districts)})"
        )
    if not _dated_rows(state, WORKPLACES, mid) and body.workplaces == 0:
        raise RuleViolationError(
            f"member {mid}: expected at least 1 workplace at the first registration"
        )
    row = [ctx.effective.isoformat(), body.workplaces, body.district, ctx.seq]
    _add_dated_row(state, WORKPLACES, mid, row, f"member {mid}: expected a workplace count")


@kind("contribution.debtor-named")
def _debtor_named(state: State, body: DebtorNamed, ctx: Ctx) -> None:
    subject = body.subject
    _edition_2_only(state, f"home {subject}: naming a debtor")
    prop = state.get("property", subject)
    if prop is None or prop["property_kind"] != "home":
        found = "no property" if prop is None else f"a property of kind {prop['property_kind']}"
        raise RuleViolationError(
            f"{subject}: expected a levy-bound home to name a debtor for, found {found}"
        )
    row = [ctx.effective.isoformat(), body.debtor, ctx.seq]
    _add_dated_row(state, DEBTOR, subject, row, f"home {subject}: expected a debtor")


def _dated_rows(state: State, ns: str, key: str) -> list[list[Any]]:
    record = state.get(ns, key)
    return [] if record is None else list(record["rows"])


def _add_dated_row(state: State, ns: str, key: str, row: list[Any], expected: str) -> None:
    """Append a row that takes effect from its date (row[0]) to the record's dated rows,
    which only grow forward in time."""
    rows = _dated_rows(state, ns, key)
    if rows and row[0] <= rows[-1][0]:
        raise RuleViolationError(
            f"{expected} dated after its last one ({rows[-1][0]}), found {row[0]}"
        )
    state.put(ns, key, {"rows": [*rows, row]})


def register_workplaces(member_id: str, district: str, workplaces: int, effective: date) -> Command:
    """Record a business's number of workplaces in the area from `effective` on (0: none)."""
    body = validated(
        WorkplacesRegistered, member_id=member_id, district=district, workplaces=workplaces
    )
    args = {**body.model_dump(mode="json"), "effective": effective.isoformat()}
    return LegacyCommand(
        "workplaces.register",
        args,
        lambda _s, _c: Fact("workplaces.registered", body, effective),
    )


def name_debtor(subject: str, debtor: str, effective: date) -> Command:
    """Name who owes a home's contribution from `effective` on (its owner)."""
    body = validated(DebtorNamed, subject=subject, debtor=debtor)
    args = {**body.model_dump(mode="json"), "effective": effective.isoformat()}
    return LegacyCommand(
        "contribution.name-debtor",
        args,
        lambda _s, _c: Fact("contribution.debtor-named", body, effective),
    )


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
            raise AlreadyChargedError(valid, int(previous["seq"]))
        lines, charter_seq = lines_in_use(state, valid)
        if not lines:
            raise RuleViolationError(
                f"no home or workspace is in use in {valid}: nothing to charge"
            )
        total = sum(line.amount_cents for line in lines)
        beneficiary, part_month = _edition_2_terms(charter_at(state)[1])
        body = ContributionCharged(
            month=valid,
            charter_seq=charter_seq,
            lines=lines,
            total_cents=total,
            postings=transfer(RECEIVABLE, income_account(beneficiary), total),
            beneficiary=beneficiary,
            part_month=part_month,
        )
        return Fact("contribution.charged", body, effective)

    return LegacyCommand(
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
            postings=transfer(_cash(state), RECEIVABLE, amount_cents),
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
    return LegacyCommand("contribution.pay", args, decide)


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
