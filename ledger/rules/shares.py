"""Dwellings and their shares: a preset price rule per dwelling, sales and buy-backs at the price
the rule gives on the date, the holder history, and the dwellings in use for contributions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from ledger.calendar import add_months
from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import InputError, NotFoundError, RuleViolationError
from ledger.money import format_eur
from ledger.postings import FUND, Posting, post, transfer
from ledger.rules.contributions import ChargeLine, contribution_source, month_end, month_start
from ledger.rules.corrections import cannot_reverse, effect_of, remember
from ledger.rules.ids import check_unique
from ledger.rules.index_series import index_lookup
from ledger.rules.members import add_history, get_member
from ledger.rules.price_rules import (
    FixedRateRule,
    IndexedRule,
    PriceComputation,
    PriceRule,
    SharedAppreciationRule,
    compute_price,
)
from ledger.rules.rate_rules import check_rate
from ledger.state import Ctx, Record, State, charter_at, kind, reverser
from ledger.types import FROZEN, Ident, NonNegCents, validated

DWELLING = "dwelling"
COOPERATIVE = "cooperative"
REGISTERED = "dwelling.registered"
SOLD = "share.sold"
BOUGHT_BACK = "share.bought-back"
RESOLD = "share.resold"
OFFERED = "share.offered"
OFFER = "offer"
# The rows of a dwelling's history that say who holds its share from their date on.
_HOLDING_KINDS = (REGISTERED, SOLD, BOUGHT_BACK, RESOLD)

RuleName = Literal["nominal", "fixed-rate", "indexed", "shared-appreciation"]
District = Annotated[str, Field(min_length=1, max_length=100)]
_RULE: TypeAdapter[PriceRule] = TypeAdapter(PriceRule)
_SERIES: TypeAdapter[str] = TypeAdapter(Ident)


class DwellingRegistered(BaseModel):
    """A middle-segment home bound to the cooperative, and the rule that fixes its share price.

    `charter_seq` is the charter version in force: the dwelling's contract keeps its rounding.
    """

    model_config = FROZEN
    dwelling_id: Ident
    address: str | None = Field(default=None, min_length=1, max_length=300)
    district: District
    delivered: date
    price_rule: PriceRule
    charter_seq: int = Field(ge=0, strict=True)

    @model_validator(mode="after")
    def _rule_is_usable(self) -> DwellingRegistered:
        if self.price_rule.base_price_cents == 0:
            raise ValueError("the base price must be above 0")
        if isinstance(self.price_rule, IndexedRule):
            try:
                _SERIES.validate_python(self.price_rule.series)
            except ValidationError:
                # Index values are published under the series id; one that cannot be
                # published could never give a price.
                raise ValueError(
                    f"index series {self.price_rule.series!r} must be 1-64 letters, digits, "
                    f"'.', '_' or '-'"
                ) from None
        return self


def _unset(value: object) -> bool:
    return value is None


# A notarial deed's reference, or a declaration's: printable text, the document stays outside.
Reference = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class SelfOccupation(BaseModel):
    """The buyer's declaration that they will live in the home: its date and reference (the
    document itself stays outside the ledger)."""

    model_config = FROZEN
    declared_on: date
    reference: Reference


class _Transfer(BaseModel):
    """What a sale and a buy-back record: the price, every input of its computation, the
    sale-time inputs a shared-appreciation rule needs, the charter in force and the postings."""

    model_config = FROZEN
    dwelling_id: Ident
    member_id: Ident
    on: date
    price_cents: NonNegCents
    inputs: dict[str, str]
    appraisal_cents: NonNegCents | None = None
    improvements_cents: NonNegCents | None = None
    charter_seq: int = Field(ge=0, strict=True)
    postings: tuple[Posting, ...]
    # Edition 2 (left out of the signed body when absent, so edition-1 entries keep theirs).
    deed: Reference | None = Field(default=None, exclude_if=_unset)


class ShareSold(_Transfer):
    """The cooperative sells the dwelling's share to the member at the preset price on `on`."""

    occupation: SelfOccupation | None = Field(default=None, exclude_if=_unset)


class ShareBoughtBack(_Transfer):
    """The member sells the share back to the cooperative at the preset price on `on`."""


class ShareResold(BaseModel):
    """A resale at the notary (edition 2): the cooperative buys the share back from the seller
    and sells it to the buyer on the same date, in one entry. The buyer's money pays the
    seller; the fund pays or receives only the difference of the two preset prices."""

    model_config = FROZEN
    dwelling_id: Ident
    seller_id: Ident
    buyer_id: Ident
    on: date
    deed: Reference
    buy_back_price_cents: NonNegCents
    buy_back_inputs: dict[str, str]
    sale_price_cents: NonNegCents
    sale_inputs: dict[str, str]
    appraisal_cents: NonNegCents | None = None
    improvements_cents: NonNegCents | None = None
    occupation: SelfOccupation
    charter_seq: int = Field(ge=0, strict=True)
    postings: tuple[Posting, ...]


class ShareOffered(BaseModel):
    """The holder offers the share to the cooperative (edition 2): from `on`, the cooperative
    has the charter's deadline to buy it back or arrange a resale."""

    model_config = FROZEN
    dwelling_id: Ident
    member_id: Ident
    on: date
    deadline: date
    charter_seq: int = Field(ge=0, strict=True)


# -- reading the state -------------------------------------------------------------------------


def get_dwelling(state: State, dwelling_id: str) -> Record:
    record = state.get(DWELLING, dwelling_id)
    if record is None:
        raise NotFoundError(f"unknown dwelling {dwelling_id}")
    return record


