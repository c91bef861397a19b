"""Levy-bound property and the surplus-value levy: registration, sales, payments and waivers."""

# Decisions (terms copied into the property, the baseline policy, accounts, dates):
# docs/decisions/0007-levy-contributions-gem.md.

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ledger.charter import Charter, ExemptTransfer
from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import InputError, NotFoundError, RuleViolationError
from ledger.money import MAX_CENTS, Rounding, format_eur, rate_str
from ledger.postings import Posting, post, transfer
from ledger.rules.contributions import ChargeLine, contribution_source, month_end, runs
from ledger.rules.corrections import cannot_reverse, effect_of, remember
from ledger.rules.ids import check_unique
from ledger.rules.index_series import index_lookup
from ledger.rules.levy_rules import LevyComputation, compute_levy, term_end
from ledger.state import Ctx, Record, State, charter_at, kind, reverser
from ledger.types import (
    FROZEN,
    DecimalStr,
    Ident,
    Month,
    NonNegCents,
    edition_2_field,
    month_of,
    validated,
)

PropertyKind = Literal["home", "commercial", "plot", "dwelling"]
PROPERTY_KINDS: tuple[PropertyKind, ...] = ("home", "commercial", "plot", "dwelling")
BaselinePolicy = Literal["reset-on-sale", "keep"]
# Edition 2: every disposal within the term is levied, not only a sale. A gift, a sale between
# related parties and a sale of the owning company are levied on the appraised value; the
# charter's exempt transfers pay nothing and keep the baseline.
Disposal = Literal[
    "sale", "gift", "related-party-sale", "share-deal", "inheritance", "divorce", "expropriation"
]
DISPOSALS: tuple[Disposal, ...] = (
    "sale", "gift", "related-party-sale", "share-deal", "inheritance", "divorce", "expropriation"
)  # fmt: skip
# Why a disposal paid nothing although in term (edition 2).
Exemption = Literal["inheritance", "divorce", "expropriation", "cooperative-dwelling"]

PropertyId = Annotated[str, Field(pattern=r"^P-[A-Za-z0-9._-]{1,62}$")]
District = Annotated[str, Field(min_length=1, max_length=100)]
Ref = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
PositiveCents = Annotated[int, Field(gt=0, le=MAX_CENTS, strict=True)]

GEM_LEVY = "gem:levy"
GEM_LEVY_CASH = "gem:levy:cash"
GEM_LEVY_WAIVED = "gem:levy:waived"


def receivable(property_id: str) -> str:
    return f"levy:receivable:{property_id}"


class PropertyRegistered(BaseModel):
    """A levy-bound property with the levy terms of the charter in force, copied."""

    model_config = FROZEN
    property_id: PropertyId
    property_kind: PropertyKind
    district: District
    delivered: date
    baseline_cents: NonNegCents
    baseline_month: Month
    index_series: Ident
    charter_seq: int = Field(ge=0, strict=True)
    rate: DecimalStr
    term_years: int = Field(ge=1, le=200, strict=True)
    baseline_policy: BaselinePolicy
    rounding: Rounding
    exempt_transfers: tuple[ExemptTransfer, ...] | None = edition_2_field(
        "the charter's exempt transfers, copied (edition 2)"
    )
    dwellings_exempt: bool | None = edition_2_field(
        "whether the cooperative's dwellings are exempt, copied (edition 2)"
    )


class LevyAssessment(BaseModel):
    """Every input of a levy computation and its results (index values are None after the
    term: no levy is computed then)."""

    model_config = FROZEN
    index_series: Ident
    baseline_cents: NonNegCents
    baseline_month: Month
    baseline_index: DecimalStr | None
    sale_month: Month
    sale_index: DecimalStr | None
    rate: DecimalStr
    delivered: date
    term_years: int = Field(ge=1, le=200, strict=True)
    term_end: date
    rounding: Rounding
    in_term: bool
    expected_cents: NonNegCents | None
    extra_cents: NonNegCents | None
    levy_cents: NonNegCents
    credit_cents: NonNegCents | None = edition_2_field(
        "K: the extra increase already assessed since the baseline (edition 2, keep policy)"
    )
    exemption: Exemption | None = edition_2_field(
        "why an in-term disposal pays no levy (edition 2); no index is read then"
    )


