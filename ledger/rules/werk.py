"""Werkcorporatie: workspaces, the waiting list and affordable leases, checked by lease_rules.

Namespaces (records are JSON objects; dates ISO strings, money int cents):

- `workspace`: workspace id -> district, area_m2, market_rent_cents_per_m2_year,
  registered_seq, registered_on, and `leases`: [[lease id, member id, start, end], ...],
  the workspace's own leases, so the overlap check reads one record, never every lease.
- `application`: the OPEN applications only, keyed by the zero-padded seq of the
  `lease.applied` entry, so a scan is the waiting list in queue order and stays small.
- `applicant`: member id -> {"application_seq": n}: a member has at most one open application.
- `lease`: lease id ("L-<seq of the grant entry>") -> workspace_id, member_id,
  start, end (exclusive, see lease_rules), agreed_end, rent_cents_per_month, rents (the
  rent history [[date, cents], ...]), charter_seq (the charter version the lease was made
  under: indexations keep reading it), last_change, status ("granted" | "ended"),
  exception, application_seq, granted_seq, ended.

Roles: werk-admin records everything, except a grant out of waiting-list order, which needs
the role the charter in force names in `lease.exception_role` (default governor; see
docs/decisions/0006-werk-exceptions.md). Every kind keeps one fixed role, so the registry and
`apply` check it as for any kind; the exception role is expressed by the kind: a grant is
`lease.granted` (werk-admin) or `lease.exception-granted` (governor), and a grant carrying an
exception is accepted only under the kind whose role the charter names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ledger.charter import Charter, Role
from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import AuthorizationError, InputError, NotFoundError, RuleViolationError
from ledger.money import MAX_CENTS, format_eur, rate_str
from ledger.rules.contributions import ChargeLine, contribution_source, run_of
from ledger.rules.corrections import cannot_reverse, remember
from ledger.rules.ids import check_unique
from ledger.rules.index_series import index_lookup
from ledger.rules.lease_rules import (
    Applicant,
    LeaseCaps,
    RozIndexation,
    Workspace,
    affordable_share,
    check_allocation,
    check_eligible,
    check_indexation,
    check_no_overlap,
    check_rent,
    check_roz_rent,
    check_term,
    lease_end_by_law,
    overlaps,
    rent_cap_cents,
    roz_indexation,
    roz_months,
)
from ledger.rules.members import add_history, get_member
from ledger.state import Ctx, Record, State, charter_at, kind, reverser
from ledger.types import FROZEN, DecimalStr, Ident, Month, edition_2, validated

NS_WORKSPACE = "workspace"
NS_APPLICATION = "application"
NS_APPLICANT = "applicant"
NS_LEASE = "lease"
NS_WITHDRAWN = "application-withdrawn"  # closed by a withdrawal, kept for its correction
WERK_ADMIN: Role = "werk-admin"
GRANT_KINDS: dict[Role, str] = {
    WERK_ADMIN: "lease.granted",
    "governor": "lease.exception-granted",
}
ENDED = "ended"
GRANTED = "granted"
CORRECTED = "corrected"  # a grant undone by a correction: the lease never was

# Strict JSON integers in the exact range of RFC 8785 numbers; the domain ranges (a positive
# area, 0 < min_m2 <= max_m2, a positive rent) are rules, so their refusals name the value.
Int = Annotated[int, Field(ge=-MAX_CENTS, le=MAX_CENTS, strict=True)]
Seq = Annotated[int, Field(ge=0, le=MAX_CENTS, strict=True)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
_MONTH_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


# -- bodies ------------------------------------------------------------------------------------


class WorkspaceRegistered(BaseModel):
    model_config = FROZEN
    workspace_id: Ident
    district: str = Field(min_length=1, max_length=100)
    area_m2: Int
    market_rent_cents_per_m2_year: Int


class WorkspaceRevalued(BaseModel):
    """A new market rent reference from the entry's effective date on (edition 2)."""

    model_config = FROZEN
    workspace_id: Ident
    market_rent_cents_per_m2_year: Int
    source: Annotated[str, Field(min_length=1, max_length=300)]


LeaseType = Literal["7:230a", "7:290"]


class LeaseApplied(BaseModel):
    """A business joins the waiting list; the entry's effective date is the application date."""

    model_config = FROZEN
    member_id: Ident
    min_m2: Int
    max_m2: Int


class LeaseWithdrawn(BaseModel):
    model_config = FROZEN
    member_id: Ident
    application_seq: Seq
    reason: Reason | None = None


class QueueException(BaseModel):
    """Why the grant departs from waiting-list order, and whom it passed over (computed)."""

    model_config = FROZEN
    reason: Reason
    passed_over_member_id: Ident
    passed_over_application_seq: Seq


class LeaseGranted(BaseModel):
    """A lease over [start, end); lease_id, charter_seq, application_seq and the exception's
    passed-over applicant are computed by the rule and checked again by the applier. The
    lease type (edition 2) decides the term rule; absent under a version-1 charter."""

    model_config = FROZEN
    lease_id: Ident
    workspace_id: Ident
    member_id: Ident
    start: date
    end: date
    rent_cents_per_month: Int
    charter_seq: Seq
    application_seq: Seq
    exception: QueueException | None = None
    lease_type: LeaseType | None = edition_2()


class LeaseIndexed(BaseModel):
    """A rent change from the entry's effective date on. Edition 2: a yearly indexation by
    the ROZ formula, with every input and the caps it was checked against (absent under a
    version-1 charter, where the rent is typed and only capped)."""

    model_config = FROZEN
    lease_id: Ident
    previous_rent_cents_per_month: Int
    rent_cents_per_month: Int
    index_series: Ident | None = edition_2()
    index_month: Month | None = edition_2()
    index_value: DecimalStr | None = edition_2()
    base_month: Month | None = edition_2()
    base_index_value: DecimalStr | None = edition_2()
    formula_cents: Int | None = edition_2()
    ceiling_cents: Int | None = edition_2()
    cap_cents: Int | None = edition_2()


class LeaseEnded(BaseModel):
    """The lease ends early (or on its agreed end): the effective date is the first free day."""

    model_config = FROZEN
    lease_id: Ident
    reason: Reason