def live_dwelling(state: State, dwelling_id: str) -> Record:
    """A dwelling whose registration stands (was not reversed by a correction)."""
    record = get_dwelling(state, dwelling_id)
    if record["withdrawn_seq"] is not None:
        raise RuleViolationError(
            f"dwelling {dwelling_id}: its registration was corrected at entry "
            f"{record['withdrawn_seq']}; register it again first"
        )
    return record


def holding_rows(record: Record) -> list[Record]:
    """The history rows in force that set the holder (registration, sales, buy-backs)."""
    return [
        r for r in record["history"] if r["kind"] in _HOLDING_KINDS and r["corrected_seq"] is None
    ]


def holder_name(holder: str | None) -> str:
    return COOPERATIVE if holder is None else holder


_RULES: dict[tuple[tuple[str, object], ...], PriceRule] = {}


def price_rule(record: Record) -> PriceRule:
    """A dwelling's recorded price rule as its (frozen) model, validated once per distinct rule:
    a district has a few rules shared by many dwellings, read at every sale and buy-back."""
    key = tuple(sorted(record.items()))  # flat: every value is a str or an int
    rule = _RULES.get(key)
    if rule is None:
        rule = _RULE.validate_python(record)
        if len(_RULES) >= 1024:
            _RULES.clear()
        _RULES[key] = rule
    return rule


def share_price(
    state: State,
    dwelling_id: str,
    on: date,
    appraisal_cents: int | None = None,
    improvements_cents: int | None = None,
) -> PriceComputation:
    """The preset price of a dwelling's share on a date: its rule, the index values in the
    ledger now, and the rounding of the charter version its contract was made under."""
    dwelling = get_dwelling(state, dwelling_id)
    rule = price_base(state, dwelling, price_rule(dwelling["price_rule"]))
    _, contract = charter_at(state, dwelling["charter_seq"])
    try:
        return compute_price(
            rule,
            on,
            contract.cooperative.rounding,
            index_lookup(state),
            appraisal_cents,
            improvements_cents,
        )
    except (RuleViolationError, InputError) as e:
        raise type(e)(f"dwelling {dwelling_id}: {e}") from e


def price_base(state: State, dwelling: Record, rule: PriceRule) -> PriceRule:
    """The rule with the base in force: a shared-appreciation rule whose base resets at resale
    (edition 2) is based on the latest acquisition by a member still in force (its price, date
    and appraisal); every other rule keeps the base it was registered with."""
    if not isinstance(rule, SharedAppreciationRule) or rule.base_at_resale != "resets":
        return rule
    acquired = [row for row in holding_rows(dwelling) if row["holder"] is not None]
    if not acquired:
        return rule
    last = acquired[-1]
    effect = effect_of(state, int(last["seq"]))  # read by key: the entry's own body
    appraisal = None if effect is None else effect["body"].get("appraisal_cents")
    if appraisal is None:  # pragma: no cover - a shared-appreciation price needs an appraisal
        raise RuleViolationError(
            f"dwelling {dwelling['dwelling_id']}: entry {last['seq']} has no appraisal"
        )
    return rule.model_copy(
        update={
            "base_price_cents": int(last["price_cents"]),
            "base_date": date.fromisoformat(last["on"]),
            "base_appraisal_cents": int(appraisal),
        }
    )


def sale_postings(member_id: str, price_cents: int) -> tuple[Posting, ...]:
    """The member pays the price into the fund (nothing moves at a price of 0)."""
    if price_cents == 0:
        return ()
    return transfer(FUND, f"member:{member_id}", price_cents)


def buy_back_postings(member_id: str, price_cents: int) -> tuple[Posting, ...]:
    """The fund pays the price to the member; the fund's leg first, so a shortfall is named
    before any other balance moves."""
    if price_cents == 0:
        return ()
    return (
        Posting(account=FUND, amount_cents=-price_cents),
        Posting(account=f"member:{member_id}", amount_cents=price_cents),
    )


def resale_postings(seller_id: str, buyer_id: str, buy_back: int, sale: int) -> tuple[Posting, ...]:
    """The buyer pays the sale price, the seller receives the buy-back price, and the fund takes
    (or pays) the difference: the postings' fund legs net to sale - buy-back."""
    legs = [
        Posting(account=FUND, amount_cents=sale - buy_back),
        Posting(account=f"member:{buyer_id}", amount_cents=-sale),
        Posting(account=f"member:{seller_id}", amount_cents=buy_back),
    ]
    return tuple(p for p in legs if p.amount_cents != 0)


# -- appliers ----------------------------------------------------------------------------------


