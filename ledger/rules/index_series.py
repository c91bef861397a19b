"""Index series: monthly values published into the ledger, replaced only by a governor's correction."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import InputError, RuleViolationError
from ledger.money import parse_rate, rate_str
from ledger.rules.price_rules import IndexLookup
from ledger.state import Ctx, Record, State, charter_at, kind
from ledger.types import FROZEN, Ident, Month, validated

INDEX = "index"


# An indexed price multiplies the base price (at most 16 digits) by an index value before
# dividing: 20 significant digits keep that product exact within pricing's working precision.
_INDEX_DIGITS_MAX = 20


def _index_value(text: str) -> str:
    """The canonical spelling is the one signed: "131.420" and "131.42" are one value."""
    try:
        value = parse_rate(text)
    except InputError as e:
        raise ValueError(str(e)) from None
    if value <= 0:
        raise ValueError(f"an index value must be above 0, found {text!r}")
    if len(value.normalize().as_tuple().digits) > _INDEX_DIGITS_MAX:
        raise ValueError(
            f"an index value has at most {_INDEX_DIGITS_MAX} significant digits, found {text!r}"
        )
    return rate_str(value)


IndexValue = Annotated[str, AfterValidator(_index_value)]
Source = Annotated[str, Field(min_length=1, max_length=300)]


class IndexPublished(BaseModel):
    """One month's value of a series, with where it comes from (e.g. CBS StatLine table)."""

    model_config = FROZEN
    series: Ident
    month: Month
    value: IndexValue
    source: Source


class IndexExceptionPublished(IndexPublished):
    """A governor publishes a value an administrator may not (edition 2): beyond the charter's
    month-on-month bound, or after a gap in the series; the reason says why it is right."""

    reason: str = Field(min_length=1, max_length=500)


class IndexCorrected(BaseModel):
    """A governor replaces a published value; the earlier value stays in the record and the log."""

    model_config = FROZEN
    series: Ident
    month: Month
    value: IndexValue
    source: Source
    reason: str = Field(min_length=1, max_length=500)


def index_key(series: str, month: str) -> str:
    return f"{series}/{month}"


def index_lookup(state: State) -> IndexLookup:
    """The values in force now, as pricing reads them (None for a month never published)."""

    def lookup(series: str, month: str) -> Decimal | None:
        record = state.get(INDEX, index_key(series, month))
        return None if record is None else Decimal(record["value"])

    return lookup


# How far (in months) a value looks for a published month on each side, one keyed read a
# month. Two years: by then the compounded bound is nearly no bound ((1 - 0.20)^24 < 0.5%),
# and a series published month by month reads at most 25 records a value.
_NEIGHBOUR_WINDOW = 24