# -- reading the state -------------------------------------------------------------------------


def lease_caps(charter: Charter) -> LeaseCaps:
    """The charter's lease parameters in the form lease_rules reads."""
    return LeaseCaps(
        max_rent_ratio=Decimal(charter.lease.max_rent_ratio),
        max_indexation_per_year=Decimal(charter.lease.max_indexation_per_year),
        max_term_years=charter.lease.max_term_years,
        max_founded_years=charter.lease.max_founded_years,
        area_districts=charter.lease_area,
        rounding=charter.cooperative.rounding,
    )


def get_workspace(state: State, workspace_id: str) -> Record:
    record = state.get(NS_WORKSPACE, workspace_id)
    if record is None:
        raise NotFoundError(f"unknown workspace {workspace_id}")
    return record


def get_lease(state: State, lease_id: str) -> Record:
    record = state.get(NS_LEASE, lease_id)
    if record is None:
        raise NotFoundError(f"unknown lease {lease_id}")
    return record


def live_lease(state: State, lease_id: str) -> Record:
    """A lease whose grant stands (was not undone by a correction)."""
    record = get_lease(state, lease_id)
    if record["status"] == CORRECTED:
        raise RuleViolationError(
            f"lease {lease_id}: its grant was corrected at entry {record['corrected_seq']}"
        )
    return record


def market_rent_on(record: Record, on: date | None = None) -> int:
    """The workspace's market rent reference in force on a day (the latest revaluation dated
    on or before it, else the registered one); without a day, the latest."""
    rent = int(record["market_rent_cents_per_m2_year"])
    for day, cents, _seq in record.get("revaluations", ()):
        if on is None or date.fromisoformat(day) <= on:
            rent = int(cents)
    return rent


def workspace_of(workspace_id: str, record: Record, on: date | None = None) -> Workspace:
    """The workspace as the rent rules read it, with its market rent in force on `on`."""
    return Workspace(
        workspace_id=workspace_id,
        district=record["district"],
        area_m2=int(record["area_m2"]),
        market_rent_cents_per_m2_year=market_rent_on(record, on),
    )


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _applicant(state: State, application: Record) -> Applicant:
    # The member's facts are read at decision time, not copied at application time, so a
    # grant always judges the member as the ledger knows it now.
    member = get_member(state, application["member_id"])
    return Applicant(
        member_id=application["member_id"],
        member_kind=member["member_kind"],
        founded=_day(member.get("founded")),
        district=member.get("district"),
        min_m2=int(application["min_m2"]),
        max_m2=int(application["max_m2"]),
        applied_seq=int(application["applied_seq"]),
        applied_on=date.fromisoformat(application["applied_on"]),
    )


def waiting_list(state: State) -> list[Applicant]:
    """The open applications in queue order (the namespace holds open ones only)."""
    return [_applicant(state, record) for _key, record in state.scan(NS_APPLICATION)]


def _app_key(seq: int) -> str:
    return f"{seq:012d}"


def open_application(state: State, member_id: str) -> Record | None:
    pointer = state.get(NS_APPLICANT, member_id)
    if pointer is None:
        return None
    return state.get(NS_APPLICATION, _app_key(int(pointer["application_seq"])))


def _close_application(state: State, member_id: str, seq: int) -> None:
    state.delete(NS_APPLICATION, _app_key(seq))
    state.delete(NS_APPLICANT, member_id)


def _no_exception_needed(workspace_id: str, member_id: str) -> RuleViolationError:
    return RuleViolationError(
        f"workspace {workspace_id}: {member_id} is the first fitting eligible applicant in the "
        f"queue; a queue exception is recorded only when someone is passed over"
    )


def _describe_lease(lease_id: str, lease: Record) -> str:
    return (
        f"lease {lease_id} ({lease['workspace_id']} to {lease['member_id']}, "
        f"{lease['start']} to {lease['end']})"
    )


def _index_value(state: State, series: str, month: str, lease_id: str, what: str) -> Decimal:
    value = index_lookup(state)(series, month)
    if value is None:
        raise RuleViolationError(
            f"lease {lease_id}: index {series} has no published value for {month} "
            f"(the {what} month of the ROZ formula): publish it before indexing"
        )
    return value


def _roz_body(
    state: State, lease_id: str, lease: Record, in_force: Charter, on: date, rent: int | None
) -> LeaseIndexed:
    """The edition-2 indexation body for a change on `on`: the ROZ inputs, the formula's
    result and the caps (the charter's yearly ceiling from the lease's charter version, the
    rent cap on the market rent in force on `on`); the rent is the highest allowed unless
    a lower one is typed. Checks the date rules; refuses a typed rent above the highest."""
    _, charter = charter_at(state, int(lease["charter_seq"]))
    series = in_force.lease.index_series
    new_month, old_month = roz_months(on)
    index_new = _index_value(state, series, new_month, lease_id, "index (4 months before)")
    index_old = _index_value(state, series, old_month, lease_id, "base (16 months before)")
    record = get_workspace(state, lease["workspace_id"])
    workspace = workspace_of(lease["workspace_id"], record, on)
    old = int(lease["rent_cents_per_month"])
    result: RozIndexation = roz_indexation(
        old,
        date.fromisoformat(lease["last_change"]),
        on,
        (date.fromisoformat(lease["start"]), date.fromisoformat(lease["end"])),
        workspace,
        lease_caps(charter),
        index_new,
        index_old,
    )
    chosen = result.highest_cents if rent is None else rent
    check_roz_rent(chosen, result, workspace)
    return LeaseIndexed(
        lease_id=lease_id,
        previous_rent_cents_per_month=old,
        rent_cents_per_month=chosen,
        index_series=series,
        index_month=new_month,
        index_value=rate_str(index_new),
        base_month=old_month,
        base_index_value=rate_str(index_old),
        formula_cents=result.formula_cents,
        ceiling_cents=result.ceiling_cents,
        cap_cents=result.cap_cents,
    )


def _first_field_difference(recorded: BaseModel, computed: BaseModel) -> str:
    a, b = recorded.model_dump(mode="json"), computed.model_dump(mode="json")
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return f"{key} recorded {a.get(key)}, computed {b.get(key)}"
    return "same values"  # pragma: no cover - called only when the bodies differ