@kind(REGISTERED)
def _registered(state: State, body: DwellingRegistered, ctx: Ctx) -> None:
    existing = state.get(DWELLING, body.dwelling_id)
    if existing is not None and existing["withdrawn_seq"] is None:
        raise RuleViolationError(
            f"dwelling {body.dwelling_id} is already registered (entry {existing['registered_seq']})"
        )
    check_unique(state, "dwelling", body.dwelling_id)
    charter_seq, charter = charter_at(state)
    if body.charter_seq != charter_seq:
        raise RuleViolationError(
            f"dwelling {body.dwelling_id}: the registration names charter version "
            f"{body.charter_seq}, the charter in force was adopted at entry {charter_seq}"
        )
    if body.district not in charter.cooperative.districts:
        raise RuleViolationError(
            f"dwelling {body.dwelling_id}: district {body.district!r} is not one of the charter's "
            f"districts ({', '.join(charter.cooperative.districts)})"
        )
    rule = body.price_rule
    if isinstance(rule, SharedAppreciationRule):
        # Edition 2: the charter in force says whether the base stays or resets at resale.
        policy = charter.shares.shared_appreciation_base
        if rule.base_at_resale != policy:
            raise RuleViolationError(
                f"dwelling {body.dwelling_id}: the price rule's base_at_resale is "
                f"{rule.base_at_resale}, the charter in force says {policy}"
            )
    if isinstance(body.price_rule, FixedRateRule):
        check_rate(charter, body.price_rule.rate, f"dwelling {body.dwelling_id}")
    row = {
        "seq": ctx.seq,
        "kind": REGISTERED,
        "on": body.delivered.isoformat(),
        "holder": None,
        "member_id": None,
        "price_cents": None,
        "corrected_seq": None,
    }
    # A registration reversed by a correction keeps its rows, so `dwelling show` tells all.
    earlier = [] if existing is None else existing["history"]
    record = {
        "dwelling_id": body.dwelling_id,
        "address": body.address,
        "district": body.district,
        "delivered": body.delivered.isoformat(),
        "price_rule": body.price_rule.model_dump(mode="json"),
        "charter_seq": body.charter_seq,
        "registered_seq": ctx.seq,
        "withdrawn_seq": None,
        "history": [*earlier, row],
    }
    state.put(DWELLING, body.dwelling_id, _settled(record))
    remember(state, REGISTERED, body, ctx)


def _settled(record: Record) -> Record:
    """The record with holder, since and price paid taken from its last row in force."""
    last = holding_rows(record)[-1]
    return {
        **record,
        "holder": last["holder"],
        "since": last["on"],
        "since_seq": last["seq"],
        "price_paid_cents": last["price_cents"],
    }


def _check_edition(state: State, body: _Transfer, what: str) -> None:
    """Edition 2: a sale or buy-back carries its deed, a sale the buyer's self-occupation
    declaration; edition 1 knows neither."""
    _, charter = charter_at(state)
    occupation = getattr(body, "occupation", None)
    if not charter.rules_from(2):
        if body.deed is not None or occupation is not None:
            raise RuleViolationError(
                f"{what}: deed references and declarations are edition-2 rules; the charter "
                f"in force is version {charter.version}"
            )
        return
    if body.deed is None:
        raise RuleViolationError(f"{what}: the notarial deed reference is missing")
    if isinstance(body, ShareSold):
        _check_occupation(occupation, body.on, what)


def _check_occupation(occupation: SelfOccupation | None, on: date, what: str) -> None:
    if occupation is None:
        raise RuleViolationError(f"{what}: the buyer's self-occupation declaration is missing")
    if occupation.declared_on > on:
        raise RuleViolationError(
            f"{what}: the self-occupation declaration is dated {occupation.declared_on}, "
            f"after the sale on {on}"
        )


def _check_holder_kind(state: State, member_id: str, member: Record, what: str) -> None:
    """Edition 2: a home share goes only to a member of a kind the charter lists."""
    charter_seq, charter = charter_at(state)
    if not charter.rules_from(2):
        return
    allowed = charter.shares.home_holder_kinds
    if member["member_kind"] not in allowed:
        raise RuleViolationError(
            f"{what}: member {member_id} is a {member['member_kind']}; the charter "
            f"(entry {charter_seq}) gives home shares only to {', '.join(allowed)}"
        )


def _check_buyer(state: State, member_id: str, on: date, what: str) -> None:
    """The buyer is an admitted member whose data stands, of a kind that may hold a home."""
    member = get_member(state, member_id)
    if member["forgotten_seq"] is not None:
        raise RuleViolationError(
            f"{what}: the member's personal data was erased at entry {member['forgotten_seq']}"
        )
    if on < date.fromisoformat(member["admitted_on"]):
        raise RuleViolationError(
            f"{what}: {on} is before the member's admission on {member['admitted_on']}"
        )
    _check_holder_kind(state, member_id, member, what)


def _check_transfer(state: State, body: _Transfer, ctx: Ctx, dwelling: Record, what: str) -> None:
    """The rules a sale and a buy-back share: dates, charter version and the preset price."""
    if ctx.effective != body.on:
        raise RuleViolationError(
            f"{what}: the entry is dated {ctx.effective}, the transfer {body.on}"
        )
    _check_edition(state, body, what)
    if body.on < date.fromisoformat(dwelling["since"]):
        after = (
            f"its delivery on {dwelling['since']}"
            if dwelling["since_seq"] == dwelling["registered_seq"]
            else f"the share's last change of holder on {dwelling['since']} "
            f"(entry {dwelling['since_seq']})"
        )
        raise RuleViolationError(f"{what}: {body.on} is before {after}")
    charter_seq, _ = charter_at(state)
    if body.charter_seq != charter_seq:
        raise RuleViolationError(
            f"{what}: the entry names charter version {body.charter_seq}, the charter in force "
            f"was adopted at entry {charter_seq}"
        )
    computed = share_price(
        state, body.dwelling_id, body.on, body.appraisal_cents, body.improvements_cents
    )
    if body.price_cents != computed.price_cents:
        raise RuleViolationError(
            f"{what}: price {format_eur(body.price_cents)} differs from the "
            f"{dwelling['price_rule']['rule']} rule's {format_eur(computed.price_cents)} "
            f"on {body.on}"
        )
    if body.inputs != computed.inputs:
        differing = sorted(
            k
            for k in set(body.inputs) | set(computed.inputs)
            if body.inputs.get(k) != computed.inputs.get(k)
        )
        raise RuleViolationError(
            f"{what}: recorded inputs differ from the computation's ({', '.join(differing)})"
        )


