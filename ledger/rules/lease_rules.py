"""Werkcorporatie lease rules: eligibility, rent cap, term, overlap, queue order, indexation.

Pure: no I/O, no clock, no database. Callers map stored state onto the frozen inputs below
and pass the dates in. Every check raises RuleViolationError with a one-line message, or returns.

Decisions (the charter's words made precise):

- A lease runs over the half-open interval [start, end): `end` is the first day no longer
  leased. A lease ending on D and another starting on D do not overlap.
- Years and months are counted by ledger.calendar, as everywhere in the ledger: a period
  counts only once it has fully run, so the anniversary of 29 February in a common year is
  1 March (and 31 January + 1 month is 1 March).
- Term: start < end <= start + max_term_years (the exact anniversary is allowed).
- Eligibility (never waivable): a business member; founded on or after start -
  max_founded_years and not after the start; district (where it is or is moving to) in the
  charter's area districts, no district means not eligible; size needs 0 < min_m2 <= max_m2.
- Rent cap per month = max_rent_ratio x market rent per m2 per year x area / 12, rounded
  once by the charter's rounding rule; the cap itself is rounded, and rent <= cap.
- Allocation: the grantee must be on the waiting list, eligible, and the workspace must fit
  its size needs. Only the queue order may be waived, by an exception with a non-empty
  reason; the first by applied_seq that is eligible and fits is otherwise the one.
- Indexation: the rent change date lies inside the lease term and after the last change
  (the lease start, or the previous rent change). A decrease, or no change, is always
  allowed. An increase needs at least 12 whole months since the last change and is at
  most old x (1 + max_indexation_per_year x whole_months / 12), rounded down to the cent,
  and at most the rent cap. The 12-month minimum is there because, measured from each
  last change, frequent small raises would compound above the yearly cap (monthly raises
  at 3% give 3.04% a year); with it, a rent never outgrows old x (1 + cap)^years.
- Affordable share: leased floor area / workspace floor area, where the denominator is the
  registered workspaces' area unless the area's total workspace floor area is given.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.calendar import add_months, add_years, whole_months
from ledger.errors import NotFoundError, RuleViolationError
from ledger.money import Rounding, format_eur, rate_str, round_to_cents

BUSINESS = "business"

Term = tuple[date, date]
"""A lease term as the half-open interval [start, end)."""


@dataclass(frozen=True)
class LeaseTerms:
    """A lease's start, (exclusive) end and monthly rent in cents."""

    start: date
    end: date
    rent_cents_per_month: int


@dataclass(frozen=True)
class Workspace:
    """A Werkcorporatie workspace with its market rent reference (per m2 per year)."""

    workspace_id: str
    district: str
    area_m2: int
    market_rent_cents_per_m2_year: int


@dataclass(frozen=True)
class Applicant:
    """A member on the waiting list, with the facts eligibility and fit are decided on."""

    member_id: str
    member_kind: str
    founded: date | None
    district: str | None
    min_m2: int
    max_m2: int
    applied_seq: int
    applied_on: date


@dataclass(frozen=True)
class LeaseCaps:
    """The charter's lease parameters, as in force for the lease being decided."""

    max_rent_ratio: Decimal
    max_indexation_per_year: Decimal
    max_term_years: int
    max_founded_years: int
    area_districts: frozenset[str]
    rounding: Rounding


@dataclass(frozen=True)
class AllocationDecision:
    """Whether the grant needed a queue exception, and who was passed over if so."""

    exception_used: bool
    passed_over: Applicant | None


@dataclass(frozen=True)
class Occupancy:
    """Leased and vacant floor area at a date, and the affordable share against the target.

    Vacancy counts registered workspaces only; the share divides by `total_m2`.
    """

    total_m2: int
    registered_m2: int
    occupied_m2: int
    vacant_m2: int
    share: Decimal
    target: Decimal
    meets_target: bool


def _percent(ratio: Decimal) -> str:
    return f"{rate_str(ratio * 100)}%"


