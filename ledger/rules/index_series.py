"""Index series: monthly values published into the ledger, replaced only by a governor's correction."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from ledger.command import Command, Fact
from ledger.errors import InputError, RuleViolation
from ledger.money import parse_rate, rate_str
from ledger.rules.pricing import IndexLookup
from ledger.state import Ctx, Record, State, kind
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


@kind("index.published", role="coop-admin", body=IndexPublished)
def _published(state: State, body: IndexPublished, ctx: Ctx) -> None:
    existing = state.get(INDEX, index_key(body.series, body.month))
    if existing is not None:
        raise RuleViolation(
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
                    "kind": "index.published",
                    "value": body.value,
                    "source": body.source,
                    "reason": None,
                }
            ],
        },
    )


@kind("index.corrected", role="governor", body=IndexCorrected)
def _corrected(state: State, body: IndexCorrected, ctx: Ctx) -> None:
    record = state.get(INDEX, index_key(body.series, body.month))
    if record is None:
        raise RuleViolation(
            f"index {body.series} has no value for {body.month} to correct: publish it instead"
        )
    if record["value"] == body.value:
        raise RuleViolation(
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


def publish_index(series: str, month: str, value: str, source: str) -> Command:
    body = validated(IndexPublished, series=series, month=month, value=value, source=source)
    return Command(
        "index.publish",
        body.model_dump(mode="json"),
        lambda _state, ctx: Fact("index.published", body, ctx.effective),
    )


def correct_index(series: str, month: str, value: str, source: str, reason: str) -> Command:
    body = validated(
        IndexCorrected, series=series, month=month, value=value, source=source, reason=reason
    )
    return Command(
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