def _set_holdings(
    state: State, member_id: str, seq: int, add: str | None = None, remove: str | None = None
) -> None:
    record = get_member(state, member_id)
    holdings = [h for h in record.get("holdings", []) if h != remove]
    if add is not None:
        holdings.append(add)
    state.put("member", member_id, {**record, "holdings": sorted(holdings)})
    add_history(state, member_id, seq)


def _check_room(state: State, member_id: str, what: str) -> None:
    """A member holds at most the charter's maximum of dwelling shares (the charter in force)."""
    holdings = get_member(state, member_id).get("holdings", [])
    charter_seq, charter = charter_at(state)
    limit = charter.shares.max_dwelling_shares_per_member
    if len(holdings) >= limit:
        raise RuleViolationError(
            f"{what}: member {member_id} holds {len(holdings)} dwelling share(s) "
            f"({', '.join(holdings)}); the charter (entry {charter_seq}) allows at most {limit}"
        )


@kind(SOLD)
def _sold(state: State, body: ShareSold, ctx: Ctx) -> None:
    what = f"sale of dwelling {body.dwelling_id}'s share to {body.member_id}"
    dwelling = live_dwelling(state, body.dwelling_id)
    _check_buyer(state, body.member_id, body.on, what)
    if dwelling["holder"] is not None:
        raise RuleViolationError(
            f"dwelling {body.dwelling_id}: share is held by {dwelling['holder']} since "
            f"{dwelling['since']}; a share passes between members only through the cooperative"
        )
    _check_transfer(state, body, ctx, dwelling, what)
    _check_room(state, body.member_id, what)
    expected = sale_postings(body.member_id, body.price_cents)
    if body.postings != expected:
        raise RuleViolationError(
            f"{what}: postings must move the price from the member to the fund"
        )
    if expected:
        post(state, expected, what, body.on)
    row = {
        "seq": ctx.seq,
        "kind": SOLD,
        "on": body.on.isoformat(),
        "holder": body.member_id,
        "member_id": body.member_id,
        "price_cents": body.price_cents,
        "corrected_seq": None,
    }
    state.put(
        DWELLING, body.dwelling_id, _settled({**dwelling, "history": [*dwelling["history"], row]})
    )
    _set_holdings(state, body.member_id, ctx.seq, add=body.dwelling_id)
    remember(state, SOLD, body, ctx)


@kind(BOUGHT_BACK)
def _bought_back(state: State, body: ShareBoughtBack, ctx: Ctx) -> None:
    what = f"buy-back of dwelling {body.dwelling_id}'s share from {body.member_id}"
    dwelling = live_dwelling(state, body.dwelling_id)
    if dwelling["holder"] is None:
        raise RuleViolationError(
            f"dwelling {body.dwelling_id}: the share is held by the cooperative; there is "
            f"nothing to buy back"
        )
    if dwelling["holder"] != body.member_id:
        raise RuleViolationError(
            f"dwelling {body.dwelling_id}: the share is held by {dwelling['holder']}, "
            f"not {body.member_id}"
        )
    _check_transfer(state, body, ctx, dwelling, what)
    expected = buy_back_postings(body.member_id, body.price_cents)
    if body.postings != expected:
        raise RuleViolationError(
            f"{what}: postings must move the price from the fund to the member"
        )
    if expected:
        # Refuses, naming the shortfall, when the fund cannot pay.
        post(state, expected, what, body.on)
    row = {
        "seq": ctx.seq,
        "kind": BOUGHT_BACK,
        "on": body.on.isoformat(),
        "holder": None,
        "member_id": body.member_id,
        "price_cents": body.price_cents,
        "corrected_seq": None,
    }
    state.put(
        DWELLING, body.dwelling_id, _settled({**dwelling, "history": [*dwelling["history"], row]})
    )
    _set_holdings(state, body.member_id, ctx.seq, remove=body.dwelling_id)
    _close_offer(state, body.dwelling_id, ctx, BOUGHT_BACK)
    remember(state, BOUGHT_BACK, body, ctx)


def _close_offer(state: State, dwelling_id: str, ctx: Ctx, how: str) -> None:
    """A buy-back or resale settles the holder's open offer, if there is one."""
    offer = state.get(OFFER, dwelling_id)
    if offer is not None and offer["closed_seq"] is None:
        state.put(
            OFFER,
            dwelling_id,
            {
                **offer,
                "closed_seq": ctx.seq,
                "closed_on": ctx.effective.isoformat(),
                "closed_by": how,
            },
        )


def _edition_2(state: State, what: str) -> int:
    """The seq of the charter in force, which must be of version 2 or later."""
    charter_seq, charter = charter_at(state)
    if not charter.rules_from(2):
        raise RuleViolationError(
            f"{what}: an edition-2 entry; the charter in force (entry {charter_seq}) is "
            f"version {charter.version}"
        )
    return charter_seq


