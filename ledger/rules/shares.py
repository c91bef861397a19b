"""Dwellings and their shares: a preset price rule per dwelling, sales and buy-backs at the price
the rule gives on the date, the holder history, and the dwellings in use for contributions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from ledger.command import Command, Fact
from ledger.errors import InputError, NotFound, RuleViolation
from ledger.money import format_eur
from ledger.postings import FUND, Posting, post, transfer
from ledger.rules.contributions import ChargeLine, contribution_source, month_end, month_start
from ledger.rules.corrections import cannot_reverse, remember
from ledger.rules.ids import check_unique
from ledger.rules.index_series import index_lookup
from ledger.rules.members import add_history, get_member
from ledger.rules.pricing import (
    FixedRateRule,
    IndexedRule,
    PriceComputation,
    PriceRule,
    compute_price,
)
from ledger.rules.rate_bounds import check_rate
from ledger.state import Ctx, Record, State, charter_at, kind, reverser
from ledger.types import FROZEN, Ident, NonNegCents, validated

DWELLING = "dwelling"
COOPERATIVE = "cooperative"
REGISTERED = "dwelling.registered"
SOLD = "share.sold"
BOUGHT_BACK = "share.bought-back"
# The rows of a dwelling's history that say who holds its share from their date on.
_HOLDING_KINDS = (REGISTERED, SOLD, BOUGHT_BACK)

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


class ShareSold(_Transfer):
    """The cooperative sells the dwelling's share to the member at the preset price on `on`."""


class ShareBoughtBack(_Transfer):
    """The member sells the share back to the cooperative at the preset price on `on`."""


# -- reading the state -------------------------------------------------------------------------


def get_dwelling(state: State, dwelling_id: str) -> Record:
    record = state.get(DWELLING, dwelling_id)
    if record is None:
        raise NotFound(f"unknown dwelling {dwelling_id}")
    return record