class PropertySold(BaseModel):
    model_config = FROZEN
    property_id: PropertyId
    property_kind: PropertyKind
    district: District
    sale_date: date
    price_cents: NonNegCents
    appraisal_cents: NonNegCents | None = None
    improvements_cents: NonNegCents = 0
    deed_ref: Ref
    levy: LevyAssessment
    postings: tuple[Posting, ...]
    disposal: Disposal | None = edition_2_field("what kind of disposal (edition 2)")


class LevyPaid(BaseModel):
    model_config = FROZEN
    sale_seq: int = Field(ge=0, strict=True)
    property_id: PropertyId
    amount_cents: PositiveCents
    ref: Ref
    postings: tuple[Posting, ...]


class LevyWaived(BaseModel):
    model_config = FROZEN
    sale_seq: int = Field(ge=0, strict=True)
    property_id: PropertyId
    amount_cents: PositiveCents
    reason: Reason
    postings: tuple[Posting, ...]


# -- reading the state -------------------------------------------------------------------------


def get_property(state: State, property_id: str) -> Record:
    record = state.get("property", property_id)
    if record is None:
        raise NotFoundError(f"unknown property {property_id}")
    return record


def get_sale(state: State, sale_seq: int) -> Record:
    record = state.get("levy", sale_key(sale_seq))
    if record is None:
        raise NotFoundError(f"no property sale at entry {sale_seq}")
    return record


def sale_key(seq: int) -> str:
    # Zero-padded, so a scan of the namespace lists sales in log order.
    return f"{seq:012d}"


def _index(state: State, series: str, month: str, property_id: str, what: str) -> Decimal:
    value = index_lookup(state)(series, month)
    if value is None:
        raise RuleViolationError(
            f"property {property_id}: index {series} has no published value for {month} "
            f"(the {what} month): publish it before recording the sale"
        )
    return value


def assess(
    state: State,
    property_id: str,
    sale_date: date,
    price_cents: int,
    appraisal_cents: int | None,
    improvements_cents: int,
    disposal: Disposal | None = None,
) -> tuple[LevyAssessment, LevyComputation | None]:
    """The levy on a disposal of the property as it stands now, with its trail (None after the
    term or for an exempt disposal, when nothing is computed)."""
    prop = get_property(state, property_id)
    _, charter = charter_at(state)
    delivered = date.fromisoformat(prop["delivered"])
    if sale_date < delivered:
        raise RuleViolationError(
            f"property {property_id}: sale date {sale_date} is before the delivery date {delivered}"
        )
    last = prop["last_sale_date"]
    if last is not None and sale_date < date.fromisoformat(last):
        raise RuleViolationError(
            f"property {property_id}: sale date {sale_date} is before its previous sale on {last}"
        )
    end = term_end(delivered, int(prop["term_years"]))
    common: dict[str, Any] = {
        "index_series": prop["index_series"],
        "baseline_cents": prop["baseline_cents"],
        "baseline_month": prop["baseline_month"],
        "sale_month": month_of(sale_date),
        "rate": prop["rate"],
        "delivered": delivered,
        "term_years": prop["term_years"],
        "term_end": end,
        "rounding": prop["rounding"],
    }
    exemption, credit = _edition_2_terms(prop, charter, property_id, disposal, appraisal_cents)
    if exemption is not None:
        return (
            LevyAssessment(
                **common,
                baseline_index=None,
                sale_index=None,
                in_term=sale_date < end,
                expected_cents=None,
                extra_cents=None,
                levy_cents=0,
                exemption=exemption,
            ),
            None,
        )
    if sale_date >= end:
        return (
            LevyAssessment(
                **common,
                baseline_index=None,
                sale_index=None,
                in_term=False,
                expected_cents=None,
                extra_cents=None,
                levy_cents=0,
            ),
            None,
        )
    base_index = _index(
        state, prop["index_series"], prop["baseline_month"], property_id, "baseline"
    )
    sale_index = _index(state, prop["index_series"], month_of(sale_date), property_id, "sale")
    computation = compute_levy(
        baseline_cents=int(prop["baseline_cents"]),
        baseline_index=base_index,
        sale_index=sale_index,
        sale_price_cents=price_cents,
        appraisal_cents=appraisal_cents,
        improvements_cents=improvements_cents,
        rate=Decimal(prop["rate"]),
        delivered=delivered,
        sale_date=sale_date,
        term_years=int(prop["term_years"]),
        rounding=prop["rounding"],
        credit_cents=credit,
    )
    assessment = LevyAssessment(
        **common,
        baseline_index=rate_str(base_index),
        sale_index=rate_str(sale_index),
        in_term=computation.in_term,
        expected_cents=computation.expected_cents,
        extra_cents=computation.extra_cents,
        levy_cents=computation.levy_cents,
        credit_cents=credit,
    )
    return assessment, computation


