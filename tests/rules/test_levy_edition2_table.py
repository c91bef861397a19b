"""The levy rules of edition 2 (charter version 2), one case per clause of DOMAIN.md's
"Levy-bound property": credit under `keep`, disposals that are not sales, exempt transfers,
the house-price index by default, the cooperative's own dwellings; and edition 1 unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger.charter import TEMPLATE, Charter, parse_charter
from ledger.checks import verify_store
from ledger.errors import InputError, RuleViolationError
from ledger.keys import Signer
from ledger.rules import corrections, levy
from ledger.rules.governance import amend_charter
from ledger.rules.index_series import publish_index
from tests.support import Founded, charter_v1, found_ledger

EUR = 100  # cents
HPI = "HPI-ALMERE"
# DOMAIN.md's pair: baseline 400,000 at index 100.0, sales at 125.0 and 150.0.
INDEX = {"2031-05": "100.0", "2040-06": "125.0", "2045-01": "150.0", "2046-01": "150.0"}


def charter(version: int = 2, **levy_terms: Any) -> Charter:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    data["levy"].update(levy_terms)
    made = Charter.model_validate(data)
    return made if version == 2 else charter_v1(made)


@pytest.fixture
def make(tmp_path: Path, signers: dict[str, Signer]) -> Iterator[Any]:
    """A ledger under the given charter, with the index values and P-1 (400,000 at 2031-05)."""
    made: list[Founded] = []

    def build(c: Charter, kind: str = "home", series: str = HPI) -> Founded:
        f = found_ledger(str(tmp_path / f"l{len(made)}.db"), signers, c)
        made.append(f)
        f.append("coop-admin", [publish_index(series, m, v, "test") for m, v in INDEX.items()])
        f.append(
            "levy-admin",
            [
                levy.register_property(
                    "P-1", kind, "Pampus-Haven", date(2031, 5, 1), 400_000_00, date(2031, 2, 1)
                )
            ],
        )
        return f

    yield build
    for f in made:
        f.store.dispose()


def dispose(
    f: Founded,
    on: date,
    price_eur: int,
    disposal: str | None = None,
    appraisal_eur: int | None = None,
    improvements_eur: int = 0,
) -> levy.PropertySold:
    receipt = f.append(
        "levy-admin",
        [
            levy.sell_property(
                "P-1",
                on,
                price_eur * EUR,
                f"deed-{on}",
                appraisal_cents=None if appraisal_eur is None else appraisal_eur * EUR,
                improvements_cents=improvements_eur * EUR,
                disposal=disposal,
            )
        ],
    )
    body = receipt.facts[0].body
    assert isinstance(body, levy.PropertySold)
    return body


def property_record(f: Founded) -> dict[str, Any]:
    with f.store.reading() as tx:
        record = tx.state.get("property", "P-1")
        assert record is not None
        return record


def verifies(f: Founded) -> bool:
    with f.store.reading() as tx:
        return verify_store(tx).ok


# -- the same increase is never levied twice ---------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "second_levy_cents", "baseline_after"),
    [
        pytest.param(
            "reset-on-sale",
            13_800_00,
            (545_000_00, "2040-06"),
            id="reset: baseline 545,000 at 125.0, E 654,000, X 46,000, L 13,800.00 (DOMAIN.md)",
        ),
        pytest.param(
            "keep",
            16_500_00,
            (400_000_00, "2031-05"),
            id="keep: E 600,000, cumulative X 100,000 less 45,000 assessed, L 16,500.00 (DOMAIN.md)",
        ),
    ],
)
def test_domain_pair_reset_and_keep(
    make: Any, policy: str, second_levy_cents: int, baseline_after: tuple[int, str]
) -> None:
    f = make(charter(baseline_policy=policy))
    first = dispose(f, date(2040, 6, 1), 545_000)
    assert (first.levy.extra_cents, first.levy.levy_cents) == (45_000_00, 13_500_00)
    second = dispose(f, date(2045, 1, 10), 700_000)
    assert second.levy.levy_cents == second_levy_cents
    # The baseline the second sale was measured from.
    assert (second.levy.baseline_cents, second.levy.baseline_month) == baseline_after
    assert verifies(f)


def test_keep_credits_the_extra_already_assessed_defect_f(make: Any) -> None:
    """Defect (f): a cumulative extra of 90,000 was levied 13,500 + 27,000; now 30% of it."""
    f = make(charter(baseline_policy="keep"))
    first = dispose(f, date(2040, 6, 1), 545_000)
    second = dispose(f, date(2045, 1, 10), 690_000)
    # E = 600,000, cumulative X = 90,000, already assessed 45,000: X = 45,000.
    assert (second.levy.credit_cents, second.levy.extra_cents) == (45_000_00, 45_000_00)
    assert first.levy.levy_cents + second.levy.levy_cents == 27_000_00  # 30% of 90,000
    assert property_record(f)["levied_extra_cents"] == 90_000_00


def test_keep_credit_never_makes_x_negative_and_counts_the_highest_extra(make: Any) -> None:
    f = make(charter(baseline_policy="keep"))
    dispose(f, date(2040, 6, 1), 545_000)  # X 45,000
    lower = dispose(f, date(2040, 6, 20), 520_000)  # cumulative 20,000 < 45,000 assessed
    assert (lower.levy.extra_cents, lower.levy.levy_cents) == (0, 0)
    assert property_record(f)["levied_extra_cents"] == 45_000_00
    third = dispose(f, date(2045, 1, 10), 700_000)  # cumulative 100,000: 55,000 is new
    assert (third.levy.credit_cents, third.levy.levy_cents) == (45_000_00, 16_500_00)


def test_keep_credit_counts_improvements_since_the_baseline(make: Any) -> None:
    f = make(charter(baseline_policy="keep"))
    dispose(f, date(2040, 6, 1), 560_000, improvements_eur=15_000)  # X 45,000
    # C is every approved improvement since the baseline: 15,000 then, 25,000 now.
    second = dispose(f, date(2045, 1, 10), 725_000, improvements_eur=25_000)
    assert (second.levy.extra_cents, second.levy.levy_cents) == (55_000_00, 16_500_00)


def test_a_corrected_keep_sale_puts_the_credit_back(make: Any) -> None:
    f = make(charter(baseline_policy="keep"))
    dispose(f, date(2040, 6, 1), 545_000)
    wrong = f.append("levy-admin", [levy.sell_property("P-1", date(2045, 1, 10), 700_000_00, "d")])
    f.append(
        "governor", [corrections.correct(wrong.entries[0].seq, "wrong price", date(2045, 2, 1))]
    )
    assert property_record(f)["levied_extra_cents"] == 45_000_00
    again = dispose(f, date(2045, 1, 20), 700_000)
    assert again.levy.levy_cents == 16_500_00
    assert verifies(f)


def test_edition_1_keep_keeps_its_old_meaning(make: Any) -> None:
    """A version-1 ledger verifies with the amounts it was written with: no credit."""
    f = make(charter(version=1, baseline_policy="keep"), series="CPI")
    dispose(f, date(2040, 6, 1), 545_000)
    second = dispose(f, date(2045, 1, 10), 700_000)
    assert (second.levy.credit_cents, second.levy.levy_cents) == (None, 30_000_00)
    assert "credit_cents" not in second.levy.model_dump(mode="json")
    assert "disposal" not in second.model_dump(mode="json")
    assert verifies(f)


def test_credit_applies_from_the_amendment_to_version_2(make: Any) -> None:
    f = make(charter(version=1, baseline_policy="keep"), series="CPI")
    dispose(f, date(2040, 6, 1), 545_000)  # edition 1: X 45,000
    f.append("governor", [amend_charter(charter(baseline_policy="keep"), "edition 2")])
    second = dispose(f, date(2045, 1, 10), 700_000)
    assert (second.disposal, second.levy.credit_cents, second.levy.levy_cents) == (
        "sale",
        45_000_00,
        16_500_00,
    )
    assert verifies(f)


# -- disposals that are not sales --------------------------------------------------------------


@dataclass(frozen=True)
class Disposal:
    disposal: str
    price_eur: int
    appraisal_eur: int | None
    levy_cents: int
    baseline_after: int


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            Disposal("sale", 545_000, None, 13_500_00, 545_000_00),
            id="sale: levied on max(S, A), the baseline resets to it",
        ),
        pytest.param(
            Disposal("sale", 520_000, 545_000, 13_500_00, 545_000_00),
            id="sale with a higher appraisal: levied on A, baseline max(S, A) = A",
        ),
        pytest.param(
            Disposal("gift", 0, 545_000, 13_500_00, 545_000_00),
            id="gift: the appraised value counts as S",
        ),
        pytest.param(
            Disposal("related-party-sale", 450_000, 545_000, 13_500_00, 545_000_00),
            id="sale between related parties below market: levied on the appraisal",
        ),
        pytest.param(
            Disposal("share-deal", 0, 545_000, 13_500_00, 545_000_00),
            id="sale of the company that owns the property: levied on the appraisal",
        ),
        pytest.param(
            Disposal("inheritance", 0, None, 0, 400_000_00),
            id="inheritance (exempt): no levy, the baseline is kept",
        ),
        pytest.param(
            Disposal("divorce", 0, 545_000, 0, 400_000_00),
            id="division on divorce (exempt): no levy, the baseline is kept",
        ),
        pytest.param(
            Disposal("expropriation", 600_000, None, 0, 400_000_00),
            id="expropriation (exempt): no levy, the baseline is kept",
        ),
    ],
)
def test_every_disposal_in_the_term(make: Any, case: Disposal) -> None:
    f = make(charter())
    body = dispose(f, date(2040, 6, 1), case.price_eur, case.disposal, case.appraisal_eur)
    assert (body.disposal, body.levy.levy_cents) == (case.disposal, case.levy_cents)
    exempt = case.disposal in ("inheritance", "divorce", "expropriation")
    assert body.levy.exemption == (case.disposal if exempt else None)
    if exempt:
        assert (body.levy.sale_index, body.levy.expected_cents, body.postings) == (None, None, ())
    record = property_record(f)
    assert record["baseline_cents"] == case.baseline_after
    assert verifies(f)


@pytest.mark.parametrize("disposal", ["gift", "related-party-sale", "share-deal"])
def test_a_disposal_that_is_not_a_sale_needs_an_appraisal(make: Any, disposal: str) -> None:
    f = make(charter())
    with pytest.raises(
        RuleViolationError, match=f"a disposal of kind {disposal} is levied on the appraised value"
    ):
        dispose(f, date(2040, 6, 1), 0, disposal)


def test_an_exempt_transfer_keeps_the_baseline_for_the_next_sale(make: Any) -> None:
    f = make(charter())
    dispose(f, date(2040, 6, 1), 0, "inheritance")
    after = dispose(f, date(2045, 1, 10), 700_000)
    # Measured from the original baseline: E = 600,000, X = 100,000.
    assert (after.levy.baseline_cents, after.levy.levy_cents) == (400_000_00, 30_000_00)


def test_the_charter_lists_the_exempt_transfers(make: Any) -> None:
    f = make(charter(exempt_transfers=["inheritance"]))
    divorce = dispose(f, date(2040, 6, 1), 0, "divorce", appraisal_eur=545_000)
    assert (divorce.levy.exemption, divorce.levy.levy_cents) == (None, 13_500_00)
    with pytest.raises(
        RuleViolationError, match="a disposal of kind expropriation is levied on the appraised"
    ):
        dispose(f, date(2045, 1, 10), 700_000, "expropriation")


def test_the_exempt_transfers_are_copied_at_registration(make: Any) -> None:
    f = make(charter())
    f.append("governor", [amend_charter(charter(exempt_transfers=[]), "no exemptions")])
    kept = dispose(f, date(2040, 6, 1), 0, "inheritance")
    assert kept.levy.exemption == "inheritance"


def test_an_unknown_disposal_is_a_usage_error(make: Any) -> None:
    f = make(charter())
    with pytest.raises(InputError, match="unknown disposal 'swap'"):
        dispose(f, date(2040, 6, 1), 545_000, "swap")


def test_edition_1_records_only_sales(make: Any) -> None:
    f = make(charter(version=1), series="CPI")
    with pytest.raises(RuleViolationError, match="recorded from charter version 2"):
        dispose(f, date(2040, 6, 1), 0, "gift", appraisal_eur=545_000)


# -- the cooperative's own dwellings, the index, the charter -----------------------------------


@pytest.mark.parametrize(
    ("dwellings_exempt", "levy_cents"),
    [
        pytest.param(True, 0, id="charter exempts the cooperative's dwellings (placeholder)"),
        pytest.param(False, 13_500_00, id="charter levies them like any property"),
    ],
)
def test_the_cooperatives_own_dwellings(make: Any, dwellings_exempt: bool, levy_cents: int) -> None:
    f = make(charter(dwellings_exempt=dwellings_exempt), kind="dwelling")
    body = dispose(f, date(2040, 6, 1), 545_000)
    assert body.levy.levy_cents == levy_cents
    assert body.levy.exemption == ("cooperative-dwelling" if dwellings_exempt else None)
    assert verifies(f)


def test_a_home_is_not_a_cooperative_dwelling(make: Any) -> None:
    f = make(charter(dwellings_exempt=True), kind="home")
    assert dispose(f, date(2040, 6, 1), 545_000).levy.levy_cents == 13_500_00


@pytest.mark.parametrize(
    ("version", "series"),
    [
        pytest.param(2, HPI, id="version 2: the regional house-price index HPI-ALMERE"),
        pytest.param(1, "CPI", id="version 1: CPI, as before"),
    ],
)
def test_the_default_expected_value_index(version: int, series: str) -> None:
    assert charter(version=version).levy.default_index == series


def test_version_2_placeholders_and_version_1_refusal() -> None:
    terms = charter().levy
    assert (terms.exempt_transfers, terms.dwellings_exempt) == (
        ("inheritance", "divorce", "expropriation"),
        True,
    )
    data = charter(version=1).model_dump(mode="json")
    assert "exempt_transfers" not in data["levy"]  # a version-1 charter's signed form as before
    data["levy"]["dwellings_exempt"] = True
    with pytest.raises(ValueError, match=re.escape("levy.dwellings_exempt is a version-2")):
        Charter.model_validate(data)