@kind(RESOLD)
def _resold(state: State, body: ShareResold, ctx: Ctx) -> None:
    what = f"resale of dwelling {body.dwelling_id}'s share from {body.seller_id} to {body.buyer_id}"
    charter_seq = _edition_2(state, what)
    if ctx.effective != body.on:
        raise RuleViolationError(
            f"{what}: the entry is dated {ctx.effective}, the resale {body.on}"
        )
    dwelling = live_dwelling(state, body.dwelling_id)
    if dwelling["holder"] is None:
        raise RuleViolationError(
            f"dwelling {body.dwelling_id}: the share is held by the cooperative; sell it instead"
        )
    if dwelling["holder"] != body.seller_id:
        raise RuleViolationError(
            f"dwelling {body.dwelling_id}: the share is held by {dwelling['holder']}, "
            f"not {body.seller_id}"
        )
    if body.buyer_id == body.seller_id:
        raise RuleViolationError(f"{what}: the buyer is the member who holds the share")
    if body.on < date.fromisoformat(dwelling["since"]):
        raise RuleViolationError(
            f"{what}: {body.on} is before the share's last change of holder on "
            f"{dwelling['since']} (entry {dwelling['since_seq']})"
        )
    if body.charter_seq != charter_seq:
        raise RuleViolationError(
            f"{what}: the entry names charter version {body.charter_seq}, the charter in force "
            f"was adopted at entry {charter_seq}"
        )
    _check_buyer(state, body.buyer_id, body.on, what)
    _check_occupation(body.occupation, body.on, what)
    _check_room(state, body.buyer_id, what)
    computed = share_price(
        state, body.dwelling_id, body.on, body.appraisal_cents, body.improvements_cents
    )
    for side, cents, inputs in (
        ("buy-back", body.buy_back_price_cents, body.buy_back_inputs),
        ("sale", body.sale_price_cents, body.sale_inputs),
    ):
        if cents != computed.price_cents or inputs != computed.inputs:
            raise RuleViolationError(
                f"{what}: {side} price {format_eur(cents)} (or its inputs) differs from the "
                f"{dwelling['price_rule']['rule']} rule's {format_eur(computed.price_cents)} "
                f"on {body.on}"
            )
    expected = resale_postings(
        body.seller_id, body.buyer_id, body.buy_back_price_cents, body.sale_price_cents
    )
    if body.postings != expected:
        raise RuleViolationError(
            f"{what}: postings must move the sale price from the buyer, the buy-back price to "
            f"the seller and the difference to the fund"
        )
    if expected:
        # Checked on the net: the fund's one leg is the difference of the two prices.
        post(state, expected, what, body.on)
    row = {
        "seq": ctx.seq,
        "kind": RESOLD,
        "on": body.on.isoformat(),
        "holder": body.buyer_id,
        "member_id": body.buyer_id,
        "price_cents": body.sale_price_cents,
        "corrected_seq": None,
        "seller_id": body.seller_id,
        "buy_back_price_cents": body.buy_back_price_cents,
    }
    state.put(
        DWELLING, body.dwelling_id, _settled({**dwelling, "history": [*dwelling["history"], row]})
    )
    _set_holdings(state, body.seller_id, ctx.seq, remove=body.dwelling_id)
    _set_holdings(state, body.buyer_id, ctx.seq, add=body.dwelling_id)
    _close_offer(state, body.dwelling_id, ctx, RESOLD)


@kind(OFFERED)
def _offered(state: State, body: ShareOffered, ctx: Ctx) -> None:
    what = f"offer of dwelling {body.dwelling_id}'s share by {body.member_id}"
    charter_seq = _edition_2(state, what)
    _, charter = charter_at(state)
    if ctx.effective != body.on:
        raise RuleViolationError(f"{what}: the entry is dated {ctx.effective}, the offer {body.on}")
    dwelling = live_dwelling(state, body.dwelling_id)
    if dwelling["holder"] != body.member_id:
        raise RuleViolationError(
            f"dwelling {body.dwelling_id}: the share is held by "
            f"{holder_name(dwelling['holder'])}, not {body.member_id}"
        )
    if body.on < date.fromisoformat(dwelling["since"]):
        raise RuleViolationError(
            f"{what}: {body.on} is before the member acquired the share on {dwelling['since']}"
        )
    existing = state.get(OFFER, body.dwelling_id)
    if existing is not None and existing["closed_seq"] is None:
        raise RuleViolationError(
            f"{what}: the share was already offered on {existing['on']} (entry "
            f"{existing['seq']}), deadline {existing['deadline']}"
        )
    if body.charter_seq != charter_seq:
        raise RuleViolationError(
            f"{what}: the entry names charter version {body.charter_seq}, the charter in force "
            f"was adopted at entry {charter_seq}"
        )
    deadline = add_months(body.on, charter.shares.offer_deadline_months)
    if body.deadline != deadline:
        raise RuleViolationError(
            f"{what}: deadline {body.deadline} differs from the charter's "
            f"{charter.shares.offer_deadline_months} months after the offer: {deadline}"
        )
    state.put(
        OFFER,
        body.dwelling_id,
        {
            "dwelling_id": body.dwelling_id,
            "member_id": body.member_id,
            "seq": ctx.seq,
            "on": body.on.isoformat(),
            "deadline": deadline.isoformat(),
            "closed_seq": None,
            "closed_on": None,
            "closed_by": None,
        },
    )


# -- corrections -------------------------------------------------------------------------------


def _corrected(record: Record, original: Ctx, ctx: Ctx, holder_after: str | None) -> Record:
    """Mark the original's row corrected and add the correction's row; settle the holder."""
    history = [
        {**r, "corrected_seq": ctx.seq} if r["seq"] == original.seq else r
        for r in record["history"]
    ]
    history.append(
        {
            "seq": ctx.seq,
            "kind": "correction.applied",
            "on": ctx.effective.isoformat(),
            "holder": holder_after,
            "member_id": None,
            "price_cents": None,
            "corrected_seq": None,
            "corrects": original.seq,
        }
    )
    return _settled({**record, "history": history})