def _edition_2_terms(
    prop: Record,
    charter: Charter,
    property_id: str,
    disposal: Disposal | None,
    appraisal_cents: int | None,
) -> tuple[Exemption | None, int | None]:
    """The disposal's exemption, if any, and the keep policy's credit K (edition 2; under a
    version-1 charter only sales are recorded and nothing is credited or exempt)."""
    if not charter.rules_from(2):
        if disposal is not None:
            raise RuleViolationError(
                f"property {property_id}: disposal kind {disposal!r} is recorded from charter "
                f"version 2; under version {charter.version} only a sale is"
            )
        return None, None
    if disposal is None:
        raise RuleViolationError(
            f"property {property_id}: under charter version 2 a disposal names its kind "
            f"({', '.join(DISPOSALS)})"
        )
    # The terms copied at registration; a property registered under version 1 has none and
    # reads them from the charter in force at the disposal.
    exempt = prop.get("exempt_transfers")
    if exempt is None:
        exempt = charter.levy.exempt_transfers or ()
    if disposal in exempt:
        return disposal, None  # type: ignore[return-value]  # an ExemptTransfer
    dwellings_exempt = prop.get("dwellings_exempt")
    if dwellings_exempt is None:
        dwellings_exempt = bool(charter.levy.dwellings_exempt)
    if prop["property_kind"] == "dwelling" and dwellings_exempt:
        return "cooperative-dwelling", None
    if disposal != "sale" and appraisal_cents is None:
        raise RuleViolationError(
            f"property {property_id}: a disposal of kind {disposal} is levied on the appraised "
            f"value: record an independent appraisal"
        )
    if prop["baseline_policy"] != "keep":
        return None, None
    return None, int(prop.get("levied_extra_cents", 0))


def explain(body: PropertySold) -> LevyComputation | None:
    """The levy's trail from the inputs a sale entry recorded (pure: no state needed)."""
    levy = body.levy
    if levy.baseline_index is None or levy.sale_index is None:
        return None
    return compute_levy(
        baseline_cents=levy.baseline_cents,
        baseline_index=Decimal(levy.baseline_index),
        sale_index=Decimal(levy.sale_index),
        sale_price_cents=body.price_cents,
        appraisal_cents=body.appraisal_cents,
        improvements_cents=body.improvements_cents,
        rate=Decimal(levy.rate),
        delivered=levy.delivered,
        sale_date=body.sale_date,
        term_years=levy.term_years,
        rounding=levy.rounding,
        credit_cents=levy.credit_cents,
    )


def explain_lines(seq: int, body: PropertySold) -> list[str]:
    """The computation line by line, as `levy explain` and `property sell --dry-run` print it."""
    levy = body.levy
    noun = "sale" if body.disposal is None else body.disposal
    lines = [
        f"{noun} of {body.property_id} ({body.property_kind}, {body.district}) on {body.sale_date}"
        f"{'' if seq < 0 else f' (entry {seq})'}, deed {body.deed_ref}",
        f"baseline V_base = {format_eur(levy.baseline_cents)} at {levy.baseline_month}; "
        f"index {levy.index_series}: I({levy.baseline_month}) = {levy.baseline_index or '-'}, "
        f"I({levy.sale_month}) = {levy.sale_index or '-'}",
        f"rate {levy.rate}, term {levy.term_years} years (until {levy.term_end}), "
        f"rounding {levy.rounding}",
    ]
    computation = explain(body)
    if levy.exemption is not None:
        lines.append(
            f"exempt ({levy.exemption}): no levy (L = 0.00), the baseline is kept"
            if levy.exemption != "cooperative-dwelling"
            else "the cooperative's own dwelling, exempt by the charter: no levy (L = 0.00)"
        )
    elif computation is None:
        lines.append(
            f"sale on {body.sale_date} is on or after {levy.term_end}, the end of the term: "
            f"no levy (L = 0.00)"
        )
    else:
        lines.extend(computation.steps)
    lines.append(f"levy charged: {format_eur(levy.levy_cents)}")
    return lines


