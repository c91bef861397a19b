"""Werkcorporatie rules of edition 2 (a version-2 charter): market-rent revaluation, the lease
type with its term rule, and yearly indexation by the ROZ formula on the published CPI.

One row per clause, both boundaries; defect (d) of issue 12 (a lease granted at the rent cap
could never be indexed) is `test_defect_d_*`. The edition-1 rules are test_werk_table.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import LedgerError, RuleViolationError
from ledger.keys import Signer
from ledger.rules import governance, members
from ledger.rules import werk as werk_rules
from ledger.rules.index_series import publish_index
from ledger.rules.lease_rules import (
    LeaseCaps,
    lease_end_by_law,
    roz_months,
    roz_rent_cents,
)
from ledger.rules.members import PersonalData
from ledger.state import charter_at
from tests.rules.test_werk_table import forged, refused
from tests.support import Founded, charter_v1, found_ledger

D = date.fromisoformat
CAPS = LeaseCaps(
    max_rent_ratio=Decimal("0.60"),
    max_indexation_per_year=Decimal("0.03"),
    max_term_years=5,
    max_founded_years=5,
    area_districts=frozenset({"Pampus-Haven"}),
    rounding="half-up",
)
# W-1: 60% of 250.00 per m2 per year x 120 m2 / 12 = 1500.00 a month.
W1_CAP = 1500_00


def _members_and_workspace(f: Founded) -> Founded:
    f.append(
        "coop-admin",
        [
            members.admit(
                mid,
                "business",
                PersonalData(name=mid),
                D("2031-01-02"),
                founded=D("2030-01-01"),
                district="Pampus-Haven",
            )
            for mid in ("B-1", "B-2")
        ],
    )
    f.append(
        "werk-admin",
        [werk_rules.register_workspace("W-1", "Pampus-Haven", 120, 250_00, D("2031-01-03"))],
    )
    return f


@pytest.fixture
def werk(founded: Founded) -> Founded:
    """A version-2 ledger (the template charter) with B-1, B-2 and workspace W-1."""
    return _members_and_workspace(founded)


@pytest.fixture
def werk_v1(tmp_path: Path, signers: dict[str, Signer]) -> Iterator[Founded]:
    f = found_ledger(str(tmp_path / "v1.db"), signers, charter_v1())
    yield _members_and_workspace(f)
    f.store.dispose()


def grant(
    f: Founded,
    start: str,
    end: str,
    rent: int = 1000_00,
    lease_type: str = "7:230a",
    member: str = "B-1",
) -> str:
    f.append("werk-admin", [werk_rules.apply(member, 100, 150, D("2031-01-05"))])
    receipt = f.append(
        "werk-admin",
        [
            werk_rules.grant(
                "W-1", member, D(start), D(end), rent, D("2031-02-01"), lease_type=lease_type
            )
        ],
    )
    body = receipt.facts[-1].body
    assert isinstance(body, werk_rules.LeaseGranted)
    return body.lease_id


def revalue(f: Founded, cents: int, on: str, source: str = "taxatie") -> None:
    f.append("werk-admin", [werk_rules.revalue_workspace("W-1", cents, D(on), source)])


def cpi(f: Founded, *values: tuple[str, str]) -> None:
    f.append("coop-admin", [publish_index("CPI", m, v, "CBS 83131NED") for m, v in values])


def lease(f: Founded, lease_id: str) -> dict[str, Any]:
    with f.store.reading() as tx:
        return werk_rules.get_lease(tx.state, lease_id)


# --- the pure rules ----------------------------------------------------------------------

TERMS = [
    pytest.param("7:230a", "2031-03-01", "2036-03-01", "2036-03-01", id="230a-5-years"),
    pytest.param("7:230a", "2031-03-01", "2036-03-02", "at most 5 years", id="230a-too-long"),
    pytest.param("7:290", "2031-03-01", "2033-03-01", "2033-03-01", id="290-2-years-short"),
    pytest.param("7:290", "2031-03-01", "2031-09-01", "2031-09-01", id="290-half-a-year"),
    pytest.param("7:290", "2031-03-01", "2033-03-02", "runs 5 years by law", id="290-over-2"),
    pytest.param("7:290", "2031-03-01", "2036-03-01", "2041-03-01", id="290-5-renewed-to-10"),
    pytest.param("7:290", "2031-03-01", "2041-03-01", "runs 5 years by law", id="290-10-typed"),
    pytest.param("7:290", "2032-02-29", "2037-03-01", "2042-03-01", id="290-from-leap-day"),
    pytest.param("7:290", "2031-03-01", "2031-03-01", "expected the end after", id="290-empty"),
]


@pytest.mark.parametrize(("lease_type", "start", "end", "expected"), TERMS)
def test_term_by_lease_type(lease_type: str, start: str, end: str, expected: str) -> None:
    """7:230a: the charter's maximum term. 7:290: at most 2 years, or 5 renewed by law to 10."""
    if expected[0].isdigit():
        assert lease_end_by_law(D(start), D(end), lease_type, CAPS) == D(expected)
    else:
        with pytest.raises(RuleViolationError, match=expected):
            lease_end_by_law(D(start), D(end), lease_type, CAPS)