def _districts(caps: LeaseCaps) -> str:
    return ", ".join(sorted(caps.area_districts)) or "(none)"


def rent_cap_cents(workspace: Workspace, caps: LeaseCaps) -> int:
    """The highest monthly rent for the workspace, in cents, rounded once by the charter rule."""
    # One division, last: the result is exact whenever the exact value terminates.
    eur = (
        caps.max_rent_ratio
        * workspace.market_rent_cents_per_m2_year
        * workspace.area_m2
        / Decimal(1200)
    )
    return round_to_cents(eur, caps.rounding)


def check_rent(rent_cents_per_month: int, workspace: Workspace, caps: LeaseCaps) -> None:
    """Refuse a monthly rent that is not positive or is above the workspace's rent cap."""
    wid = workspace.workspace_id
    if rent_cents_per_month <= 0:
        raise RuleViolationError(
            f"workspace {wid}: expected a positive monthly rent, "
            f"found {format_eur(rent_cents_per_month)}"
        )
    cap = rent_cap_cents(workspace, caps)
    if rent_cents_per_month > cap:
        raise RuleViolationError(
            f"workspace {wid}: rent {format_eur(rent_cents_per_month)} per month is above "
            f"the cap {format_eur(cap)} ({_percent(caps.max_rent_ratio)} of market rent "
            f"{format_eur(workspace.market_rent_cents_per_m2_year)} per m2 per year "
            f"x {workspace.area_m2} m2 / 12)"
        )


def check_term(start: date, end: date, caps: LeaseCaps) -> None:
    """Refuse a term that is empty or longer than the charter's maximum (end is exclusive)."""
    if end <= start:
        raise RuleViolationError(
            f"lease term: expected the end after the start {start.isoformat()}, "
            f"found end {end.isoformat()}"
        )
    latest = add_years(start, caps.max_term_years)
    if end > latest:
        raise RuleViolationError(
            f"lease term: expected an end on or before {latest.isoformat()} "
            f"(at most {caps.max_term_years} years after the start {start.isoformat()}), "
            f"found end {end.isoformat()}"
        )


def _ineligibility(applicant: Applicant, start: date, caps: LeaseCaps) -> str | None:
    """Why the applicant may not lease from `start`, or None when it may."""
    if applicant.member_kind != BUSINESS:
        return f"expected a business member, found member kind {applicant.member_kind!r}"
    earliest = add_years(start, -caps.max_founded_years)
    if applicant.founded is None:
        return (
            f"expected a founding date on or after {earliest.isoformat()}, found no founding date"
        )
    if applicant.founded < earliest:
        return (
            f"expected founded on or after {earliest.isoformat()} "
            f"(at most {caps.max_founded_years} years before the lease start "
            f"{start.isoformat()}), found founded {applicant.founded.isoformat()}"
        )
    if applicant.founded > start:
        # A lease to a business that does not exist yet on its first day has no tenant.
        return (
            f"expected founded on or before the lease start {start.isoformat()}, "
            f"found founded {applicant.founded.isoformat()}"
        )
    if applicant.district is None:
        return f"expected a district in the area ({_districts(caps)}), found no district"
    if applicant.district not in caps.area_districts:
        return (
            f"expected a district in the area ({_districts(caps)}), "
            f"found district {applicant.district!r}"
        )
    if not 0 < applicant.min_m2 <= applicant.max_m2:
        return (
            f"expected size needs 0 < min_m2 <= max_m2, "
            f"found min_m2 {applicant.min_m2} and max_m2 {applicant.max_m2}"
        )
    return None


def check_eligible(applicant: Applicant, start: date, caps: LeaseCaps) -> None:
    """Refuse an applicant the charter does not let lease a workspace from `start`."""
    reason = _ineligibility(applicant, start, caps)
    if reason is not None:
        raise RuleViolationError(f"member {applicant.member_id}: {reason}")


def fits(applicant: Applicant, workspace: Workspace) -> bool:
    """Whether the workspace's floor area is within the applicant's size needs (inclusive)."""
    return applicant.min_m2 <= workspace.area_m2 <= applicant.max_m2