# -- appliers ----------------------------------------------------------------------------------


@kind("workspace.registered")
def _registered(state: State, body: WorkspaceRegistered, ctx: Ctx) -> None:
    wid = body.workspace_id
    existing = state.get(NS_WORKSPACE, wid)
    if existing is not None:
        raise RuleViolationError(
            f"workspace {wid} is already registered (entry {existing['registered_seq']})"
        )
    check_unique(state, "workspace", wid)
    _, charter = charter_at(state)
    if body.district not in charter.cooperative.districts:
        raise RuleViolationError(
            f"workspace {wid}: district {body.district!r} is not one of the charter's districts "
            f"({', '.join(charter.cooperative.districts)})"
        )
    if body.area_m2 < 1:
        raise RuleViolationError(
            f"workspace {wid}: expected a floor area of at least 1 m2, found {body.area_m2}"
        )
    if body.market_rent_cents_per_m2_year < 1:
        raise RuleViolationError(
            f"workspace {wid}: expected a positive market rent per m2 per year, "
            f"found {format_eur(body.market_rent_cents_per_m2_year)}"
        )
    state.put(
        NS_WORKSPACE,
        wid,
        {
            "district": body.district,
            "area_m2": body.area_m2,
            "market_rent_cents_per_m2_year": body.market_rent_cents_per_m2_year,
            "registered_seq": ctx.seq,
            "registered_on": ctx.effective.isoformat(),
            "leases": [],
        },
    )
    remember(state, "workspace.registered", body, ctx)


@kind("workspace.revalued")
def _revalued(state: State, body: WorkspaceRevalued, ctx: Ctx) -> None:
    """Edition 2: the market rent reference follows the market, from the entry's date on;
    the rent cap of later grants and indexations follows it (issue 12 (d))."""
    wid = body.workspace_id
    charter_seq, charter = charter_at(state)
    if not charter.rules_from(2):
        raise RuleViolationError(
            f"workspace {wid}: a market-rent revaluation applies from charter version 2; the "
            f"charter in force (entry {charter_seq}) is version {charter.version}"
        )
    record = get_workspace(state, wid)
    if body.market_rent_cents_per_m2_year < 1:
        raise RuleViolationError(
            f"workspace {wid}: expected a positive market rent per m2 per year, "
            f"found {format_eur(body.market_rent_cents_per_m2_year)}"
        )
    revaluations = list(record.get("revaluations", ()))
    latest = revaluations[-1][0] if revaluations else record["registered_on"]
    if ctx.effective.isoformat() <= latest:
        raise RuleViolationError(
            f"workspace {wid}: expected a revaluation dated after {latest} (its "
            f"{'last revaluation' if revaluations else 'registration'}), "
            f"found {ctx.effective.isoformat()}"
        )
    revaluations.append([ctx.effective.isoformat(), body.market_rent_cents_per_m2_year, ctx.seq])
    state.put(NS_WORKSPACE, wid, {**record, "revaluations": revaluations})


@kind("lease.applied")
def _applied(state: State, body: LeaseApplied, ctx: Ctx) -> None:
    mid = body.member_id
    member = get_member(state, mid)
    pointer = state.get(NS_APPLICANT, mid)
    if pointer is not None:
        raise RuleViolationError(
            f"member {mid} already has an open application (entry {pointer['application_seq']}); "
            "withdraw it first"
        )
    _, charter = charter_at(state)
    applicant = Applicant(
        member_id=mid,
        member_kind=member["member_kind"],
        founded=_day(member.get("founded")),
        district=member.get("district"),
        min_m2=body.min_m2,
        max_m2=body.max_m2,
        applied_seq=ctx.seq,
        applied_on=ctx.effective,
    )
    # Eligibility as of the application date: who fails it then (a household, a business
    # founded too long ago, outside the area) can never be granted a lease starting later.
    # The grant checks it again at the lease start, under the charter then in force.
    check_eligible(applicant, ctx.effective, lease_caps(charter))
    state.put(
        NS_APPLICATION,
        _app_key(ctx.seq),
        {
            "member_id": mid,
            "min_m2": body.min_m2,
            "max_m2": body.max_m2,
            "applied_seq": ctx.seq,
            "applied_on": ctx.effective.isoformat(),
        },
    )
    state.put(NS_APPLICANT, mid, {"application_seq": ctx.seq})
    add_history(state, mid, ctx.seq)
    remember(state, "lease.applied", body, ctx)


@kind("lease.withdrawn")
def _withdrawn(state: State, body: LeaseWithdrawn, ctx: Ctx) -> None:
    mid = body.member_id
    get_member(state, mid)
    pointer = state.get(NS_APPLICANT, mid)
    if pointer is None:
        raise RuleViolationError(f"member {mid} has no open application to withdraw")
    if int(pointer["application_seq"]) != body.application_seq:
        raise RuleViolationError(
            f"member {mid}: the open application is entry {pointer['application_seq']}, "
            f"found application_seq {body.application_seq}"
        )
    key = _app_key(body.application_seq)
    application = state.get(NS_APPLICATION, key)
    if application is None:  # the pointer names it; kept as a guard
        raise RuleViolationError(
            f"member {mid}: application {body.application_seq} is not in the state"
        )
    state.put(NS_WITHDRAWN, key, application)
    _close_application(state, mid, body.application_seq)
    add_history(state, mid, ctx.seq)
    remember(state, "lease.withdrawn", body, ctx)


@kind("lease.granted")
def _granted(state: State, body: LeaseGranted, ctx: Ctx) -> None:
    _grant(state, body, ctx, WERK_ADMIN)
    remember(state, "lease.granted", body, ctx)


@kind("lease.exception-granted")
def _exception_granted(state: State, body: LeaseGranted, ctx: Ctx) -> None:
    if body.exception is None:
        raise RuleViolationError(
            f"lease {body.lease_id}: lease.exception-granted records a grant out of queue order; "
            "expected an exception with its reason, found none (use lease.granted)"
        )
    _grant(state, body, ctx, "governor")
    remember(state, "lease.exception-granted", body, ctx)