ROZ = [
    # (rent, I(t-4), I(t-16), rounding, formula) with rent x I(t-4) / I(t-16)
    pytest.param(1000_00, "104", "100", "half-up", 1040_00, id="4-percent"),
    pytest.param(1000_00, "99", "100", "half-up", 990_00, id="deflation-lowers"),
    pytest.param(900_00, "113.7", "110.4", "half-up", 926_90, id="half-up-926.902"),
    pytest.param(777_77, "101.1", "100", "half-up", 786_33, id="half-up-786.325"),
    pytest.param(777_77, "101.1", "100", "truncate", 786_32, id="truncate-786.325"),
]


@pytest.mark.parametrize(("rent", "new", "old", "rounding", "expected"), ROZ)
def test_roz_formula(rent: int, new: str, old: str, rounding: Any, expected: int) -> None:
    assert roz_rent_cents(rent, Decimal(new), Decimal(old), rounding) == expected


def test_roz_months_are_4_and_16_before_the_adjustment_month() -> None:
    assert roz_months(D("2032-04-01")) == ("2031-12", "2030-12")
    assert roz_months(D("2032-04-30")) == ("2031-12", "2030-12")
    assert roz_months(D("2032-01-15")) == ("2031-09", "2030-09")


# --- revaluation -------------------------------------------------------------------------


REVALUATION = [
    pytest.param(300_00, "2031-06-01", "x", None, id="ok"),
    pytest.param(0, "2031-06-01", "x", ("W-1", "positive market rent", "0.00"), id="zero"),
    pytest.param(
        300_00, "2031-01-03", "x", ("dated after 2031-01-03", "registration"), id="on-registration"
    ),
]


@pytest.mark.parametrize(("cents", "on", "source", "expected"), REVALUATION)
def test_revaluation(
    werk: Founded, cents: int, on: str, source: str, expected: tuple[str, ...] | None
) -> None:
    command = werk_rules.revalue_workspace("W-1", cents, D(on), source)
    if expected is None:
        werk.append("werk-admin", [command])
        with werk.store.reading() as tx:
            record = werk_rules.get_workspace(tx.state, "W-1")
        assert werk_rules.market_rent_on(record, D("2031-05-31")) == 250_00
        assert werk_rules.market_rent_on(record, D(on)) == cents
    else:
        refused(werk, "werk-admin", command, *expected)


def test_revaluations_are_in_date_order(werk: Founded) -> None:
    revalue(werk, 300_00, "2032-01-01")
    refused(
        werk,
        "werk-admin",
        werk_rules.revalue_workspace("W-1", 310_00, D("2032-01-01"), "x"),
        "dated after 2032-01-01 (its last revaluation)",
    )
    revalue(werk, 310_00, "2032-01-02")


