"""Canonical bytes (RFC 8785 JSON) of entries and other signed objects, with a fast exact path."""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

from ledger.errors import InputError
from ledger.limits import depth_problem

# RFC 8785 numbers are IEEE doubles; we only ever sign integers, and only exact ones.
_MAX_INT = 2**53 - 1


def canonical(obj: Any) -> bytes:
    """The RFC 8785 canonical JSON bytes of a value made of dicts, lists, str, int, bool, None.

    orjson with sorted keys produces the same bytes as RFC 8785 for exactly this domain
    (ASCII keys, no floats, integers within 2**53); it is some 80 times faster than the
    `rfc8785` package, which stays the reference (docs/decisions/0002-canonical-json.md and
    tests/property/test_encoding_properties.py keep the two equal).
    """
    try:
        plain = _plain(obj)
    except RecursionError:
        plain = False
    if not plain:
        _check(obj)
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def record_bytes(obj: Any) -> bytes:
    """Bytes of a projection record: the same sorted-key encoding, without the walk that
    guards signatures. Records are never signed, and they are written on every state put of
    every append and every replay, where the walk cost more than the encoding itself."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def canonical_reference(obj: Any) -> bytes:
    """The same bytes through the `rfc8785` reference implementation (slow; for tests and audit)."""
    _check(obj)
    return bytes(rfc8785.dumps(obj))


def loads(data: bytes | str) -> Any:
    """Parse JSON; raise InputError (not a foreign exception) on malformed input."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InputError(f"malformed JSON: {depth_problem(str(e)) or e}") from e


def is_canonical(data: bytes) -> bool:
    """True when `data` is exactly the canonical encoding of the value it holds."""
    try:
        return canonical(loads(data)) == data
    except InputError:
        return False


def _plain(obj: Any) -> bool:
    """True when obj is made only of exact dict, list, tuple, str, bool, None and in-range int
    (ASCII keys): the common case, decided some three times faster than by _check's general
    walk. Anything else (a subclass, a float, a bad key or integer) answers False, and _check
    then accepts it or raises exactly as it always did."""
    t = type(obj)
    if t is dict:
        for key, value in obj.items():
            if type(key) is not str or not key.isascii():
                return False
            tv = type(value)
            if tv is str or value is None or tv is bool:
                continue
            if tv is int:
                if not -_MAX_INT <= value <= _MAX_INT:
                    return False
            elif not _plain(value):
                return False
        return True
    if t is list or t is tuple:
        for value in obj:
            tv = type(value)
            if tv is str or value is None or tv is bool:
                continue
            if tv is int:
                if not -_MAX_INT <= value <= _MAX_INT:
                    return False
            elif not _plain(value):
                return False
        return True
    if t is str or obj is None or t is bool:
        return True
    if t is int:
        return bool(-_MAX_INT <= obj <= _MAX_INT)
    return False


def _check(obj: Any) -> None:
    # Walk once so that a float or an out-of-range integer can never reach a signature.
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if not isinstance(key, str) or not key.isascii():
                    raise InputError(f"object key {key!r} is not an ASCII string")
                stack.append(value)
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        elif isinstance(item, int):
            if not -_MAX_INT <= item <= _MAX_INT:
                raise InputError(f"integer {item} is outside the exact JSON range")
        else:
            raise InputError(f"value of type {type(item).__name__} cannot be signed: {item!r}")