def overlaps(a: Term, b: Term) -> bool:
    """Whether two half-open terms [start, end) share a day; touching terms do not."""
    return a[0] < b[1] and b[0] < a[1]


def check_no_overlap(new: Term, existing: Iterable[tuple[str, date, date]]) -> None:
    """Refuse a term that overlaps any existing lease of the same workspace, naming it."""
    for lease_id, start, end in existing:
        if overlaps(new, (start, end)):
            raise RuleViolationError(
                f"lease term {new[0].isoformat()} to {new[1].isoformat()}: expected no "
                f"overlap, found lease {lease_id} from {start.isoformat()} to "
                f"{end.isoformat()} (end dates exclusive)"
            )


def first_in_queue(
    queue: Sequence[Applicant], workspace: Workspace, start: date, caps: LeaseCaps
) -> Applicant | None:
    """The applicant earliest by applied_seq that is eligible from `start` and fits."""
    # sorted() is stable, so equal sequence numbers keep the caller's order.
    for applicant in sorted(queue, key=lambda a: a.applied_seq):
        if fits(applicant, workspace) and _ineligibility(applicant, start, caps) is None:
            return applicant
    return None


def check_allocation(
    member_id: str,
    queue: Sequence[Applicant],
    workspace: Workspace,
    start: date,
    caps: LeaseCaps,
    exception_reason: str | None,
) -> AllocationDecision:
    """Refuse a grant out of queue order without a reason; eligibility and fit are never waived."""
    wid = workspace.workspace_id
    own = sorted((a for a in queue if a.member_id == member_id), key=lambda a: a.applied_seq)
    if not own:
        raise RuleViolationError(
            f"workspace {wid}: expected {member_id} on the waiting list, found no application"
        )
    grantee = own[0]
    check_eligible(grantee, start, caps)
    if not fits(grantee, workspace):
        raise RuleViolationError(
            f"workspace {wid}: expected an area within the needs of {member_id} "
            f"({grantee.min_m2} to {grantee.max_m2} m2), found {workspace.area_m2} m2"
        )
    first = first_in_queue(queue, workspace, start, caps)
    # The grantee is eligible and fits, so `first` is never None here; it may be earlier.
    if first is None or first.member_id == member_id:
        return AllocationDecision(exception_used=False, passed_over=None)
    if exception_reason is None or not exception_reason.strip():
        raise RuleViolationError(
            f"workspace {wid}: {first.member_id} is first in the queue "
            f"(applied {first.applied_on.isoformat()}); record an exception with a reason "
            f"to grant to {member_id}"
        )
    return AllocationDecision(exception_used=True, passed_over=first)


def indexation_ceiling_cents(old_rent: int, months: int, caps: LeaseCaps) -> int:
    """The highest rent an indexation may set after `months` whole months, rounded down."""
    eur = old_rent * (12 + caps.max_indexation_per_year * months) / Decimal(1200)
    return round_to_cents(eur, "truncate")


def check_indexation(
    old_rent: int,
    new_rent: int,
    last_change: date,
    on: date,
    term: Term,
    workspace: Workspace,
    caps: LeaseCaps,
) -> None:
    """Refuse a rent change outside the term, not after the last change, or above the caps."""
    wid = workspace.workspace_id
    start, end = term
    if not start <= on < end:
        raise RuleViolationError(
            f"workspace {wid}: expected a rent change date in the lease term "
            f"{start.isoformat()} to {end.isoformat()} (end exclusive), found {on.isoformat()}"
        )
    if last_change < start:
        raise RuleViolationError(
            f"workspace {wid}: expected the last rent change on or after the lease start "
            f"{start.isoformat()}, found {last_change.isoformat()}"
        )
    if on <= last_change:
        raise RuleViolationError(
            f"workspace {wid}: expected a rent change date after the last change "
            f"{last_change.isoformat()}, found {on.isoformat()}"
        )
    if new_rent <= 0:
        raise RuleViolationError(
            f"workspace {wid}: expected a positive monthly rent, found {format_eur(new_rent)}"
        )
    if new_rent <= old_rent:
        return
    months = whole_months(last_change, on)
    if months < 12:
        raise RuleViolationError(
            f"workspace {wid}: expected at least 12 whole months since the last change "
            f"{last_change.isoformat()} before a rent increase, found {months} on {on.isoformat()}"
        )
    ceiling = indexation_ceiling_cents(old_rent, months, caps)
    if new_rent > ceiling:
        raise RuleViolationError(
            f"workspace {wid}: rent {format_eur(new_rent)} is above the indexation ceiling "
            f"{format_eur(ceiling)} ({format_eur(old_rent)} raised by "
            f"{_percent(caps.max_indexation_per_year)} a year over {months} months "
            f"since {last_change.isoformat()})"
        )
    check_rent(new_rent, workspace, caps)