def test_revaluation_needs_a_source_and_a_known_workspace(werk: Founded) -> None:
    with pytest.raises(LedgerError, match="source"):
        werk_rules.revalue_workspace("W-1", 300_00, D("2032-01-01"), "  ")
    refused(
        werk,
        "werk-admin",
        werk_rules.revalue_workspace("W-9", 300_00, D("2032-01-01"), "x"),
        "unknown workspace W-9",
        error=LedgerError,
    )


def test_revaluation_is_refused_under_a_version_1_charter(werk_v1: Founded) -> None:
    refused(
        werk_v1,
        "werk-admin",
        werk_rules.revalue_workspace("W-1", 300_00, D("2032-01-01"), "x"),
        "applies from charter version 2",
        "version 1",
    )


def test_the_cap_of_a_new_grant_follows_the_market_rent_on_its_start(werk: Founded) -> None:
    """Market rent 250.00 -> 300.00 from 2031-06-01: the cap is 1500.00 before, 1800.00 from."""
    revalue(werk, 300_00, "2031-06-01")
    werk.append("werk-admin", [werk_rules.apply("B-1", 100, 150, D("2031-01-05"))])
    refused(
        werk,
        "werk-admin",
        werk_rules.grant("W-1", "B-1", D("2031-05-01"), D("2032-05-01"), 1500_01, D("2031-02-01")),
        "cap 1500.00",
    )
    werk.append(
        "werk-admin",
        [
            werk_rules.grant(
                "W-1", "B-1", D("2031-06-01"), D("2032-06-01"), 1800_00, D("2031-02-01")
            )
        ],
    )


# --- lease type ----------------------------------------------------------------------------


def test_a_grant_records_its_lease_type_and_a_7_290_lease_holds_the_space_ten_years(
    werk: Founded,
) -> None:
    lid = grant(werk, "2031-03-01", "2036-03-01", lease_type="7:290")
    record = lease(werk, lid)
    assert (record["lease_type"], record["end"]) == ("7:290", "2041-03-01")
    # Renewed by law: nobody else gets W-1 in years 5 to 10, unless the lease ends.
    werk.append(
        "coop-admin",
        [
            members.admit(
                "B-9", "business", PersonalData(name="B-9"), D("2035-01-02"),
                founded=D("2035-01-01"), district="Pampus-Haven",
            )
        ],
    )  # fmt: skip
    werk.append("werk-admin", [werk_rules.apply("B-9", 100, 150, D("2036-05-01"))])
    refused(
        werk,
        "werk-admin",
        werk_rules.grant("W-1", "B-9", D("2037-01-01"), D("2038-01-01"), 1000_00, D("2036-06-01")),
        f"found lease {lid}",
        "2041-03-01",
    )


def test_a_7_230a_term_is_capped_by_the_charter(werk: Founded) -> None:
    werk.append("werk-admin", [werk_rules.apply("B-1", 100, 150, D("2031-01-05"))])
    refused(
        werk,
        "werk-admin",
        werk_rules.grant("W-1", "B-1", D("2031-03-01"), D("2036-03-02"), 1000_00, D("2031-02-01")),
        "at most 5 years",
    )


def test_a_7_290_term_of_three_years_is_refused(werk: Founded) -> None:
    werk.append("werk-admin", [werk_rules.apply("B-1", 100, 150, D("2031-01-05"))])
    refused(
        werk,
        "werk-admin",
        werk_rules.grant(
            "W-1", "B-1", D("2031-03-01"), D("2034-03-01"), 1000_00, D("2031-02-01"),
            lease_type="7:290",
        ),
        "on 2036-03-01",
        "found end 2034-03-01",
    )  # fmt: skip


def test_a_grant_without_a_lease_type_is_refused_under_version_2(werk: Founded) -> None:
    werk.append("werk-admin", [werk_rules.apply("B-1", 100, 150, D("2031-01-05"))])
    command = werk_rules.grant(
        "W-1", "B-1", D("2031-03-01"), D("2032-03-01"), 1000_00, D("2031-02-01")
    )
    refused(werk, "werk-admin", forged(command, lease_type=None), "expected a lease type")