def _grant(state: State, body: LeaseGranted, ctx: Ctx, signer_role: Role) -> None:
    """Check and record a grant signed by `signer_role` (already authorised by apply)."""
    charter_seq, charter = charter_at(state)
    exception_role = charter.lease.exception_role
    if body.exception is not None and signer_role != exception_role:
        raise AuthorizationError(
            f"lease {body.lease_id}: the charter in force (entry {charter_seq}) reserves queue "
            f"exceptions to the {exception_role} role, found one recorded as "
            f"{GRANT_KINDS[signer_role]} by {signer_role}"
        )
    if body.lease_id != f"L-{ctx.seq}":
        raise RuleViolationError(
            f"lease grant: expected lease id L-{ctx.seq}, found {body.lease_id}"
        )
    if body.charter_seq != charter_seq:
        raise RuleViolationError(
            f"lease {body.lease_id}: expected the charter in force (adopted at entry "
            f"{charter_seq}), found charter_seq {body.charter_seq}"
        )
    wid, mid = body.workspace_id, body.member_id
    record = get_workspace(state, wid)
    get_member(state, mid)
    caps = lease_caps(charter)
    if charter.rules_from(2):
        # Edition 2: the lease type decides the term; the cap reads the market rent in
        # force on the lease start.
        if body.lease_type is None:
            raise RuleViolationError(
                f"lease {body.lease_id}: expected a lease type (7:230a or 7:290) under the "
                f"charter in force (entry {charter_seq}, version {charter.version}), found none"
            )
        workspace = workspace_of(wid, record, body.start)
        held_until = lease_end_by_law(body.start, body.end, body.lease_type, caps)
    else:
        if body.lease_type is not None:
            raise RuleViolationError(
                f"lease {body.lease_id}: a lease type applies from charter version 2; the "
                f"charter in force (entry {charter_seq}) is version {charter.version}, "
                f"found lease type {body.lease_type}"
            )
        workspace = workspace_of(wid, record)
        check_term(body.start, body.end, caps)
        held_until = body.end
    check_rent(body.rent_cents_per_month, workspace, caps)
    pointer = state.get(NS_APPLICANT, mid)
    if pointer is not None and int(pointer["application_seq"]) != body.application_seq:
        raise RuleViolationError(
            f"lease {body.lease_id}: the open application of {mid} is entry "
            f"{pointer['application_seq']}, found application_seq {body.application_seq}"
        )
    reason = None if body.exception is None else body.exception.reason
    decision = check_allocation(mid, waiting_list(state), workspace, body.start, caps, reason)
    passed = decision.passed_over
    if body.exception is not None:
        if passed is None:
            raise _no_exception_needed(wid, mid)
        if (body.exception.passed_over_member_id, body.exception.passed_over_application_seq) != (
            passed.member_id,
            passed.applied_seq,
        ):
            raise RuleViolationError(
                f"lease {body.lease_id}: the exception passes over {passed.member_id} "
                f"(entry {passed.applied_seq}), found "
                f"{body.exception.passed_over_member_id} "
                f"(entry {body.exception.passed_over_application_seq})"
            )
    check_no_overlap((body.start, held_until), ((lid, s, e) for lid, _m, s, e in _terms(record)))
    # A 7:290 lease renewed by law holds the workspace to the end of the renewal.
    start, end = body.start.isoformat(), held_until.isoformat()
    # The application the grant closes, kept so that a correction of the grant reopens it in
    # its place in the queue.
    application = state.get(NS_APPLICATION, _app_key(body.application_seq))
    state.put(
        NS_LEASE,
        body.lease_id,
        {
            "workspace_id": wid,
            "member_id": mid,
            "start": start,
            "end": end,
            "agreed_end": end,
            "rent_cents_per_month": body.rent_cents_per_month,
            "rents": [[start, body.rent_cents_per_month]],
            "charter_seq": charter_seq,
            "last_change": start,
            "status": GRANTED,
            "exception": None if body.exception is None else body.exception.model_dump(mode="json"),
            "application_seq": body.application_seq,
            "application": application,
            "granted_seq": ctx.seq,
            "ended": None,
            "corrected_seq": None,
            # Edition 2 only: a version-1 lease's record keeps its old shape.
            **({} if body.lease_type is None else {"lease_type": body.lease_type}),
        },
    )
    state.put(
        NS_WORKSPACE,
        wid,
        {**record, "leases": [*record["leases"], [body.lease_id, mid, start, end]]},
    )
    _close_application(state, mid, body.application_seq)
    add_history(state, mid, ctx.seq)
    if passed is not None:
        # The passed-over applicant sees the exception in its own history: it concerns them.
        add_history(state, passed.member_id, ctx.seq)


@kind("lease.indexed")
def _indexed(state: State, body: LeaseIndexed, ctx: Ctx) -> None:
    lid = body.lease_id
    lease = live_lease(state, lid)
    if lease["status"] == ENDED:
        raise RuleViolationError(
            f"{_describe_lease(lid, lease)} ended at entry {lease['ended']['seq']}; "
            "its rent can no longer change"
        )
    old = int(lease["rent_cents_per_month"])
    if body.previous_rent_cents_per_month != old:
        raise RuleViolationError(
            f"lease {lid}: expected previous rent {format_eur(old)}, "
            f"found {format_eur(body.previous_rent_cents_per_month)}"
        )
    # The lease keeps the charter version it was made under, even after an amendment; the
    # edition of the rule is the charter's in force at this entry.
    _, charter = charter_at(state, int(lease["charter_seq"]))
    in_force_seq, in_force = charter_at(state)
    record = get_workspace(state, lease["workspace_id"])
    term = (date.fromisoformat(lease["start"]), date.fromisoformat(lease["end"]))
    last_change = date.fromisoformat(lease["last_change"])
    if in_force.rules_from(2):
        expected = _roz_body(state, lid, lease, in_force, ctx.effective, body.rent_cents_per_month)
        if body != expected:
            raise RuleViolationError(
                f"lease {lid}: the indexation differs from the ROZ computation "
                f"({_first_field_difference(body, expected)})"
            )
    else:
        if body.index_series is not None or body.formula_cents is not None:
            raise RuleViolationError(
                f"lease {lid}: indexation by the ROZ formula applies from charter version 2; "
                f"the charter in force (entry {in_force_seq}) is version {in_force.version}"
            )
        check_indexation(
            old,
            body.rent_cents_per_month,
            last_change,
            ctx.effective,
            term,
            workspace_of(lease["workspace_id"], record),
            lease_caps(charter),
        )
    on = ctx.effective.isoformat()
    state.put(
        NS_LEASE,
        lid,
        {
            **lease,
            "rent_cents_per_month": body.rent_cents_per_month,
            "rents": [*lease["rents"], [on, body.rent_cents_per_month]],
            "last_change": on,
        },
    )
    add_history(state, lease["member_id"], ctx.seq)
    remember(state, "lease.indexed", body, ctx)