def _next_baseline(prop: Record, body: PropertySold) -> tuple[int, str, int]:
    """The baseline after a disposal, and K, the extra increase assessed since it (kept for
    every sale, so that an edition-2 sale under `keep` credits what any earlier sale assessed:
    K is the largest cumulative extra assessed, in cents)."""
    kept = int(prop.get("levied_extra_cents", 0))
    if body.levy.exemption is not None:
        return int(prop["baseline_cents"]), str(prop["baseline_month"]), kept
    if prop["baseline_policy"] == "keep":
        if body.levy.extra_cents is not None:
            kept = max(kept, (body.levy.credit_cents or 0) + body.levy.extra_cents)
        return int(prop["baseline_cents"]), str(prop["baseline_month"]), kept
    declared = max(body.price_cents, body.appraisal_cents or 0)
    return declared, month_of(body.sale_date), 0


# -- appliers ----------------------------------------------------------------------------------


@kind("property.registered")
def _registered(state: State, body: PropertyRegistered, ctx: Ctx) -> None:
    existing = state.get("property", body.property_id)
    if existing is not None:
        raise RuleViolationError(
            f"property {body.property_id} is already registered "
            f"(entry {existing['registered_seq']})"
        )
    check_unique(state, "property", body.property_id)
    charter_seq, charter = charter_at(state)
    if body.district not in charter.cooperative.districts:
        raise RuleViolationError(
            f"property {body.property_id}: district {body.district!r} is not one of the "
            f"charter's districts ({', '.join(charter.cooperative.districts)})"
        )
    terms = charter.levy
    recorded = (
        body.charter_seq,
        body.rate,
        body.term_years,
        body.baseline_policy,
        body.rounding,
        body.exempt_transfers,
        body.dwellings_exempt,
    )
    in_force = (
        charter_seq,
        terms.rate,
        terms.term_years,
        terms.baseline_policy,
        charter.cooperative.rounding,
        terms.exempt_transfers,
        terms.dwellings_exempt,
    )
    if recorded != in_force:
        raise RuleViolationError(
            f"property {body.property_id}: levy terms (charter {recorded[0]}, rate {recorded[1]}, "
            f"{recorded[2]} years, {recorded[3]}, {recorded[4]}, exempt {recorded[5]}, "
            f"dwellings exempt {recorded[6]}) differ from the charter in force (entry "
            f"{in_force[0]}: rate {in_force[1]}, {in_force[2]} years, {in_force[3]}, "
            f"{in_force[4]}, exempt {in_force[5]}, dwellings exempt {in_force[6]})"
        )
    state.put(
        "property",
        body.property_id,
        {
            "property_kind": body.property_kind,
            "district": body.district,
            "delivered": body.delivered.isoformat(),
            "index_series": body.index_series,
            "baseline_cents": body.baseline_cents,
            "baseline_month": body.baseline_month,
            "rate": body.rate,
            "term_years": body.term_years,
            "baseline_policy": body.baseline_policy,
            "rounding": body.rounding,
            "exempt_transfers": None
            if body.exempt_transfers is None
            else list(body.exempt_transfers),
            "dwellings_exempt": body.dwellings_exempt,
            "charter_seq": body.charter_seq,
            "registered_seq": ctx.seq,
            "sales": [],
            "last_sale_date": None,
            "levied_extra_cents": 0,
        },
    )
    remember(state, "property.registered", body, ctx)