def test_a_lease_type_is_refused_under_version_1(werk_v1: Founded) -> None:
    werk_v1.append("werk-admin", [werk_rules.apply("B-1", 100, 150, D("2031-01-05"))])
    command = werk_rules.grant(
        "W-1", "B-1", D("2031-03-01"), D("2032-03-01"), 1000_00, D("2031-02-01")
    )
    granted = werk_v1.append("werk-admin", [command]).facts[-1].body
    assert "lease_type" not in granted.model_dump(mode="json")  # the version-1 body as before
    # ... and its projection record as before (verify on an old database compares it).
    assert "lease_type" not in lease(werk_v1, granted.lease_id)
    werk_v1.append("werk-admin", [werk_rules.apply("B-2", 100, 150, D("2031-01-06"))])
    other = werk_rules.grant(
        "W-1", "B-2", D("2032-03-01"), D("2033-03-01"), 1000_00, D("2031-02-01")
    )
    refused(
        werk_v1, "werk-admin", forged(other, lease_type="7:290"), "applies from charter version 2"
    )


# --- indexation by the ROZ formula -----------------------------------------------------------

# A lease of W-1 from 2031-03-01 at 1000.00; indexed on 2032-03-01 from CPI 2031-11 / 2030-11.
INDEXATION = [
    # (CPI 2030-11, CPI 2031-11, typed rent or None, expected rent or refusal fragments)
    pytest.param("100", "102", None, 1020_00, id="formula-below-ceiling"),
    pytest.param("100", "104", None, 1030_00, id="formula-above-3pct-ceiling"),
    pytest.param("100", "102", 1010_00, 1010_00, id="typed-below-formula-ok"),
    pytest.param("100", "102", 1020_00, 1020_00, id="typed-at-formula-ok"),
    pytest.param("100", "102", 1020_01, ("highest indexed rent 1020.00",), id="typed-above"),
    pytest.param("100", "98", None, 980_00, id="deflation-lowers-the-rent"),
    pytest.param("100", "98", 1000_00, ("highest indexed rent 980.00",), id="deflation-typed"),
]


@pytest.mark.parametrize(("base", "new", "typed", "expected"), INDEXATION)
def test_roz_indexation(
    werk: Founded, base: str, new: str, typed: int | None, expected: int | tuple[str, ...]
) -> None:
    lid = grant(werk, "2031-03-01", "2036-03-01")
    cpi(werk, ("2030-11", base), ("2031-11", new))
    command = werk_rules.index(lid, typed, D("2032-03-01"))
    if isinstance(expected, int):
        body = werk.append("werk-admin", [command]).facts[-1].body
        assert isinstance(body, werk_rules.LeaseIndexed)
        assert body.rent_cents_per_month == expected
        assert (body.index_month, body.base_month, body.index_series) == (
            "2031-11",
            "2030-11",
            "CPI",
        )
        assert lease(werk, lid)["rents"][-1] == ["2032-03-01", expected]
    else:
        refused(werk, "werk-admin", command, *expected)


def test_roz_indexation_needs_both_cpi_months(werk: Founded) -> None:
    lid = grant(werk, "2031-03-01", "2036-03-01")
    cpi(werk, ("2031-11", "102"))
    refused(
        werk,
        "werk-admin",
        werk_rules.index(lid, None, D("2032-03-01")),
        "index CPI has no published value for 2030-11",
        "16 months before",
    )


def test_roz_indexation_is_yearly(werk: Founded) -> None:
    lid = grant(werk, "2031-03-01", "2036-03-01")
    cpi(werk, ("2030-10", "100"), ("2031-10", "102"))
    refused(
        werk,
        "werk-admin",
        werk_rules.index(lid, 990_00, D("2032-02-29")),
        "at least 12 whole months",
        "found 11",
    )


