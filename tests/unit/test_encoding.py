"""Canonical JSON: the fast encoder equals RFC 8785 on every value an entry can hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.encoding import canonical, canonical_reference, is_canonical
from ledger.errors import InputError

ascii_keys = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(ascii_keys, children, max_size=5)
    ),
    max_leaves=30,
)


@given(values)
def test_fast_encoder_equals_rfc8785(value: object) -> None:
    assert canonical(value) == canonical_reference(value)


@given(values)
def test_canonical_bytes_are_recognised(value: object) -> None:
    assert is_canonical(canonical(value))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"amount": 1.5}, "float"),
        ({"n": 2**53}, "exact JSON range"),
        ({"é": 1}, "ASCII"),
        ({1: "x"}, "ASCII string"),
    ],
    ids=["float", "integer beyond 2^53", "non-ASCII key", "non-string key"],
)
def test_values_that_cannot_be_signed_are_refused(value: object, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        canonical(value)


def test_rfc8785_examples() -> None:
    # RFC 8785 §3.2.3: keys sorted, no whitespace, escapes as specified, UTF-8 kept as is.
    assert canonical({"b": 1, "a": [True, None, "\u20ac\n\u0001"]}) == (
        b'{"a":[true,null,"\xe2\x82\xac\\n\\u0001"],"b":1}'
    )
    assert not is_canonical(b'{"b":1, "a":2}')