def _last_change(dwelling: Record, original: Ctx, kind_name: str) -> None:
    """Only the latest change of holder can be undone: later ones were built on it."""
    last = holding_rows(dwelling)[-1]
    if last["seq"] != original.seq:
        raise cannot_reverse(
            original,
            kind_name,
            f"dwelling {dwelling['dwelling_id']}'s share changed hands after it, at entry "
            f"{last['seq']} ({last['kind']} on {last['on']}); correct that entry first",
        )


@reverser(SOLD)
def _undo_sale(state: State, body: ShareSold, original: Ctx, ctx: Ctx) -> None:
    dwelling = get_dwelling(state, body.dwelling_id)
    _last_change(dwelling, original, SOLD)
    state.put(DWELLING, body.dwelling_id, _corrected(dwelling, original, ctx, None))
    _set_holdings(state, body.member_id, ctx.seq, remove=body.dwelling_id)


@reverser(BOUGHT_BACK)
def _undo_buy_back(state: State, body: ShareBoughtBack, original: Ctx, ctx: Ctx) -> None:
    dwelling = get_dwelling(state, body.dwelling_id)
    _last_change(dwelling, original, BOUGHT_BACK)
    try:
        # The member gets the share back: the charter in force now must leave room for it.
        _check_room(state, body.member_id, f"returning dwelling {body.dwelling_id}'s share")
    except RuleViolationError as e:
        raise cannot_reverse(original, BOUGHT_BACK, str(e)) from e
    state.put(DWELLING, body.dwelling_id, _corrected(dwelling, original, ctx, body.member_id))
    _set_holdings(state, body.member_id, ctx.seq, add=body.dwelling_id)
    offer = state.get(OFFER, body.dwelling_id)
    if offer is not None and offer["closed_seq"] == original.seq:
        # The buy-back never happened: the owner's offer it settled is open again.
        state.put(
            OFFER,
            body.dwelling_id,
            {**offer, "closed_seq": None, "closed_on": None, "closed_by": None},
        )


@reverser(REGISTERED)
def _undo_registration(state: State, body: DwellingRegistered, original: Ctx, ctx: Ctx) -> None:
    dwelling = get_dwelling(state, body.dwelling_id)
    last = holding_rows(dwelling)[-1]
    if last["seq"] != original.seq:
        raise cannot_reverse(
            original,
            REGISTERED,
            f"dwelling {body.dwelling_id}'s share was transferred at entry {last['seq']} "
            f"({last['kind']}); correct its transfers first",
        )
    history = [
        {**r, "corrected_seq": ctx.seq} if r["seq"] == original.seq else r
        for r in dwelling["history"]
    ]
    history.append(
        {
            "seq": ctx.seq,
            "kind": "correction.applied",
            "on": ctx.effective.isoformat(),
            "holder": None,
            "member_id": None,
            "price_cents": None,
            "corrected_seq": None,
            "corrects": original.seq,
        }
    )
    # No holding row stays in force: the record keeps its last holder fields for reports.
    state.put(
        DWELLING, body.dwelling_id, {**dwelling, "history": history, "withdrawn_seq": ctx.seq}
    )


# -- contributions -----------------------------------------------------------------------------


def dwellings_in_use(state: State, month: str) -> list[dict[str, Any]]:
    """Dwellings whose share a member held on at least one day of `month` (a transfer takes
    effect on its date), with the last member who held it that month; sorted by id."""
    first, last = month_start(month), month_end(month)
    out = []
    for dwelling_id, record in state.scan(DWELLING):
        if record["withdrawn_seq"] is not None:
            continue
        rows = holding_rows(record)
        member = None
        for row, following in zip(rows, [*rows[1:], None], strict=True):
            start = date.fromisoformat(row["on"])
            end = None if following is None else date.fromisoformat(following["on"])
            held = row["holder"] is not None and start <= last and (end is None or end > first)
            if held and (end is None or end > start):
                member = row["holder"]
        if member is not None:
            out.append(
                {"dwelling_id": dwelling_id, "district": record["district"], "member_id": member}
            )
    return out


@contribution_source
def _dwelling_lines(state: State, month: str) -> list[ChargeLine]:
    return [
        ChargeLine(d["dwelling_id"], "dwelling", d["district"], d["member_id"])
        for d in dwellings_in_use(state, month)
    ]


# -- commands ----------------------------------------------------------------------------------

# The parameters each rule takes beyond its base price and date (as named to the user).
_RULE_PARAMS: dict[str, tuple[str, ...]] = {
    "nominal": (),
    "fixed-rate": ("rate", "compounding"),
    "indexed": ("index",),
    "shared-appreciation": ("owner share", "base appraisal"),
}


