"""Field types shared by every signed model: cents, decimal strings, ids, months, UTC times."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ledger.errors import InputError
from ledger.money import MAX_CENTS

M = TypeVar("M", bound=BaseModel)

# Every signed model is frozen and refuses unknown fields: what is signed is what is meant.
FROZEN = ConfigDict(frozen=True, extra="forbid", strict=False)


def _absent(value: object) -> bool:
    return value is None


def edition_2(**constraints: Any) -> Any:
    """An edition-2 body field (decision 0016): None by default, and left out of the body's
    JSON form when None, so bodies signed under a version-1 charter keep their one normal form."""
    return Field(default=None, exclude_if=_absent, **constraints)


_DECIMAL_RE = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MONTH_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")

# Dates and months a user types: ISO 8601 calendar dates only ("2031-01-01"), never the week
# ("2031-W01-1"), basic ("20310101") or ordinal forms date.fromisoformat also takes, and years
# in a range a cooperative's records can mean (a business founded in 1890 is fine).
MIN_YEAR, MAX_YEAR = 1800, 2200
_DAY_INPUT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTH_INPUT = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")

# Characters free text may not hold: the C0 and C1 controls (Unicode category Cc: ESC, CR,
# NUL, tab...), the bidirectional formatting marks and the line and paragraph separators,
# which can make a terminal or a reader show something other than what was signed.
_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_CONTROL_RE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
# When showing text: the same characters, except the line breaks and tabs of our own output.
_SHOWN_RE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")


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


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "..."


def parse_day(text: str, what: str = "date") -> date:
    """A date typed by a user: YYYY-MM-DD exactly, ASCII digits, a real day, a sane year."""
    match = _DAY_INPUT.fullmatch(text)
    try:
        day = date(*(int(g) for g in match.groups())) if match else None
    except ValueError:
        day = None
    if day is None:
        raise InputError(f"{what} {_shown(text)!r} is not a date (YYYY-MM-DD)")
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InputError(f"{what} {text} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return day


def parse_month(text: str, what: str = "month") -> str:
    """A month typed by a user: YYYY-MM exactly, ASCII digits, a sane year."""
    match = _MONTH_INPUT.fullmatch(text)
    if match is None:
        raise InputError(f"{what} {_shown(text)!r} is not a month (YYYY-MM)")
    if not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
        raise InputError(f"{what} {text} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return text


def parse_id(text: str, what: str = "id") -> str:
    """An id typed by a user: the Ident rule, matched in full (no trailing newline)."""
    if _ID_RE.fullmatch(text) is None:
        raise InputError(f"{what} {_shown(text)!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return text


def check_text(text: str, what: str = "text") -> str:
    """Free text typed by a user (names, reasons, notes...): no control characters."""
    found = _CONTROL_RE.search(text)
    if found is not None:
        raise InputError(
            f"{what} contains the control character U+{ord(found.group()):04X}: "
            f"type plain text, spaces allowed"
        )
    return text


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"  # valid inside a JSON string, readable in text


def printable(text: str) -> str:
    """Text from a ledger or a bundle as it may be shown on a terminal: control characters
    escaped (\\u001b, \\u202e), line breaks and tabs kept."""
    return _SHOWN_RE.sub(_escape, text)


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