@kind("property.sold")
def _sold(state: State, body: PropertySold, ctx: Ctx) -> None:
    what = f"sale of {body.property_id}"
    prop = get_property(state, body.property_id)
    if (body.property_kind, body.district) != (prop["property_kind"], prop["district"]):
        raise RuleViolationError(
            f"{what}: recorded as {body.property_kind} in {body.district}, registered as "
            f"{prop['property_kind']} in {prop['district']}"
        )
    if body.sale_date != ctx.effective:
        raise RuleViolationError(
            f"{what}: sale date {body.sale_date} differs from the entry's effective date "
            f"{ctx.effective}"
        )
    assessment, _ = assess(
        state,
        body.property_id,
        body.sale_date,
        body.price_cents,
        body.appraisal_cents,
        body.improvements_cents,
        body.disposal,
    )
    if body.levy != assessment:
        raise RuleViolationError(
            f"{what}: the recorded levy differs from the computation "
            f"({_diff(body.levy, assessment)})"
        )
    postings = _levy_postings(body.property_id, assessment.levy_cents)
    if body.postings != postings:
        raise RuleViolationError(f"{what}: postings are not {_show(postings)}")
    if postings:
        post(state, postings, what, ctx.effective)
    baseline_cents, baseline_month, levied_extra = _next_baseline(prop, body)
    state.put(
        "property",
        body.property_id,
        {
            **prop,
            "baseline_cents": baseline_cents,
            "baseline_month": baseline_month,
            "levied_extra_cents": levied_extra,
            "sales": [*prop["sales"], ctx.seq],
            "last_sale_date": body.sale_date.isoformat(),
        },
    )
    levy = assessment.levy_cents
    state.put(
        "levy",
        sale_key(ctx.seq),
        {
            # What the sale changed on the property, for a correction to put back.
            "before": {
                "baseline_cents": prop["baseline_cents"],
                "baseline_month": prop["baseline_month"],
                "last_sale_date": prop["last_sale_date"],
                "levied_extra_cents": prop.get("levied_extra_cents", 0),
            },
            "corrected_seq": None,
            "property_id": body.property_id,
            "district": body.district,
            "property_kind": body.property_kind,
            "sale_date": body.sale_date.isoformat(),
            "period": month_of(body.sale_date),
            "deed_ref": body.deed_ref,
            "assessed": levy,
            "paid": 0,
            "waived": 0,
            "outstanding": levy,
            "payments": [],
            "waivers": [],
        },
    )
    remember(state, "property.sold", body, ctx)


def _levy_postings(property_id: str, levy_cents: int) -> tuple[Posting, ...]:
    # A sale without a levy moves no money, and a posting of zero is not allowed.
    return transfer(receivable(property_id), GEM_LEVY, levy_cents) if levy_cents else ()


def _settle(
    state: State,
    sale_seq: int,
    property_id: str,
    amount_cents: int,
    postings: tuple[Posting, ...],
    expected: tuple[Posting, ...],
    field: Literal["paid", "waived"],
    ctx: Ctx,
) -> None:
    """Reduce a sale's outstanding levy by a payment or a waiver; never below zero."""
    sale = get_sale(state, sale_seq)
    what = f"levy of sale {sale_seq} ({sale['property_id']})"
    if property_id != sale["property_id"]:
        raise RuleViolationError(f"{what}: the entry names property {property_id}")
    if sale["corrected_seq"] is not None:
        raise RuleViolationError(
            f"{what}: the sale was corrected at entry {sale['corrected_seq']}; no levy is owed on it"
        )
    if ctx.effective < date.fromisoformat(sale["sale_date"]):
        raise RuleViolationError(
            f"{what}: {'payment' if field == 'paid' else 'waiver'} dated {ctx.effective} is "
            f"before the sale on {sale['sale_date']}"
        )
    outstanding = int(sale["outstanding"])
    if amount_cents > outstanding:
        noun = "payment" if field == "paid" else "waiver"
        raise RuleViolationError(
            f"{what}: {noun} {format_eur(amount_cents)} is more than the outstanding "
            f"{format_eur(outstanding)}"
        )
    if postings != expected:
        raise RuleViolationError(f"{what}: postings are not {_show(expected)}")
    post(state, postings, what, ctx.effective)
    history = "payments" if field == "paid" else "waivers"
    state.put(
        "levy",
        sale_key(sale_seq),
        {
            **sale,
            field: int(sale[field]) + amount_cents,
            "outstanding": outstanding - amount_cents,
            history: [*sale[history], ctx.seq],
        },
    )