@kind("lease.ended")
def _ended(state: State, body: LeaseEnded, ctx: Ctx) -> None:
    lid = body.lease_id
    lease = live_lease(state, lid)
    if lease["status"] == ENDED:
        raise RuleViolationError(
            f"{_describe_lease(lid, lease)} already ended at entry {lease['ended']['seq']}"
        )
    on = ctx.effective
    start, end = date.fromisoformat(lease["start"]), date.fromisoformat(lease["end"])
    if not start <= on <= end:
        raise RuleViolationError(
            f"lease {lid}: expected an end date from the start {start.isoformat()} to the agreed "
            f"end {end.isoformat()} (the first day no longer leased), found {on.isoformat()}"
        )
    last_change = date.fromisoformat(lease["last_change"])
    if len(lease["rents"]) > 1 and on <= last_change:
        raise RuleViolationError(
            f"lease {lid}: expected an end date after the last rent change "
            f"{last_change.isoformat()}, found {on.isoformat()}"
        )
    wid = lease["workspace_id"]
    record = get_workspace(state, wid)
    leases = [
        [other, m, s, on.isoformat() if other == lid else e] for other, m, s, e in record["leases"]
    ]
    state.put(NS_WORKSPACE, wid, {**record, "leases": leases})
    state.put(
        NS_LEASE,
        lid,
        {
            **lease,
            "end": on.isoformat(),
            "status": ENDED,
            "ended": {"seq": ctx.seq, "on": on.isoformat(), "reason": body.reason},
        },
    )
    add_history(state, lease["member_id"], ctx.seq)
    remember(state, "lease.ended", body, ctx)


# -- corrections -------------------------------------------------------------------------------


@reverser("workspace.registered")
def _undo_workspace(state: State, body: WorkspaceRegistered, original: Ctx, _ctx: Ctx) -> None:
    """A workspace registered in error (a wrong area, rent or district) is undone while it was
    never let (a corrected grant does not count); it may then be registered again, right."""
    wid = body.workspace_id
    record = get_workspace(state, wid)
    if record["leases"]:
        raise cannot_reverse(
            original,
            "workspace.registered",
            f"workspace {wid} has leases ({', '.join(row[0] for row in record['leases'])}); "
            "correct their grants first",
        )
    state.delete(NS_WORKSPACE, wid)


@reverser("lease.withdrawn")
def _undo_withdrawal(state: State, body: LeaseWithdrawn, original: Ctx, ctx: Ctx) -> None:
    """A withdrawal in error puts the application back in its own place in the queue, while
    the member has not applied again."""
    mid = body.member_id
    pointer = state.get(NS_APPLICANT, mid)
    if pointer is not None:
        raise cannot_reverse(
            original,
            "lease.withdrawn",
            f"{mid} has applied again since (entry {pointer['application_seq']}); the withdrawn "
            "application cannot be reopened beside it",
        )
    key = _app_key(body.application_seq)
    application = state.get(NS_WITHDRAWN, key)
    if application is None:
        raise cannot_reverse(original, "lease.withdrawn", "the withdrawn application is not kept")
    state.put(NS_APPLICATION, key, application)
    state.put(NS_APPLICANT, mid, {"application_seq": body.application_seq})
    state.delete(NS_WITHDRAWN, key)
    add_history(state, mid, ctx.seq)


@reverser("lease.applied")
def _undo_application(state: State, body: LeaseApplied, original: Ctx, ctx: Ctx) -> None:
    """An application recorded in error leaves the queue, while it is still open."""
    pointer = state.get(NS_APPLICANT, body.member_id)
    if pointer is None or int(pointer["application_seq"]) != original.seq:
        raise cannot_reverse(
            original,
            "lease.applied",
            f"the application of {body.member_id} is no longer open (granted or withdrawn)",
        )
    _close_application(state, body.member_id, original.seq)
    add_history(state, body.member_id, ctx.seq)


@reverser("lease.granted")
def _undo_granted(state: State, body: LeaseGranted, original: Ctx, ctx: Ctx) -> None:
    _undo_grant(state, body, original, ctx, "lease.granted")


@reverser("lease.exception-granted")
def _undo_exception_granted(state: State, body: LeaseGranted, original: Ctx, ctx: Ctx) -> None:
    _undo_grant(state, body, original, ctx, "lease.exception-granted")


def _undo_grant(state: State, body: LeaseGranted, original: Ctx, ctx: Ctx, kind_name: str) -> None:
    """The lease never was: the workspace is free again and the application back in its place
    in the queue. Only while nothing was built on the grant: no indexation or end (correct
    those first), no contribution run for a month of the term (it charged the workspace), and
    no newer application of the member."""
    lid, mid, wid = body.lease_id, body.member_id, body.workspace_id
    lease = get_lease(state, lid)
    if lease["status"] == ENDED:
        raise cannot_reverse(
            original,
            kind_name,
            f"lease {lid} ended at entry {lease['ended']['seq']}; correct its end first",
        )
    if len(lease["rents"]) > 1:
        raise cannot_reverse(
            original,
            kind_name,
            f"the rent of lease {lid} was changed on {lease['last_change']}; correct that "
            "indexation first",
        )
    run = _run_in(state, date.fromisoformat(lease["start"]), date.fromisoformat(lease["end"]))
    if run is not None:
        raise cannot_reverse(
            original,
            kind_name,
            f"the contribution run for {run[0]} (entry {run[1]}) charged workspace {wid} "
            f"while lease {lid} was in force",
        )
    pointer = state.get(NS_APPLICANT, mid)
    if pointer is not None:
        raise cannot_reverse(
            original,
            kind_name,
            f"{mid} has applied again since (entry {pointer['application_seq']}); the grant's "
            "application cannot be reopened beside it",
        )
    application = lease["application"]
    if application is None:  # a grant always closes an open application; kept as a guard
        raise cannot_reverse(original, kind_name, f"lease {lid} names no open application")
    state.put(NS_APPLICATION, _app_key(body.application_seq), application)
    state.put(NS_APPLICANT, mid, {"application_seq": body.application_seq})
    record = get_workspace(state, wid)
    state.put(
        NS_WORKSPACE,
        wid,
        {**record, "leases": [row for row in record["leases"] if row[0] != lid]},
    )
    state.put(NS_LEASE, lid, {**lease, "status": CORRECTED, "corrected_seq": ctx.seq})
    add_history(state, mid, ctx.seq)