def register_dwelling(
    dwelling_id: str,
    district: str,
    delivered: date,
    base_price_cents: int,
    base_date: date,
    *,
    rule: RuleName | None = None,
    address: str | None = None,
    rate: str | None = None,
    compounding: Literal["simple", "compound"] | None = None,
    series: str | None = None,
    owner_share: str | None = None,
    base_appraisal_cents: int | None = None,
) -> Command:
    """Register a dwelling with its price rule; what the user leaves out comes from the
    charter's rule defaults (rule, rate, compounding, index)."""
    args: dict[str, Any] = {
        "dwelling_id": dwelling_id,
        "district": district,
        "delivered": delivered.isoformat(),
        "base_price_cents": base_price_cents,
        "base_date": base_date.isoformat(),
        "rule": rule,
        "address": address,
        "rate": rate,
        "compounding": compounding,
        "series": series,
        "owner_share": owner_share,
        "base_appraisal_cents": base_appraisal_cents,
    }

    def decide(state: State, ctx: Ctx) -> Fact:
        charter_seq, charter = charter_at(state)
        terms = charter.shares
        name = rule or terms.default_rule
        if name not in _RULE_PARAMS:
            raise InputError(f"unknown price rule {name!r}: expected {', '.join(_RULE_PARAMS)}")
        given = {
            "rate": rate,
            "compounding": compounding,
            "index": series,
            "owner share": owner_share,
            "base appraisal": base_appraisal_cents,
        }
        for param, value in given.items():
            if value is not None and param not in _RULE_PARAMS[name]:
                raise InputError(f"the {name} price rule takes no {param} (given {value})")
        params: dict[str, Any] = {
            "rule": name,
            "base_price_cents": base_price_cents,
            "base_date": base_date,
        }
        if name == "fixed-rate":
            params["rate"] = rate or terms.default_rate
            params["compounding"] = compounding or terms.default_compounding
        elif name == "indexed":
            params["series"] = series or terms.default_index
        elif name == "shared-appreciation":
            if owner_share is None or base_appraisal_cents is None:
                raise InputError(
                    "the shared-appreciation price rule needs the owner share and the base "
                    "appraisal (the appraised value on the base date)"
                )
            params["owner_share"] = owner_share
            params["base_appraisal_cents"] = base_appraisal_cents
            params["base_at_resale"] = terms.shared_appreciation_base  # None before edition 2
        body = validated(
            DwellingRegistered,
            dwelling_id=dwelling_id,
            address=address,
            district=district,
            delivered=delivered,
            price_rule=params,
            charter_seq=charter_seq,
        )
        return Fact(REGISTERED, body, ctx.effective)

    return LegacyCommand("dwelling.register", args, decide)


def _occupation(declared_on: date | None, reference: str | None) -> SelfOccupation | None:
    if declared_on is None and reference is None:
        return None
    if declared_on is None or reference is None:
        raise InputError("a self-occupation declaration needs both its date and its reference")
    return validated(SelfOccupation, declared_on=declared_on, reference=reference)


def _transfer_command(
    name: str,
    dwelling_id: str,
    member_id: str | None,
    on: date,
    appraisal_cents: int | None,
    improvements_cents: int | None,
    deed: str | None = None,
    occupation: SelfOccupation | None = None,
) -> Command:
    args = {
        "dwelling_id": dwelling_id,
        "member_id": member_id,
        "on": on.isoformat(),
        "appraisal_cents": appraisal_cents,
        "improvements_cents": improvements_cents,
        "deed": deed,
        "occupation": None if occupation is None else occupation.model_dump(mode="json"),
    }

    def decide(state: State, _ctx: Ctx) -> Fact:
        dwelling = live_dwelling(state, dwelling_id)
        extra: dict[str, Any] = {}
        if name == "share.sell":
            model: type[_Transfer] = ShareSold
            kind_name = SOLD
            member = member_id
            if occupation is not None:
                extra["occupation"] = occupation
        else:
            model, kind_name = ShareBoughtBack, BOUGHT_BACK
            member = dwelling["holder"]
            if member is None:
                raise RuleViolationError(
                    f"dwelling {dwelling_id}: the share is held by the cooperative; there is "
                    f"nothing to buy back"
                )
        assert member is not None
        computed = share_price(state, dwelling_id, on, appraisal_cents, improvements_cents)
        charter_seq, _ = charter_at(state)
        if deed is not None:
            extra["deed"] = deed
        checked = validated(
            model,
            dwelling_id=dwelling_id,
            member_id=member,
            on=on,
            price_cents=computed.price_cents,
            inputs=computed.inputs,
            appraisal_cents=appraisal_cents,
            improvements_cents=improvements_cents,
            charter_seq=charter_seq,
            postings=(),
            **extra,
        )
        # The postings follow from the price: derived here, checked again by the applier.
        postings = (sale_postings if kind_name == SOLD else buy_back_postings)(
            member, computed.price_cents
        )
        return Fact(kind_name, checked.model_copy(update={"postings": postings}), on)

    return LegacyCommand(name, args, decide)


def sell_share(
    dwelling_id: str,
    member_id: str,
    on: date,
    appraisal_cents: int | None = None,
    improvements_cents: int | None = None,
    *,
    deed: str | None = None,
    declared_on: date | None = None,
    declaration: str | None = None,
) -> Command:
    """The cooperative sells the dwelling's share to a member at the preset price on `on`
    (edition 2: with the notarial deed and the buyer's self-occupation declaration)."""
    return _transfer_command(
        "share.sell",
        dwelling_id,
        member_id,
        on,
        appraisal_cents,
        improvements_cents,
        deed,
        _occupation(declared_on, declaration),
    )


def buy_back_share(
    dwelling_id: str,
    on: date,
    appraisal_cents: int | None = None,
    improvements_cents: int | None = None,
    *,
    deed: str | None = None,
) -> Command:
    """The cooperative buys the share back from its holder at the preset price on `on`
    (edition 2: with the notarial deed)."""
    return _transfer_command(
        "share.buy-back", dwelling_id, None, on, appraisal_cents, improvements_cents, deed
    )