@kind("levy.paid")
def _levy_paid(state: State, body: LevyPaid, ctx: Ctx) -> None:
    expected = transfer(GEM_LEVY_CASH, receivable(body.property_id), body.amount_cents)
    _settle(
        state,
        body.sale_seq,
        body.property_id,
        body.amount_cents,
        body.postings,
        expected,
        "paid",
        ctx,
    )
    remember(state, "levy.paid", body, ctx)


@kind("levy.waived")
def _levy_waived(state: State, body: LevyWaived, ctx: Ctx) -> None:
    expected = transfer(GEM_LEVY_WAIVED, receivable(body.property_id), body.amount_cents)
    _settle(
        state,
        body.sale_seq,
        body.property_id,
        body.amount_cents,
        body.postings,
        expected,
        "waived",
        ctx,
    )
    remember(state, "levy.waived", body, ctx)


# -- corrections -------------------------------------------------------------------------------


@reverser("property.registered")
def _undo_registration(state: State, body: PropertyRegistered, original: Ctx, _ctx: Ctx) -> None:
    """A registration in error (a wrong baseline, kind or district) is undone while the
    property has no sale in force and no contribution run charged it; it may then be
    registered again, right."""
    pid = body.property_id
    prop = get_property(state, pid)
    if prop["sales"]:
        raise cannot_reverse(
            original,
            "property.registered",
            f"property {pid} has sales in force (entries "
            f"{', '.join(str(seq) for seq in prop['sales'])}); correct those first",
        )
    if prop["property_kind"] == "home":
        delivered = date.fromisoformat(prop["delivered"])
        # A run charges every home registered before it and delivered by the month's end.
        charged = [
            (month, int(run["seq"]))
            for month, run in runs(state)
            if int(run["seq"]) > original.seq and month_end(month) >= delivered
        ]
        if charged:
            month, seq = charged[0]
            raise cannot_reverse(
                original,
                "property.registered",
                f"the contribution run for {month} (entry {seq}) charged home {pid}",
            )
    state.delete("property", pid)


@reverser("property.sold")
def _undo_sale(state: State, body: PropertySold, original: Ctx, ctx: Ctx) -> None:
    """The sale never happened: the property's baseline and last sale date are put back and
    the levy is no longer owed. Only the latest sale of a property, and only while its levy
    has no payment or waiver in force (correct those first)."""
    pid = body.property_id
    sale = get_sale(state, original.seq)
    prop = get_property(state, pid)
    later = [seq for seq in prop["sales"] if seq > original.seq]
    if later:
        raise cannot_reverse(
            original,
            "property.sold",
            f"property {pid} was sold again at entry {later[-1]}; correct that sale first",
        )
    settled = sorted([*sale["payments"], *sale["waivers"]])
    if settled:
        raise cannot_reverse(
            original,
            "property.sold",
            f"its levy has payments or waivers in force (entries "
            f"{', '.join(str(seq) for seq in settled)}); correct those first",
        )
    before = sale["before"]
    state.put(
        "property",
        pid,
        {
            **prop,
            **before,
            "sales": [seq for seq in prop["sales"] if seq != original.seq],
        },
    )
    state.put("levy", sale_key(original.seq), {**sale, "outstanding": 0, "corrected_seq": ctx.seq})


@reverser("levy.paid")
def _undo_payment(state: State, body: LevyPaid, original: Ctx, _ctx: Ctx) -> None:
    _unsettle(state, body.sale_seq, body.amount_cents, "paid", original)


@reverser("levy.waived")
def _undo_waiver(state: State, body: LevyWaived, original: Ctx, _ctx: Ctx) -> None:
    _unsettle(state, body.sale_seq, body.amount_cents, "waived", original)


def _unsettle(
    state: State,
    sale_seq: int,
    amount_cents: int,
    field: Literal["paid", "waived"],
    original: Ctx,
) -> None:
    """A payment or waiver that never happened: the amount is outstanding again."""
    sale = get_sale(state, sale_seq)
    history = "payments" if field == "paid" else "waivers"
    if original.seq not in sale[history]:
        raise cannot_reverse(
            original,
            f"levy.{field}",
            f"it is not among the {history} in force of sale {sale_seq}",
        )
    state.put(
        "levy",
        sale_key(sale_seq),
        {
            **sale,
            field: int(sale[field]) - amount_cents,
            "outstanding": int(sale["outstanding"]) + amount_cents,
            history: [seq for seq in sale[history] if seq != original.seq],
        },
    )


