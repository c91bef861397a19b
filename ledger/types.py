"""Field types shared by every signed model: cents, decimal strings, ids, months, UTC times."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ledger.errors import InputError
from ledger.money import MAX_CENTS

M = TypeVar("M", bound=BaseModel)

# Every signed model is frozen and refuses unknown fields: what is signed is what is meant.
FROZEN = ConfigDict(frozen=True, extra="forbid", strict=False)

_DECIMAL_RE = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MONTH_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def _decimal_str(value: str) -> str:
    if not isinstance(value, str) or not _DECIMAL_RE.match(value):
        raise ValueError(f"expected a non-negative decimal string like '0.02', got {value!r}")
    try:
        Decimal(value)
    except InvalidOperation as e:  # pragma: no cover - the regex already rules this out
        raise ValueError(f"not a decimal: {value!r}") from e
    return value


def _id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(f"id {value!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return value


def _month(value: str) -> str:
    if not isinstance(value, str) or not _MONTH_RE.match(value):
        raise ValueError(f"expected a month as YYYY-MM, got {value!r}")
    return value


def _utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("times must carry a UTC offset")
    return value


# A non-negative decimal string ("0.02", "131.42"): rates and index values, never floats.
DecimalStr = Annotated[str, AfterValidator(_decimal_str)]
# Whole cents, exactly representable in RFC 8785 JSON.
Cents = Annotated[int, Field(ge=-MAX_CENTS, le=MAX_CENTS, strict=True)]
NonNegCents = Annotated[int, Field(ge=0, le=MAX_CENTS, strict=True)]
Ident = Annotated[str, AfterValidator(_id)]
Month = Annotated[str, AfterValidator(_month)]
UtcTime = Annotated[datetime, BeforeValidator(_utc)]


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def utc_text(moment: datetime) -> str:
    """The one textual form of a recorded time: ISO 8601, UTC, microseconds, 'Z'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def validated(model: type[M], **data: object) -> M:
    """Build a model from user-supplied values; a validation problem becomes one InputError line."""
    try:
        return model(**data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or model.__name__
        raise InputError(f"{where}: {first['msg']}") from e