def resell_share(
    dwelling_id: str,
    buyer_id: str,
    on: date,
    deed: str,
    declared_on: date,
    declaration: str,
    appraisal_cents: int | None = None,
    improvements_cents: int | None = None,
) -> Command:
    """A resale at the notary (edition 2): buy-back from the holder and sale to `buyer_id` on
    `on`, as one entry; the fund is checked on the difference of the two prices."""
    occupation = _occupation(declared_on, declaration)
    args = {
        "dwelling_id": dwelling_id,
        "buyer_id": buyer_id,
        "on": on.isoformat(),
        "deed": deed,
        "occupation": None if occupation is None else occupation.model_dump(mode="json"),
        "appraisal_cents": appraisal_cents,
        "improvements_cents": improvements_cents,
    }

    def decide(state: State, _ctx: Ctx) -> Fact:
        dwelling = live_dwelling(state, dwelling_id)
        seller = dwelling["holder"]
        if seller is None:
            raise RuleViolationError(
                f"dwelling {dwelling_id}: the share is held by the cooperative; sell it instead"
            )
        computed = share_price(state, dwelling_id, on, appraisal_cents, improvements_cents)
        price = computed.price_cents
        body = validated(
            ShareResold,
            dwelling_id=dwelling_id,
            seller_id=seller,
            buyer_id=buyer_id,
            on=on,
            deed=deed,
            buy_back_price_cents=price,
            buy_back_inputs=computed.inputs,
            sale_price_cents=price,
            sale_inputs=computed.inputs,
            appraisal_cents=appraisal_cents,
            improvements_cents=improvements_cents,
            occupation=occupation,
            charter_seq=charter_at(state)[0],
            postings=resale_postings(seller, buyer_id, price, price),
        )
        return Fact(RESOLD, body, on)

    return LegacyCommand("share.resell", args, decide)


def offer_share(dwelling_id: str, on: date) -> Command:
    """The holder offers the dwelling's share to the cooperative on `on` (edition 2); the
    deadline follows from the charter."""

    def decide(state: State, _ctx: Ctx) -> Fact:
        dwelling = live_dwelling(state, dwelling_id)
        holder = dwelling["holder"]
        if holder is None:
            raise RuleViolationError(
                f"dwelling {dwelling_id}: the share is held by the cooperative; there is "
                f"nothing to offer"
            )
        charter_seq, charter = charter_at(state)
        body = validated(
            ShareOffered,
            dwelling_id=dwelling_id,
            member_id=holder,
            on=on,
            deadline=add_months(on, charter.shares.offer_deadline_months),
            charter_seq=charter_seq,
        )
        return Fact(OFFERED, body, on)

    return LegacyCommand("share.offer", {"dwelling_id": dwelling_id, "on": on.isoformat()}, decide)


# -- reports -----------------------------------------------------------------------------------


def dwelling_rows(state: State) -> list[dict[str, Any]]:
    """Every registered dwelling (registrations reversed by a correction left out)."""
    return [
        {
            "dwelling_id": dwelling_id,
            "district": r["district"],
            "address": r["address"],
            "delivered": r["delivered"],
            "rule": r["price_rule"]["rule"],
            "holder": holder_name(r["holder"]),
            "since": r["since"],
            "price_paid_cents": r["price_paid_cents"],
        }
        for dwelling_id, r in state.scan(DWELLING)
        if r["withdrawn_seq"] is None
    ]


def dwelling_report(state: State, dwelling_id: str) -> dict[str, Any]:
    """A dwelling, its price rule, and the full history of its share, corrections included."""
    r = get_dwelling(state, dwelling_id)
    return {
        "dwelling_id": dwelling_id,
        "address": r["address"],
        "district": r["district"],
        "delivered": r["delivered"],
        "price_rule": r["price_rule"],
        "charter_seq": r["charter_seq"],
        "registered_seq": r["registered_seq"],
        "withdrawn_seq": r["withdrawn_seq"],
        "holder": holder_name(r["holder"]) if r["withdrawn_seq"] is None else None,
        "since": r["since"],
        "price_paid_cents": r["price_paid_cents"],
        "history": r["history"],
    }


def share_register(state: State, at: date | None = None) -> list[dict[str, Any]]:
    """Each dwelling's holder, since when and at what price, now or at the end of a date (as
    corrected since: a corrected transfer never happened)."""
    out = []
    for dwelling_id, r in state.scan(DWELLING):
        if r["withdrawn_seq"] is not None:
            continue
        rows = holding_rows(r)
        if at is not None:
            rows = [row for row in rows if date.fromisoformat(row["on"]) <= at]
        last = rows[-1] if rows else None
        out.append(
            {
                "dwelling_id": dwelling_id,
                "district": r["district"],
                "holder": holder_name(None if last is None else last["holder"]),
                "member_id": None if last is None else last["holder"],
                "since": None if last is None else last["on"],
                "since_seq": None if last is None else last["seq"],
                "price_paid_cents": None if last is None else last["price_cents"],
            }
        )
    return out


def open_offers(state: State, at: date) -> list[dict[str, Any]]:
    """The owners' offers open at the end of `at` (made on or before it, not yet settled by a
    buy-back or resale on or before it), each with its deadline and whether it is overdue."""
    out = []
    for dwelling_id, offer in state.scan(OFFER):
        if date.fromisoformat(offer["on"]) > at:
            continue
        if offer["closed_on"] is not None and date.fromisoformat(offer["closed_on"]) <= at:
            continue
        deadline = date.fromisoformat(offer["deadline"])
        out.append(
            {
                "dwelling_id": dwelling_id,
                "member_id": offer["member_id"],
                "offered_on": offer["on"],
                "offer_seq": offer["seq"],
                "deadline": offer["deadline"],
                "overdue": deadline < at,
                "days_overdue": max(0, (at - deadline).days),
            }
        )
    return out