@reverser("lease.indexed")
def _undo_indexation(state: State, body: LeaseIndexed, original: Ctx, ctx: Ctx) -> None:
    """The rent goes back to what it was, while this is the lease's latest change and the
    lease has not ended."""
    lid = body.lease_id
    lease = get_lease(state, lid)
    if lease["status"] == ENDED:
        raise cannot_reverse(
            original,
            "lease.indexed",
            f"lease {lid} ended at entry {lease['ended']['seq']}; correct its end first",
        )
    rents = lease["rents"]
    if rents[-1] != [original.effective.isoformat(), body.rent_cents_per_month]:
        raise cannot_reverse(
            original,
            "lease.indexed",
            f"the rent of lease {lid} changed again on {lease['last_change']}; correct that "
            "indexation first",
        )
    kept = rents[:-1]
    state.put(
        NS_LEASE,
        lid,
        {**lease, "rents": kept, "rent_cents_per_month": kept[-1][1], "last_change": kept[-1][0]},
    )
    add_history(state, lease["member_id"], ctx.seq)


@reverser("lease.ended")
def _undo_end(state: State, body: LeaseEnded, original: Ctx, ctx: Ctx) -> None:
    """The lease runs on to its agreed end again, while the workspace was not let to anyone
    else for those days and no contribution run covered a month it now adds."""
    lid = body.lease_id
    lease = get_lease(state, lid)
    wid = lease["workspace_id"]
    ended_on, agreed_end = date.fromisoformat(lease["end"]), date.fromisoformat(lease["agreed_end"])
    record = get_workspace(state, wid)
    others = ((other, s, e) for other, _m, s, e in _terms(record) if other != lid)
    try:
        check_no_overlap((date.fromisoformat(lease["start"]), agreed_end), others)
    except RuleViolationError as e:
        raise cannot_reverse(original, "lease.ended", str(e)) from None
    # A month that began before the end was already charged with the lease in use.
    run = _run_in(state, ended_on, agreed_end, from_month_start=True)
    if run is not None:
        raise cannot_reverse(
            original,
            "lease.ended",
            f"the contribution run for {run[0]} (entry {run[1]}) did not charge workspace "
            f"{wid}, ended by then",
        )
    end = agreed_end.isoformat()
    state.put(
        NS_WORKSPACE,
        wid,
        {
            **record,
            "leases": [[o, m, s, end if o == lid else e] for o, m, s, e in record["leases"]],
        },
    )
    state.put(NS_LEASE, lid, {**lease, "end": end, "status": GRANTED, "ended": None})
    add_history(state, lease["member_id"], ctx.seq)


def _run_in(
    state: State, first: date, after: date, *, from_month_start: bool = False
) -> tuple[str, int] | None:
    """The first contribution run for a calendar month overlapping the days [first, after)
    (with `from_month_start`, only months beginning on or after `first`): (month, entry)."""
    day = first.replace(day=1)
    while day < after:
        month = f"{day.year:04d}-{day.month:02d}"
        run = run_of(state, month)
        if run is not None and (not from_month_start or day >= first):
            return month, int(run["seq"])
        day = month_bounds(month)[1]
    return None


# -- commands ----------------------------------------------------------------------------------


def _reason(text: str | None, what: str) -> str:
    cleaned = (text or "").strip()
    if not 1 <= len(cleaned) <= 500:
        raise InputError(f"{what}: expected a reason of 1 to 500 characters, found {text!r}")
    return cleaned


def register_workspace(
    workspace_id: str,
    district: str,
    area_m2: int,
    market_rent_cents_per_m2_year: int,
    effective: date,
) -> Command:
    """Register a workspace with its floor area and market rent reference (per m2 per year)."""
    body = validated(
        WorkspaceRegistered,
        workspace_id=workspace_id,
        district=district,
        area_m2=area_m2,
        market_rent_cents_per_m2_year=market_rent_cents_per_m2_year,
    )
    args = {**body.model_dump(mode="json"), "effective": effective.isoformat()}
    return LegacyCommand(
        "workspace.register",
        args,
        lambda _state, _ctx: Fact("workspace.registered", body, effective),
    )


def revalue_workspace(
    workspace_id: str, market_rent_cents_per_m2_year: int, effective: date, source: str
) -> Command:
    """Revalue a workspace's market rent reference (per m2 per year) from `effective` on,
    naming its source (edition 2)."""
    body = validated(
        WorkspaceRevalued,
        workspace_id=workspace_id,
        market_rent_cents_per_m2_year=market_rent_cents_per_m2_year,
        source=(source or "").strip(),
    )
    args = {**body.model_dump(mode="json"), "effective": effective.isoformat()}
    return LegacyCommand(
        "workspace.revalue", args, lambda _s, _c: Fact("workspace.revalued", body, effective)
    )


def apply(member_id: str, min_m2: int, max_m2: int, effective: date) -> Command:
    """Put a business member on the waiting list with its size needs (in m2, inclusive)."""
    body = validated(LeaseApplied, member_id=member_id, min_m2=min_m2, max_m2=max_m2)

    def decide(state: State, _ctx: Ctx) -> Fact:
        get_member(state, member_id)
        return Fact("lease.applied", body, effective)

    args = {**body.model_dump(mode="json"), "effective": effective.isoformat()}
    return LegacyCommand("lease.apply", args, decide)