def _diff(recorded: BaseModel, computed: BaseModel) -> str:
    a, b = recorded.model_dump(mode="json"), computed.model_dump(mode="json")
    for key in b:
        if a.get(key) != b[key]:
            return f"{key} recorded {a.get(key)}, computed {b[key]}"
    return "same values"  # pragma: no cover - called only when the models differ


def _show(postings: tuple[Posting, ...]) -> str:
    if not postings:
        return "empty (no levy, no money moves)"
    return ", ".join(f"{p.account} {format_eur(p.amount_cents)}" for p in postings)


# -- the homes source of the monthly area contribution ---------------------------------------


@contribution_source
def homes_in_use(state: State, month: str) -> list[ChargeLine]:
    """Levy-bound properties of kind home delivered by the end of the month. Dwellings are
    charged through the dwellings' own source, commercial buildings and plots not at all."""
    last_day = month_end(month)
    return [
        ChargeLine(subject=pid, subject_kind="home", district=record["district"])
        for pid, record in state.scan("property")
        if record["property_kind"] == "home" and date.fromisoformat(record["delivered"]) <= last_day
    ]


# -- commands ----------------------------------------------------------------------------------


def register_property(
    property_id: str,
    property_kind: str,
    district: str,
    delivered: date,
    baseline_cents: int,
    effective: date,
    baseline_month: str | None = None,
    index_series: str | None = None,
) -> Command:
    """Register a levy-bound property under the levy terms of the charter in force."""

    def decide(state: State, _ctx: Ctx) -> Fact:
        charter_seq, charter = charter_at(state)
        body = validated(
            PropertyRegistered,
            property_id=property_id,
            property_kind=property_kind,
            district=district,
            delivered=delivered,
            baseline_cents=baseline_cents,
            baseline_month=baseline_month or month_of(delivered),
            index_series=index_series or charter.levy.default_index,
            charter_seq=charter_seq,
            rate=charter.levy.rate,
            term_years=charter.levy.term_years,
            baseline_policy=charter.levy.baseline_policy,
            rounding=charter.cooperative.rounding,
            exempt_transfers=charter.levy.exempt_transfers,
            dwellings_exempt=charter.levy.dwellings_exempt,
        )
        return Fact("property.registered", body, effective)

    args = {
        "property_id": property_id,
        "property_kind": property_kind,
        "district": district,
        "delivered": delivered.isoformat(),
        "baseline_cents": baseline_cents,
        "baseline_month": baseline_month,
        "index_series": index_series,
        "effective": effective.isoformat(),
    }
    return LegacyCommand("property.register", args, decide)


def sell_property(
    property_id: str,
    sale_date: date,
    price_cents: int,
    deed_ref: str,
    appraisal_cents: int | None = None,
    improvements_cents: int = 0,
    disposal: str | None = None,
) -> Command:
    """Record a disposal (a sale unless named otherwise, edition 2) with its computed levy; the
    sale date is the entry's effective date."""

    def decide(state: State, _ctx: Ctx) -> Fact:
        prop = get_property(state, property_id)
        _, charter = charter_at(state)
        kind_of: Disposal | None = None
        if disposal is not None or charter.rules_from(2):
            kind_of = _disposal(disposal or "sale")
        assessment, _ = assess(
            state,
            property_id,
            sale_date,
            price_cents,
            appraisal_cents,
            improvements_cents,
            kind_of,
        )
        body = validated(
            PropertySold,
            property_id=property_id,
            property_kind=prop["property_kind"],
            district=prop["district"],
            sale_date=sale_date,
            price_cents=price_cents,
            appraisal_cents=appraisal_cents,
            improvements_cents=improvements_cents,
            deed_ref=deed_ref,
            levy=assessment,
            postings=_levy_postings(property_id, assessment.levy_cents),
            disposal=kind_of,
        )
        return Fact("property.sold", body, sale_date)

    args: dict[str, Any] = {
        "property_id": property_id,
        "sale_date": sale_date.isoformat(),
        "price_cents": price_cents,
        "appraisal_cents": appraisal_cents,
        "improvements_cents": improvements_cents,
        "deed_ref": deed_ref,
    }
    if disposal is not None:  # (requests made before edition 2 keep their fingerprint)
        args["disposal"] = disposal
    return LegacyCommand("property.sell", args, decide)