def affordable_share(
    workspaces: Iterable[Workspace],
    leased: Collection[str],
    target: Decimal,
    total_floor_m2: int | None = None,
) -> Occupancy:
    """Occupied and vacant floor area, and the leased share against the charter's target.

    `leased` holds the ids of the workspaces under an affordable lease on the report date.
    `total_floor_m2`, when given, is the area's whole workspace floor area (market-rent
    space outside the Werkcorporatie included); by default it is the registered area.
    """
    areas = {w.workspace_id: w.area_m2 for w in workspaces}
    for wid in sorted(leased):
        if wid not in areas:
            raise NotFoundError(f"workspace {wid}: leased but not registered")
    registered_m2 = sum(areas.values())
    occupied_m2 = sum(areas[wid] for wid in set(leased))
    total_m2 = registered_m2 if total_floor_m2 is None else total_floor_m2
    if total_m2 < registered_m2:
        raise RuleViolationError(
            f"affordable share: expected a total floor area of at least the registered "
            f"{registered_m2} m2, found {total_m2} m2"
        )
    share = Decimal(occupied_m2) / total_m2 if total_m2 else Decimal(0)
    # Compare in exact integers and decimals, not through the rounded quotient.
    meets = occupied_m2 >= target * total_m2
    return Occupancy(
        total_m2=total_m2,
        registered_m2=registered_m2,
        occupied_m2=occupied_m2,
        vacant_m2=registered_m2 - occupied_m2,
        share=share,
        target=target,
        meets_target=meets,
    )


# -- edition 2 (charter version 2): lease types, market-rent revaluation, ROZ indexation -------

LEASE_TYPES = ("7:230a", "7:290")
# Art. 7:292 BW: a 7:290 lease of more than 2 years runs 5 years and is renewed by law to 10.
SHORT_7_290_YEARS = 2
FIRST_TERM_7_290_YEARS = 5
RENEWED_7_290_YEARS = 10


def lease_end_by_law(start: date, end: date, lease_type: str, caps: LeaseCaps) -> date:
    """Check the agreed term of a lease of `lease_type` and return the day the workspace is
    free again by law (exclusive): the agreed end, or for a 7:290 lease over 2 years the end
    of its renewal to 10 years.

    7:230a (other business space): `start < end <= add_years(start, max_term_years)`.
    7:290 (premises open to the public): `start < end <= add_years(start, 2)` (a short lease),
    or `end = add_years(start, 5)`, which the law renews to `add_years(start, 10)`; the
    charter's maximum term does not apply, the law fixes the term.
    """
    if lease_type == "7:230a":
        check_term(start, end, caps)
        return end
    if lease_type != "7:290":
        raise RuleViolationError(
            f"lease type: expected one of {', '.join(LEASE_TYPES)}, found {lease_type!r}"
        )
    if end <= start:
        raise RuleViolationError(
            f"lease term: expected the end after the start {start.isoformat()}, "
            f"found end {end.isoformat()}"
        )
    short = add_years(start, SHORT_7_290_YEARS)
    first_term = add_years(start, FIRST_TERM_7_290_YEARS)
    if end <= short:
        return end
    if end != first_term:
        raise RuleViolationError(
            f"lease term (7:290): expected an end on or before {short.isoformat()} (at most "
            f"{SHORT_7_290_YEARS} years) or on {first_term.isoformat()} (a term over "
            f"{SHORT_7_290_YEARS} years runs {FIRST_TERM_7_290_YEARS} years by law), "
            f"found end {end.isoformat()}"
        )
    return add_years(start, RENEWED_7_290_YEARS)