def withdraw(member_id: str, effective: date, reason: str | None = None) -> Command:
    """Take a member's open application off the waiting list."""
    cleaned = None if reason is None else _reason(reason, "withdrawal")
    validated(LeaseWithdrawn, member_id=member_id, application_seq=0, reason=cleaned)

    def decide(state: State, _ctx: Ctx) -> Fact:
        get_member(state, member_id)
        pointer = state.get(NS_APPLICANT, member_id)
        if pointer is None:
            raise RuleViolationError(f"member {member_id} has no open application to withdraw")
        body = LeaseWithdrawn(
            member_id=member_id, application_seq=int(pointer["application_seq"]), reason=cleaned
        )
        return Fact("lease.withdrawn", body, effective)

    args = {"member_id": member_id, "effective": effective.isoformat(), "reason": cleaned}
    return LegacyCommand("lease.withdraw", args, decide)


def grant(
    workspace_id: str,
    member_id: str,
    start: date,
    end: date,
    rent_cents_per_month: int,
    effective: date,
    exception_reason: str | None = None,
    lease_type: str = "7:230a",
) -> Command:
    """Grant a lease over [start, end); with a reason, out of waiting-list order. The lease
    type (7:230a or 7:290) is recorded under a version-2 charter only."""
    reason = None if exception_reason is None else _reason(exception_reason, "queue exception")
    # Check the user's values now (ids, whole cents), so a typo is one InputError line before
    # a transaction opens; the computed fields get placeholders that decide() replaces.
    validated(
        LeaseGranted,
        lease_id="L-0",
        workspace_id=workspace_id,
        member_id=member_id,
        start=start,
        end=end,
        rent_cents_per_month=rent_cents_per_month,
        charter_seq=0,
        application_seq=0,
        lease_type=lease_type,
    )

    def decide(state: State, ctx: Ctx) -> Fact:
        charter_seq, charter = charter_at(state)
        workspace = workspace_of(workspace_id, get_workspace(state, workspace_id))
        get_member(state, member_id)
        application = open_application(state, member_id)
        if application is None:
            raise RuleViolationError(
                f"workspace {workspace_id}: expected {member_id} on the waiting list, "
                "found no open application"
            )
        decision = check_allocation(
            member_id, waiting_list(state), workspace, start, lease_caps(charter), reason
        )
        exception = None
        if reason is not None:
            if decision.passed_over is None:
                raise _no_exception_needed(workspace_id, member_id)
            exception = QueueException(
                reason=reason,
                passed_over_member_id=decision.passed_over.member_id,
                passed_over_application_seq=decision.passed_over.applied_seq,
            )
        body = LeaseGranted(
            lease_id=f"L-{ctx.seq}",
            workspace_id=workspace_id,
            member_id=member_id,
            start=start,
            end=end,
            rent_cents_per_month=rent_cents_per_month,
            charter_seq=charter_seq,
            application_seq=int(application["applied_seq"]),
            exception=exception,
            lease_type=lease_type if charter.rules_from(2) else None,
        )
        # The kind carries the signer's role: an exception goes under the charter's role.
        kind_name = GRANT_KINDS[WERK_ADMIN if exception is None else charter.lease.exception_role]
        return Fact(kind_name, body, effective)

    args = {
        "workspace_id": workspace_id,
        "member_id": member_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rent_cents_per_month": rent_cents_per_month,
        "effective": effective.isoformat(),
        "exception_reason": reason,
        "lease_type": lease_type,
    }
    return LegacyCommand("lease.grant", args, decide)


def index(lease_id: str, rent_cents_per_month: int | None, effective: date) -> Command:
    """Change a lease's monthly rent from `effective` on. Edition 2: a yearly indexation by
    the ROZ formula on the charter's CPI series; without a rent, the highest the formula and
    the caps allow, with one, a rent at or below it. Edition 1: the typed rent, capped."""
    if rent_cents_per_month is not None:
        validated(
            LeaseIndexed,
            lease_id=lease_id,
            previous_rent_cents_per_month=0,
            rent_cents_per_month=rent_cents_per_month,
        )

    def decide(state: State, _ctx: Ctx) -> Fact:
        lease = get_lease(state, lease_id)
        _, in_force = charter_at(state)
        if in_force.rules_from(2):
            live_lease(state, lease_id)
            body = _roz_body(state, lease_id, lease, in_force, effective, rent_cents_per_month)
            return Fact("lease.indexed", body, effective)
        if rent_cents_per_month is None:
            raise InputError(
                f"lease {lease_id}: under a version-1 charter an indexation needs the new rent "
                "(--rent)"
            )
        body = LeaseIndexed(
            lease_id=lease_id,
            previous_rent_cents_per_month=int(lease["rent_cents_per_month"]),
            rent_cents_per_month=rent_cents_per_month,
        )
        return Fact("lease.indexed", body, effective)

    args = {
        "lease_id": lease_id,
        "rent_cents_per_month": rent_cents_per_month,
        "effective": effective.isoformat(),
    }
    return LegacyCommand("lease.index", args, decide)


def end(lease_id: str, effective: date, reason: str) -> Command:
    """End a lease: `effective` is the first day the workspace is no longer leased."""
    body = validated(LeaseEnded, lease_id=lease_id, reason=_reason(reason, "lease end"))

    def decide(state: State, _ctx: Ctx) -> Fact:
        get_lease(state, lease_id)
        return Fact("lease.ended", body, effective)

    args = {**body.model_dump(mode="json"), "effective": effective.isoformat()}
    return LegacyCommand("lease.end", args, decide)


# -- reports -----------------------------------------------------------------------------------