def _disposal(name: str) -> Disposal:
    for known in DISPOSALS:
        if name == known:
            return known
    raise InputError(f"unknown disposal {name!r}: expected one of {', '.join(DISPOSALS)}")


def pay_levy(sale_seq: int, amount_cents: int, paid_on: date, ref: str) -> Command:
    """Record a (partial) payment of a sale's levy, usually from the notary at transfer."""

    def decide(state: State, _ctx: Ctx) -> Fact:
        sale = get_sale(state, sale_seq)
        pid = sale["property_id"]
        body = validated(
            LevyPaid,
            sale_seq=sale_seq,
            property_id=pid,
            amount_cents=amount_cents,
            ref=ref,
            postings=transfer(GEM_LEVY_CASH, receivable(pid), amount_cents)
            if amount_cents > 0
            else (),
        )
        return Fact("levy.paid", body, paid_on)

    args = {
        "sale_seq": sale_seq,
        "amount_cents": amount_cents,
        "paid_on": paid_on.isoformat(),
        "ref": ref,
    }
    return LegacyCommand("levy.pay", args, decide)


def waive_levy(
    sale_seq: int, reason: str, effective: date, amount_cents: int | None = None
) -> Command:
    """Waive (part of) a sale's outstanding levy; the governor signs, with a reason."""

    def decide(state: State, _ctx: Ctx) -> Fact:
        sale = get_sale(state, sale_seq)
        pid = sale["property_id"]
        amount = int(sale["outstanding"]) if amount_cents is None else amount_cents
        if amount == 0 and amount_cents is None:
            raise RuleViolationError(
                f"levy of sale {sale_seq} ({pid}): nothing is outstanding to waive"
            )
        body = validated(
            LevyWaived,
            sale_seq=sale_seq,
            property_id=pid,
            amount_cents=amount,
            reason=reason,
            postings=transfer(GEM_LEVY_WAIVED, receivable(pid), amount) if amount > 0 else (),
        )
        return Fact("levy.waived", body, effective)

    args = {
        "sale_seq": sale_seq,
        "amount_cents": amount_cents,
        "reason": reason,
        "effective": effective.isoformat(),
    }
    return LegacyCommand("levy.waive", args, decide)


# -- reports -----------------------------------------------------------------------------------


def levy_register(
    state: State, outstanding_only: bool = False, at: date | None = None
) -> Iterator[dict[str, Any]]:
    """Every sale with its levy, in log order (a report: scans the namespace); with `at`, the
    position at the end of that date: sales dated by then, with the payments and waivers in
    force dated by then."""
    for key, record in state.scan("levy"):
        if at is not None:
            if date.fromisoformat(record["sale_date"]) > at:
                continue
            record = _levy_at(state, record, at)
        if outstanding_only and int(record["outstanding"]) == 0:
            continue
        yield {
            "sale_seq": int(key),
            "property_id": record["property_id"],
            "district": record["district"],
            "property_kind": record["property_kind"],
            "sale_date": record["sale_date"],
            "deed_ref": record["deed_ref"],
            "assessed_cents": int(record["assessed"]),
            "paid_cents": int(record["paid"]),
            "waived_cents": int(record["waived"]),
            "outstanding_cents": int(record["outstanding"]),
            "corrected_seq": record["corrected_seq"],
        }


def _levy_at(state: State, record: Record, at: date) -> Record:
    """A sale's levy record as it stood at the end of `at` (a corrected sale owes nothing)."""

    def by(history: str) -> int:
        total = 0
        for seq in record[history]:
            effect = effect_of(state, int(seq))
            assert effect is not None  # payments and waivers are remembered
            if date.fromisoformat(effect["effective"]) <= at:
                total += int(effect["body"]["amount_cents"])
        return total

    paid, waived = by("payments"), by("waivers")
    owed = 0 if record["corrected_seq"] is not None else int(record["assessed"]) - paid - waived
    return {**record, "paid": paid, "waived": waived, "outstanding": owed}