def roz_months(on: date) -> tuple[str, str]:
    """The CPI months of the ROZ formula for a rent change on `on`: (4 months before the
    adjustment month, 16 months before it)."""
    first = on.replace(day=1)
    new, old = add_months(first, -4), add_months(first, -16)
    return f"{new.year:04d}-{new.month:02d}", f"{old.year:04d}-{old.month:02d}"


def roz_rent_cents(
    old_rent: int, index_new: Decimal, index_old: Decimal, rounding: Rounding
) -> int:
    """The ROZ formula: rent x I(4 months before) / I(16 months before), rounded once by the
    charter's rule."""
    return round_to_cents(old_rent * index_new / (index_old * 100), rounding)


@dataclass(frozen=True)
class RozIndexation:
    """An edition-2 indexation: the formula's result and the two caps; `highest` is the least
    of the three, the highest rent the indexation may set."""

    months: int
    formula_cents: int
    ceiling_cents: int
    cap_cents: int

    @property
    def highest_cents(self) -> int:
        return min(self.formula_cents, self.ceiling_cents, self.cap_cents)


def roz_indexation(
    old_rent: int,
    last_change: date,
    on: date,
    term: Term,
    workspace: Workspace,
    caps: LeaseCaps,
    index_new: Decimal,
    index_old: Decimal,
) -> RozIndexation:
    """Check the date of an edition-2 indexation and compute the highest rent it may set.

    The change date lies in the term, after the last change and at least 12 whole months
    after it (the ROZ adjustment is yearly). The highest rent is the least of the ROZ
    formula's result, the charter's yearly ceiling (`indexation_ceiling_cents`) and the rent
    cap on the workspace's market rent in force on `on`.
    """
    wid = workspace.workspace_id
    start, end = term
    if not start <= on < end:
        raise RuleViolationError(
            f"workspace {wid}: expected a rent change date in the lease term "
            f"{start.isoformat()} to {end.isoformat()} (end exclusive), found {on.isoformat()}"
        )
    if on <= last_change:
        raise RuleViolationError(
            f"workspace {wid}: expected a rent change date after the last change "
            f"{last_change.isoformat()}, found {on.isoformat()}"
        )
    months = whole_months(last_change, on)
    if months < 12:
        raise RuleViolationError(
            f"workspace {wid}: expected at least 12 whole months since the last change "
            f"{last_change.isoformat()} before an indexation, found {months} on {on.isoformat()}"
        )
    return RozIndexation(
        months=months,
        formula_cents=roz_rent_cents(old_rent, index_new, index_old, caps.rounding),
        ceiling_cents=indexation_ceiling_cents(old_rent, months, caps),
        cap_cents=rent_cap_cents(workspace, caps),
    )


def check_roz_rent(new_rent: int, result: RozIndexation, workspace: Workspace) -> None:
    """Refuse a typed rent that is not positive or is above the indexation's highest rent."""
    wid = workspace.workspace_id
    if new_rent <= 0:
        raise RuleViolationError(
            f"workspace {wid}: expected a positive monthly rent, found {format_eur(new_rent)}"
        )
    if new_rent > result.highest_cents:
        raise RuleViolationError(
            f"workspace {wid}: rent {format_eur(new_rent)} is above the highest indexed rent "
            f"{format_eur(result.highest_cents)} (ROZ formula {format_eur(result.formula_cents)}, "
            f"yearly ceiling {format_eur(result.ceiling_cents)}, rent cap "
            f"{format_eur(result.cap_cents)})"
        )