def month_bounds(month: str) -> tuple[date, date]:
    """The calendar month "YYYY-MM" as the half-open interval [first day, next first day)."""
    match = _MONTH_RE.match(month) if isinstance(month, str) else None
    if match is None:
        raise InputError(f"expected a month as YYYY-MM, found {month!r}")
    year, mon = int(match.group(1)), int(match.group(2))
    if (year, mon) == (date.max.year, 12):
        raise InputError(f"month {month!r} is out of range: the last month is 9999-11")
    return date(year, mon, 1), date(year + mon // 12, mon % 12 + 1, 1)


def _terms(record: Record) -> Iterator[tuple[str, str, date, date]]:
    """A workspace's leases as (lease id, member id, start, end), leaving out leases ended on
    their start day: an empty term [d, d) covers no day, but overlaps() only knows non-empty
    terms, and a cancelled lease must neither block the space nor count as use."""
    for lid, mid, start, end in record["leases"]:
        first, after = date.fromisoformat(start), date.fromisoformat(end)
        if first < after:
            yield lid, mid, first, after


def _workspace_leases(state: State) -> Iterator[tuple[str, Record, tuple[str, str, date, date]]]:
    for wid, record in state.scan(NS_WORKSPACE):
        for term in _terms(record):
            yield wid, record, term


def leases_in_use(state: State, month: str) -> list[dict[str, str]]:
    """Every lease overlapping the calendar month: workspace id, district, member id, lease id.

    The monthly area contribution charges workspaces in use through this. A workspace let to
    two tenants in one month (one leaving, one arriving) appears once per lease; whether that
    is charged once per workspace or per lease is the contribution rule's decision. Reads the
    workspace namespace (one record per workspace, holding its leases), never the lease log.
    """
    first, after = month_bounds(month)
    found = [
        (
            wid,
            start,
            {
                "workspace_id": wid,
                "district": record["district"],
                "member_id": mid,
                "lease_id": lid,
            },
        )
        for wid, record, (lid, mid, start, end) in _workspace_leases(state)
        if overlaps((first, after), (start, end))
    ]
    found.sort(key=lambda f: (f[0], f[1]))
    return [row for _wid, _start, row in found]


@contribution_source
def _workspaces_in_use(state: State, month: str) -> list[ChargeLine]:
    """The monthly area contribution's workspace lines: every leased workspace in the month.

    The contribution run keeps the first line per subject, so a workspace let to two tenants
    in one month is charged once, to the lease that started first (the outgoing tenant).
    """
    return [
        ChargeLine(
            subject=row["workspace_id"],
            subject_kind="workspace",
            district=row["district"],
            member=row["member_id"],
        )
        for row in leases_in_use(state, month)
    ]


def rent_on(lease: Record, on: date) -> int:
    """The monthly rent in force on a day of the lease (the last change on or before it)."""
    rent = int(lease["rents"][0][1])
    for day, cents in lease["rents"]:
        if date.fromisoformat(day) <= on:
            rent = int(cents)
    return rent


def lease_roll(state: State, on: date) -> dict[str, Any]:
    """The leases in force on a day, with the rent then, its cap and the charter version."""
    rows = []
    for wid, record, (lid, _mid, start, end) in _workspace_leases(state):
        if not start <= on < end:
            continue
        lease = get_lease(state, lid)
        _, charter = charter_at(state, int(lease["charter_seq"]))
        exception = lease["exception"]
        rows.append(
            {
                "lease_id": lid,
                "workspace_id": wid,
                "district": record["district"],
                "area_m2": record["area_m2"],
                "member_id": lease["member_id"],
                "start": lease["start"],
                "end": lease["end"],
                "rent_cents_per_month": rent_on(lease, on),
                "rent_cap_cents_per_month": rent_cap_cents(
                    workspace_of(wid, record, on), lease_caps(charter)
                ),
                "charter_seq": lease["charter_seq"],
                "lease_type": lease.get("lease_type"),
                "exception": None if exception is None else exception["reason"],
                "passed_over": None if exception is None else exception["passed_over_member_id"],
            }
        )
    rows.sort(key=lambda r: int(r["lease_id"].split("-", 1)[1]))
    return {
        "at": on.isoformat(),
        "leases": rows,
        "total_rent_cents_per_month": sum(r["rent_cents_per_month"] for r in rows),
    }


def occupancy(state: State, on: date, total_floor_m2: int | None = None) -> dict[str, Any]:
    """Occupied and vacant registered floor area on a day, and the affordable share vs target."""
    _, charter = charter_at(state)
    workspaces = [workspace_of(wid, record) for wid, record in state.scan(NS_WORKSPACE)]
    leased = {
        wid
        for wid, _record, (_lid, _mid, start, end) in _workspace_leases(state)
        if start <= on < end
    }
    result = affordable_share(
        workspaces, leased, Decimal(charter.lease.affordable_target), total_floor_m2
    )
    return {
        "at": on.isoformat(),
        "workspaces": len(workspaces),
        "total_m2": result.total_m2,
        "registered_m2": result.registered_m2,
        "occupied_m2": result.occupied_m2,
        "vacant_m2": result.vacant_m2,
        "vacant_workspaces": sorted(
            w.workspace_id for w in workspaces if w.workspace_id not in leased
        ),
        "affordable_share": str(result.share.quantize(Decimal("0.0001"))),
        "target": charter.lease.affordable_target,
        "meets_target": result.meets_target,
    }


def workspace_rows(state: State, on: date) -> list[dict[str, Any]]:
    """Registered workspaces with their rent cap under the charter in force and the tenant on a day."""
    _, charter = charter_at(state)
    caps = lease_caps(charter)
    rows = []
    for wid, record in state.scan(NS_WORKSPACE):
        current = [(lid, mid) for lid, mid, start, end in _terms(record) if start <= on < end]
        rows.append(
            {
                "workspace_id": wid,
                "district": record["district"],
                "area_m2": record["area_m2"],
                "market_rent_cents_per_m2_year": market_rent_on(record, on),
                "rent_cap_cents_per_month": rent_cap_cents(workspace_of(wid, record, on), caps),
                "lease_id": current[0][0] if current else None,
                "member_id": current[0][1] if current else None,
                "leases": len(record["leases"]),
            }
        )
    return rows


def queue_rows(state: State) -> list[dict[str, Any]]:
    """The waiting list in queue order."""
    return [
        {
            "position": position,
            "application_seq": record["applied_seq"],
            "member_id": record["member_id"],
            "min_m2": record["min_m2"],
            "max_m2": record["max_m2"],
            "applied_on": record["applied_on"],
        }
        for position, (_key, record) in enumerate(state.scan(NS_APPLICATION), 1)
    ]
