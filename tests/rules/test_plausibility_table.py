"""Plausibility under a version-2 charter (RULES.md §4, §6, §7.1): index values move at most the
charter's bound a month unless a governor publishes them, and a fixed-rate price rule's rate is
at most the charter's maximum. One case per clause, through the real appliers; a version-1
charter keeps the old meaning (any positive value, any rate).

The `founded` ledger has the placeholder charter: plausibility.index_monthly_change 0.20,
plausibility.max_rate 0.10.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.charter import TEMPLATE, charter_from_dict, parse_charter
from ledger.errors import AuthorizationError, InputError, RuleViolationError
from ledger.rules import index_series, shares
from ledger.rules.governance import amend_charter
from tests.support import Founded, charter_v1, found_ledger

ON = date(2031, 1, 6)
TINY = "0." + "0" * 18 + "1"  # 10^-19: a positive value a buy-back would pay nothing at
V1 = charter_v1()


def charter(**plausibility: str) -> Any:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    data["plausibility"].update(plausibility)
    return charter_from_dict(data)


def publish(f: Founded, *values: tuple[str, str], series: str = "CPI") -> None:
    for month, value in values:
        f.append("coop-admin", [index_series.publish_index(series, month, value, "CBS")])


def value_of(f: Founded, month: str, series: str = "CPI") -> str | None:
    with f.store.reading() as tx:
        record = tx.state.get("index", f"{series}/{month}")
    return None if record is None else str(record["value"])


# -- index values: (already published, then this one, accepted or the refusal's phrase) ---------

INDEX_CASES = [
    pytest.param(
        [], ("2031-01", TINY), None, id="a series' first value is measured against nothing"
    ),
    pytest.param([("2031-01", "100")], ("2031-02", "120"), None, id="+20% a month is accepted"),
    pytest.param([("2031-01", "100")], ("2031-02", "80"), None, id="-20% a month is accepted"),
    pytest.param(
        [("2031-01", "100")],
        ("2031-02", "120.01"),
        "100 (2031-01) to 120.01 (2031-02) is +20.01% in a month, beyond the charter's "
        "plausibility.index_monthly_change of 20% a month",
        id="beyond +20% a month needs a governor",
    ),
    pytest.param(
        [("2031-01", "100")],
        ("2031-02", "79.99"),
        "100 (2031-01) to 79.99 (2031-02) is -20.01% in a month",
        id="beyond -20% a month needs a governor",
    ),
    pytest.param(
        [("2031-01", "100")],
        ("2031-02", TINY),
        f"100 (2031-01) to {TINY} (2031-02) is -100.00% in a month",
        id="a value near zero after 100 is refused (the buy-back that pays 0.00)",
    ),
    pytest.param(
        [("2031-02", "100")],
        ("2031-01", "130"),
        "130 (2031-01) to 100 (2031-02) is -23.08% in a month",
        id="a month filled in before a published one is measured against it",
    ),
    pytest.param(
        [("2031-01", "100"), ("2031-03", "100")],
        ("2031-02", "119"),
        None,
        id="a month between two published ones within the bound of both",
    ),
    pytest.param(
        [("2031-01", "100"), ("2031-03", "140")],
        ("2031-02", "100"),
        "100 (2031-02) to 140 (2031-03) is +40.00% in a month",
        id="a month between two published ones must be within the bound of each",
    ),
    pytest.param(
        [("2031-01", "100")],
        ("2031-03", "144"),
        None,
        id="after a gap of k months the bound compounds: 100 x 1.2^2 = 144 is accepted",
    ),
    pytest.param(
        [("2031-01", "100")],
        ("2031-03", "144.01"),
        "100 (2031-01) to 144.01 (2031-03) is +44.01% in 2 months",
        id="after a gap: above 100 x 1.2^2 is refused",
    ),
    pytest.param(
        [("2031-01", "100")],
        ("2031-03", "63.99"),
        "100 (2031-01) to 63.99 (2031-03) is -36.01% in 2 months",
        id="after a gap: below 100 x 0.8^2 = 64 is refused",
    ),
    pytest.param(
        [("2031-01", "100")],
        ("2032-01", "0.000001"),
        "to 0.000001 (2032-01) is -100.00% in 12 months",
        id="a year's gap does not let a value fall to nearly nothing",
    ),
    pytest.param(
        [("2031-01", "100")],
        ("2033-01", "0.4"),
        "100 (2031-01) to 0.4 (2033-01) is -99.60% in 24 months",
        id="24 months away the bound still holds: below 100 x 0.8^24 (0.47...) is refused",
    ),
    pytest.param(
        [("2031-01", "100")],
        ("2033-02", TINY),
        None,
        id="a value more than 24 months from any other is measured against nothing",
    ),
]


@pytest.mark.parametrize(("published", "new", "refusal"), INDEX_CASES)
def test_index_values_move_within_the_charter_bound(
    founded: Founded,
    published: list[tuple[str, str]],
    new: tuple[str, str],
    refusal: str | None,
) -> None:
    publish(founded, *published)
    if refusal is None:
        publish(founded, new)
        assert value_of(founded, new[0]) == new[1]
    else:
        with pytest.raises(RuleViolationError, match=f"^index CPI {new[0]}: .*{_re(refusal)}"):
            publish(founded, new)
        assert value_of(founded, new[0]) is None


def _re(text: str) -> str:
    import re

    return re.escape(text)


def test_a_governor_publishes_a_value_beyond_the_bound_with_a_reason(founded: Founded) -> None:
    publish(founded, ("2031-01", "100"))
    command = index_series.publish_index("CPI", "2031-02", "130", "CBS", reason="CBS revision")
    receipt = founded.append("governor", [command])
    assert receipt.entries[-1].kind == "index.exception-published"
    with founded.store.reading() as tx:
        (row,) = [r for r in index_series.index_rows(tx.state, "CPI") if r["month"] == "2031-02"]
    assert row["value"] == "130"
    assert row["history"][0]["kind"] == "index.exception-published"
    assert row["history"][0]["reason"] == "CBS revision"
    # The next month is measured against the governor's value.
    publish(founded, ("2031-03", "150"))


def test_an_administrator_key_cannot_sign_the_governors_exception(founded: Founded) -> None:
    publish(founded, ("2031-01", "100"))
    command = index_series.publish_index("CPI", "2031-02", "130", "CBS", reason="CBS revision")
    with pytest.raises(AuthorizationError, match="needs role governor"):
        founded.append("coop-admin", [command])


def test_the_governors_exception_is_refused_for_a_month_already_published(
    founded: Founded,
) -> None:
    publish(founded, ("2031-01", "100"))
    command = index_series.publish_index("CPI", "2031-01", "130", "CBS", reason="revision")
    with pytest.raises(RuleViolationError, match="already published"):
        founded.append("governor", [command])


def test_the_bound_is_the_charters(tmp_path: Any, signers: Any) -> None:
    f = found_ledger(str(tmp_path / "l.db"), signers, charter(index_monthly_change="0.5"))
    publish(f, ("2031-01", "100"), ("2031-02", "150"))
    with pytest.raises(RuleViolationError, match="of 50% a month"):
        publish(f, ("2031-03", "225.01"))
    f.store.dispose()


def test_version_1_keeps_accepting_any_positive_value(tmp_path: Any, signers: Any) -> None:
    f = found_ledger(str(tmp_path / "v1.db"), signers, V1)
    publish(f, ("2031-01", "100"), ("2031-02", TINY), ("2031-03", "1000000"))
    assert value_of(f, "2031-02") == TINY
    f.store.dispose()


def test_the_bound_applies_from_the_amendment_to_version_2(tmp_path: Any, signers: Any) -> None:
    f = found_ledger(str(tmp_path / "v1.db"), signers, V1)
    publish(f, ("2031-01", "100"), ("2031-02", "300"))
    f.append("governor", [amend_charter(parse_charter(TEMPLATE), "rules edition 2")])
    with pytest.raises(
        RuleViolationError, match=_re("300 (2031-02) to 100 (2031-03) is -66.67% in a month")
    ):
        publish(f, ("2031-03", "100"))
    f.store.dispose()


# -- rates ---------------------------------------------------------------------------------------


def register_fixed_rate(f: Founded, dwelling_id: str, rate: str) -> None:
    f.append(
        "coop-admin",
        [
            shares.register_dwelling(
                dwelling_id,
                "Pampus-Haven",
                ON,
                250_000_00,
                ON,
                rule="fixed-rate",
                rate=rate,
                compounding="compound",
            )
        ],
    )


@pytest.mark.parametrize(
    ("rate", "refusal"),
    [
        pytest.param("0.10", None, id="a rate at the charter's maximum is accepted"),
        pytest.param("0", None, id="a rate of 0 is accepted"),
        pytest.param(
            "0.1000001",
            "dwelling D-1: rate 0.1000001 is above the charter's plausibility.max_rate 0.10",
            id="a rate above the maximum is refused",
        ),
        pytest.param(
            "1000",
            "dwelling D-1: rate 1000 is above the charter's plausibility.max_rate 0.10",
            id="a rate of 1000 is refused",
        ),
    ],
)
def test_a_fixed_rate_is_within_the_charters_bound(
    founded: Founded, rate: str, refusal: str | None
) -> None:
    if refusal is None:
        register_fixed_rate(founded, "D-1", rate)
    else:
        with pytest.raises(RuleViolationError, match=_re(refusal)):
            register_fixed_rate(founded, "D-1", rate)


def test_the_rate_bound_is_the_charters(tmp_path: Any, signers: Any) -> None:
    f = found_ledger(str(tmp_path / "l.db"), signers, charter(max_rate="0.2"))
    register_fixed_rate(f, "D-1", "0.15")
    f.store.dispose()


def test_version_1_keeps_accepting_any_rate(tmp_path: Any, signers: Any) -> None:
    f = found_ledger(str(tmp_path / "v1.db"), signers, V1)
    register_fixed_rate(f, "D-1", "1000")
    f.store.dispose()


# -- the charter's parameters --------------------------------------------------------------------


def test_a_version_1_charter_cannot_carry_the_plausibility_table() -> None:
    data = V1.model_dump(mode="json")
    assert "plausibility" not in data  # a version-1 charter keeps the bytes it was signed with
    data["plausibility"] = {"max_rate": "0.10"}
    with pytest.raises(InputError, match=r"\[plausibility\] is a version-2 parameter"):
        charter_from_dict(data)


def test_the_default_rate_must_be_within_the_maximum() -> None:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    data["plausibility"]["max_rate"] = "0.01"
    with pytest.raises(
        InputError, match=_re("shares.default_rate 0.02 is above plausibility.max_rate")
    ):
        charter_from_dict(data)


# -- the invariant -------------------------------------------------------------------------------

_series = itertools.count()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=30),
            st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=3),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_administrators_never_make_neighbouring_months_jump(
    founded: Founded, attempts: list[tuple[int, Decimal]]
) -> None:
    """Whatever an administrator tries to publish, in whatever order, any two published months
    of a series with none published between them, k <= 24 months apart (the window), differ
    by a factor within [(1 - b)^k, (1 + b)^k]."""
    series = f"S{next(_series)}"
    for offset, value in attempts:
        month = f"{2031 + offset // 12}-{offset % 12 + 1:02d}"
        text = format(value.normalize(), "f")
        try:
            founded.append("coop-admin", [index_series.publish_index(series, month, text, "x")])
        except RuleViolationError:
            continue
    with founded.store.reading() as tx:
        rows = sorted(
            (r["month"], Decimal(r["value"])) for r in index_series.index_rows(tx.state, series)
        )
    bound = Decimal("0.20")
    for (m1, v1), (m2, v2) in itertools.pairwise(rows):
        k = (int(m2[:4]) * 12 + int(m2[5:])) - (int(m1[:4]) * 12 + int(m1[5:]))
        if k <= 24:
            assert v1 * (1 - bound) ** k <= v2 <= v1 * (1 + bound) ** k, (m1, v1, m2, v2)


def test_version_2_parameters_and_tables_are_left_out_of_a_version_1_charter() -> None:
    """Both mechanisms, side by side: single parameters (EDITION_2_PARAMETERS, e.g.
    shares.holder_kinds) and whole tables (EDITION_2_TABLES, [plausibility])."""
    data = V1.model_dump(mode="json")
    assert "holder_kinds" not in data["shares"] and "plausibility" not in data
    data["shares"]["holder_kinds"] = ["person"]
    with pytest.raises(InputError, match=_re("shares.holder_kinds is a version-2 parameter")):
        charter_from_dict(data)