def _month_plus(month: str, months: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _nearest(state: State, series: str, month: str, step: int) -> tuple[str, int, Decimal] | None:
    """The nearest month of the series with a value, before (step -1) or after (step 1) `month`
    and at most _NEIGHBOUR_WINDOW months away: (month, distance in months, value)."""
    for distance in range(1, _NEIGHBOUR_WINDOW + 1):
        near = _month_plus(month, step * distance)
        record = state.get(INDEX, index_key(series, near))
        if record is not None:
            return near, distance, Decimal(record["value"])
    return None


def check_plausible(state: State, body: IndexPublished) -> None:
    """Edition 2: an administrator's value moves at most the charter's bound b a month, in
    time order, to and from the nearest published month on each side: from an earlier value
    e, k months before, the value lies within [e × (1 − b)^k, e × (1 + b)^k]; to a later
    value l, k months after, l lies within [value × (1 − b)^k, value × (1 + b)^k]. Anything
    else is a governor's (index.exception-published). A series' first value is free."""
    _, charter = charter_at(state)
    if not charter.rules_from(2):
        return
    bound = Decimal(charter.plausibility.index_monthly_change)
    value = Decimal(body.value)
    # Carried to 50 significant digits, as every power and product of the rules (RULES.md §1).
    with decimal.localcontext(prec=50, rounding=decimal.ROUND_HALF_EVEN):
        for step in (-1, 1):
            found = _nearest(state, body.series, body.month, step)
            if found is None:
                continue
            month, distance, near = found
            (m1, v1), (m2, v2) = sorted([(month, near), (body.month, value)])
            if not v1 * (1 - bound) ** distance <= v2 <= v1 * (1 + bound) ** distance:
                change = (v2 - v1) / v1 * 100
                apart = "a month" if distance == 1 else f"{distance} months"
                raise RuleViolationError(
                    f"index {body.series} {body.month}: {_plain(v1)} ({m1}) to {_plain(v2)} "
                    f"({m2}) is {change:+.2f}% in {apart}, beyond the charter's "
                    f"plausibility.index_monthly_change of {(bound * 100).normalize():f}% a "
                    f"month: a governor publishes it (index publish --reason)"
                )


def _plain(value: Decimal) -> str:
    return rate_str(value)


@kind("index.published")
def _published(state: State, body: IndexPublished, ctx: Ctx) -> None:
    check_plausible(state, body)
    _publish(state, body, ctx, "index.published", None)


@kind("index.exception-published")
def _exception_published(state: State, body: IndexExceptionPublished, ctx: Ctx) -> None:
    _publish(state, body, ctx, "index.exception-published", body.reason)


def _publish(
    state: State, body: IndexPublished, ctx: Ctx, kind_name: str, reason: str | None
) -> None:
    existing = state.get(INDEX, index_key(body.series, body.month))
    if existing is not None:
        raise RuleViolationError(
            f"index {body.series} {body.month} was already published at entry "
            f"{existing['published_seq']} (value {existing['value']}); a published value is "
            f"never changed: a governor replaces it with index correct"
        )
    state.put(
        INDEX,
        index_key(body.series, body.month),
        {
            "series": body.series,
            "month": body.month,
            "value": body.value,
            "source": body.source,
            "published_seq": ctx.seq,
            "history": [
                {
                    "seq": ctx.seq,
                    "kind": kind_name,
                    "value": body.value,
                    "source": body.source,
                    "reason": reason,
                }
            ],
        },
    )


@kind("index.corrected")
def _corrected(state: State, body: IndexCorrected, ctx: Ctx) -> None:
    record = state.get(INDEX, index_key(body.series, body.month))
    if record is None:
        raise RuleViolationError(
            f"index {body.series} has no value for {body.month} to correct: publish it instead"
        )
    if record["value"] == body.value:
        raise RuleViolationError(
            f"index {body.series} {body.month} is already {body.value}: nothing to correct"
        )
    row = {
        "seq": ctx.seq,
        "kind": "index.corrected",
        "value": body.value,
        "source": body.source,
        "reason": body.reason,
    }
    state.put(
        INDEX,
        index_key(body.series, body.month),
        {
            **record,
            "value": body.value,
            "source": body.source,
            "history": [*record["history"], row],
        },
    )


# -- commands ----------------------------------------------------------------------------------


def publish_index(
    series: str, month: str, value: str, source: str, reason: str | None = None
) -> Command:
    """Publish a value (coop-admin); with a reason, as a governor's exception (edition 2:
    beyond the charter's month-on-month bound, or after a gap)."""
    if reason is None:
        body = validated(IndexPublished, series=series, month=month, value=value, source=source)
        kind_name = "index.published"
    else:
        body = validated(
            IndexExceptionPublished,
            series=series,
            month=month,
            value=value,
            source=source,
            reason=reason,
        )
        kind_name = "index.exception-published"
    return LegacyCommand(
        "index.publish",
        body.model_dump(mode="json"),
        lambda _state, ctx: Fact(kind_name, body, ctx.effective),
    )


def correct_index(series: str, month: str, value: str, source: str, reason: str) -> Command:
    body = validated(
        IndexCorrected, series=series, month=month, value=value, source=source, reason=reason
    )
    return LegacyCommand(
        "index.correct",
        body.model_dump(mode="json"),
        lambda _state, ctx: Fact("index.corrected", body, ctx.effective),
    )


# -- reports -----------------------------------------------------------------------------------


def index_rows(state: State, series: str | None = None) -> list[dict[str, Any]]:
    """Every published month (of one series), with its value in force and every earlier value."""
    rows = []
    for _key, record in state.scan(INDEX):
        if series is not None and record["series"] != series:
            continue
        rows.append(_row(record))
    return rows


def _row(record: Record) -> dict[str, Any]:
    return {
        "series": record["series"],
        "month": record["month"],
        "value": record["value"],
        "source": record["source"],
        "published_seq": record["published_seq"],
        "history": record["history"],
    }