def test_roz_indexation_reads_the_charters_cpi_series(werk: Founded) -> None:
    with werk.store.reading() as tx:
        _, charter = charter_at(tx.state)
    data = charter.model_dump(mode="json")
    data["lease"]["index_series"] = "CPI-ALLE"
    from ledger.charter import charter_from_dict

    werk.append("governor", [governance.amend_charter(charter_from_dict(data), "CPI series")])
    lid = grant(werk, "2031-03-01", "2036-03-01")
    cpi(werk, ("2030-11", "100"), ("2031-11", "102"))
    refused(werk, "werk-admin", werk_rules.index(lid, None, D("2032-03-01")), "index CPI-ALLE")


def test_a_forged_roz_computation_is_refused(werk: Founded) -> None:
    lid = grant(werk, "2031-03-01", "2036-03-01")
    cpi(werk, ("2030-11", "100"), ("2031-11", "102"))
    command = werk_rules.index(lid, None, D("2032-03-01"))
    refused(
        werk,
        "werk-admin",
        forged(command, formula_cents=1030_00),
        "differs from the ROZ computation",
        "formula_cents recorded 103000, computed 102000",
    )
    refused(werk, "werk-admin", forged(command, index_value="105"), "index_value recorded 105")


def test_a_roz_body_is_refused_under_version_1(werk_v1: Founded) -> None:
    werk_v1.append("werk-admin", [werk_rules.apply("B-1", 100, 150, D("2031-01-05"))])
    werk_v1.append(
        "werk-admin",
        [
            werk_rules.grant(
                "W-1", "B-1", D("2031-03-01"), D("2036-03-01"), 1000_00, D("2031-02-01")
            )
        ],
    )
    lid = lease_id_of(werk_v1)
    command = werk_rules.index(lid, 1020_00, D("2032-03-01"))
    refused(
        werk_v1,
        "werk-admin",
        forged(command, index_series="CPI", formula_cents=1020_00),
        "ROZ formula applies from charter version 2",
    )
    # The version-1 rule (a typed rent, capped) still applies there.
    werk_v1.append("werk-admin", [command])


def lease_id_of(f: Founded) -> str:
    with f.store.reading() as tx:
        return next(key for key, _ in tx.state.scan(werk_rules.NS_LEASE))


# --- defect (d): a lease granted at the rent cap can be indexed once the market moves ------


def test_defect_d_a_lease_at_the_cap_is_capped_until_the_market_rent_is_revalued(
    werk: Founded,
) -> None:
    lid = grant(werk, "2031-03-01", "2036-03-01", rent=W1_CAP)
    cpi(werk, ("2030-11", "100"), ("2031-11", "102"))
    # Without a revaluation the highest indexed rent is the cap: the rent cannot rise.
    refused(werk, "werk-admin", werk_rules.index(lid, 1500_01, D("2032-03-01")), "rent cap 1500.00")
    # The market rent follows the market: 250.00 -> 270.00 per m2 per year, cap 1620.00.
    revalue(werk, 270_00, "2032-01-01")
    body = werk.append("werk-admin", [werk_rules.index(lid, None, D("2032-03-01"))]).facts[-1].body
    assert isinstance(body, werk_rules.LeaseIndexed)
    # 1500.00 x 102 / 100 = 1530.00, under the 3% ceiling 1545.00 and the new cap 1620.00.
    assert (body.rent_cents_per_month, body.formula_cents, body.ceiling_cents, body.cap_cents) == (
        1530_00,
        1530_00,
        1545_00,
        1620_00,
    )


def test_defect_d_the_cap_reads_the_market_rent_on_the_indexation_date(werk: Founded) -> None:
    lid = grant(werk, "2031-03-01", "2036-03-01", rent=W1_CAP)
    cpi(werk, ("2030-11", "100"), ("2031-11", "102"))
    revalue(werk, 270_00, "2032-03-02")  # one day after the indexation date: not yet in force
    body = werk.append("werk-admin", [werk_rules.index(lid, None, D("2032-03-01"))]).facts[-1].body
    assert isinstance(body, werk_rules.LeaseIndexed)
    assert (body.rent_cents_per_month, body.cap_cents) == (W1_CAP, W1_CAP)