def live_dwelling(state: State, dwelling_id: str) -> Record:
    """A dwelling whose registration stands (was not reversed by a correction)."""
    record = get_dwelling(state, dwelling_id)
    if record["withdrawn_seq"] is not None:
        raise RuleViolation(
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
    rule = price_rule(dwelling["price_rule"])
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
    except (RuleViolation, InputError) as e:
        raise type(e)(f"dwelling {dwelling_id}: {e}") from e


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


# -- appliers ----------------------------------------------------------------------------------


@kind(REGISTERED, role="coop-admin", body=DwellingRegistered)
def _registered(state: State, body: DwellingRegistered, ctx: Ctx) -> None:
    existing = state.get(DWELLING, body.dwelling_id)
    if existing is not None and existing["withdrawn_seq"] is None:
        raise RuleViolation(
            f"dwelling {body.dwelling_id} is already registered (entry {existing['registered_seq']})"
        )
    check_unique(state, "dwelling", body.dwelling_id)
    charter_seq, charter = charter_at(state)
    if body.charter_seq != charter_seq:
        raise RuleViolation(
            f"dwelling {body.dwelling_id}: the registration names charter version "
            f"{body.charter_seq}, the charter in force was adopted at entry {charter_seq}"
        )
    if body.district not in charter.cooperative.districts:
        raise RuleViolation(
            f"dwelling {body.dwelling_id}: district {body.district!r} is not one of the charter's "
            f"districts ({', '.join(charter.cooperative.districts)})"
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


def _check_transfer(state: State, body: _Transfer, ctx: Ctx, dwelling: Record, what: str) -> None:
    """The rules a sale and a buy-back share: dates, charter version and the preset price."""
    if ctx.effective != body.on:
        raise RuleViolation(f"{what}: the entry is dated {ctx.effective}, the transfer {body.on}")
    if body.on < date.fromisoformat(dwelling["since"]):
        after = (
            f"its delivery on {dwelling['since']}"
            if dwelling["since_seq"] == dwelling["registered_seq"]
            else f"the share's last change of holder on {dwelling['since']} "
            f"(entry {dwelling['since_seq']})"
        )
        raise RuleViolation(f"{what}: {body.on} is before {after}")
    charter_seq, _ = charter_at(state)
    if body.charter_seq != charter_seq:
        raise RuleViolation(
            f"{what}: the entry names charter version {body.charter_seq}, the charter in force "
            f"was adopted at entry {charter_seq}"
        )
    computed = share_price(
        state, body.dwelling_id, body.on, body.appraisal_cents, body.improvements_cents
    )
    if body.price_cents != computed.price_cents:
        raise RuleViolation(
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
        raise RuleViolation(
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
        raise RuleViolation(
            f"{what}: member {member_id} holds {len(holdings)} dwelling share(s) "
            f"({', '.join(holdings)}); the charter (entry {charter_seq}) allows at most {limit}"
        )


@kind(SOLD, role="coop-admin", body=ShareSold)
def _sold(state: State, body: ShareSold, ctx: Ctx) -> None:
    what = f"sale of dwelling {body.dwelling_id}'s share to {body.member_id}"
    dwelling = live_dwelling(state, body.dwelling_id)
    member = get_member(state, body.member_id)
    if member["forgotten_seq"] is not None:
        raise RuleViolation(
            f"{what}: the member's personal data was erased at entry {member['forgotten_seq']}"
        )
    if body.on < date.fromisoformat(member["admitted_on"]):
        raise RuleViolation(
            f"{what}: {body.on} is before the member's admission on {member['admitted_on']}"
        )
    if dwelling["holder"] is not None:
        raise RuleViolation(
            f"dwelling {body.dwelling_id}: share is held by {dwelling['holder']} since "
            f"{dwelling['since']}; a share passes between members only through the cooperative"
        )
    _check_transfer(state, body, ctx, dwelling, what)
    _check_room(state, body.member_id, what)
    expected = sale_postings(body.member_id, body.price_cents)
    if body.postings != expected:
        raise RuleViolation(f"{what}: postings must move the price from the member to the fund")
    if expected:
        post(state, expected, what)
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


@kind(BOUGHT_BACK, role="coop-admin", body=ShareBoughtBack)
def _bought_back(state: State, body: ShareBoughtBack, ctx: Ctx) -> None:
    what = f"buy-back of dwelling {body.dwelling_id}'s share from {body.member_id}"
    dwelling = live_dwelling(state, body.dwelling_id)
    if dwelling["holder"] is None:
        raise RuleViolation(
            f"dwelling {body.dwelling_id}: the share is held by the cooperative; there is "
            f"nothing to buy back"
        )
    if dwelling["holder"] != body.member_id:
        raise RuleViolation(
            f"dwelling {body.dwelling_id}: the share is held by {dwelling['holder']}, "
            f"not {body.member_id}"
        )
    _check_transfer(state, body, ctx, dwelling, what)
    expected = buy_back_postings(body.member_id, body.price_cents)
    if body.postings != expected:
        raise RuleViolation(f"{what}: postings must move the price from the fund to the member")
    if expected:
        # Refuses, naming the shortfall, when the fund cannot pay.
        post(state, expected, what)
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
    remember(state, BOUGHT_BACK, body, ctx)


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
    except RuleViolation as e:
        raise cannot_reverse(original, BOUGHT_BACK, str(e)) from e
    state.put(DWELLING, body.dwelling_id, _corrected(dwelling, original, ctx, body.member_id))
    _set_holdings(state, body.member_id, ctx.seq, add=body.dwelling_id)


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

    return Command("dwelling.register", args, decide)


def _transfer_command(
    name: str,
    dwelling_id: str,
    member_id: str | None,
    on: date,
    appraisal_cents: int | None,
    improvements_cents: int | None,
) -> Command:
    args = {
        "dwelling_id": dwelling_id,
        "member_id": member_id,
        "on": on.isoformat(),
        "appraisal_cents": appraisal_cents,
        "improvements_cents": improvements_cents,
    }

    def decide(state: State, _ctx: Ctx) -> Fact:
        dwelling = live_dwelling(state, dwelling_id)
        if name == "share.sell":
            model: type[_Transfer] = ShareSold
            kind_name = SOLD
            member = member_id
        else:
            model, kind_name = ShareBoughtBack, BOUGHT_BACK
            member = dwelling["holder"]
            if member is None:
                raise RuleViolation(
                    f"dwelling {dwelling_id}: the share is held by the cooperative; there is "
                    f"nothing to buy back"
                )
        assert member is not None
        computed = share_price(state, dwelling_id, on, appraisal_cents, improvements_cents)
        charter_seq, _ = charter_at(state)
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
        )
        # The postings follow from the price: derived here, checked again by the applier.
        postings = (sale_postings if kind_name == SOLD else buy_back_postings)(
            member, computed.price_cents
        )
        return Fact(kind_name, checked.model_copy(update={"postings": postings}), on)

    return Command(name, args, decide)


def sell_share(
    dwelling_id: str,
    member_id: str,
    on: date,
    appraisal_cents: int | None = None,
    improvements_cents: int | None = None,
) -> Command:
    """The cooperative sells the dwelling's share to a member at the preset price on `on`."""
    return _transfer_command(
        "share.sell", dwelling_id, member_id, on, appraisal_cents, improvements_cents
    )


def buy_back_share(
    dwelling_id: str,
    on: date,
    appraisal_cents: int | None = None,
    improvements_cents: int | None = None,
) -> Command:
    """The cooperative buys the share back from its holder at the preset price on `on`."""
    return _transfer_command(
        "share.buy-back", dwelling_id, None, on, appraisal_cents, improvements_cents
    )


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
