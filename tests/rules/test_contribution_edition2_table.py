"""Area contributions of edition 2 (a version-2 charter): every home and every workplace, each
charge naming its debtor, for the charter's beneficiary, whole months or pro rata by days.

One row per clause (DOMAIN.md "Area contribution"); the edition-1 runs are in
tests/vectors/rules/contributions.json and test_contribution_subjects.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger.charter import TEMPLATE, Charter, charter_from_dict, parse_charter
from ledger.command import Command, Fact, LegacyCommand
from ledger.errors import InputError, LedgerError
from ledger.keys import Signer
from ledger.postings import balance
from ledger.rules import contributions, levy, members, shares, werk
from ledger.rules.members import PersonalData
from ledger.state import Ctx, State
from tests.rules.test_werk_table import refused
from tests.support import Founded, charter_v1, found_ledger

D = date.fromisoformat


def charter(**contribution: Any) -> Charter:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    data["contribution"].update(contribution)
    return charter_from_dict(data)


def _story(f: Founded) -> Founded:
    """M-1 (household) buys dwelling D-1 on 2032-01-31; home P-H1 is delivered 2032-01-20;
    businesses B-1 and B-2; commercial building P-C1 (never charged)."""
    f.append(
        "coop-admin",
        [
            members.admit("M-1", "household", PersonalData(name="A"), D("2031-06-01")),
            *(
                members.admit(
                    b,
                    "business",
                    PersonalData(name=b),
                    D("2031-06-01"),
                    founded=D("2030-01-01"),
                    district="Pampus-Haven",
                )
                for b in ("B-1", "B-2")
            ),
            shares.register_dwelling(
                "D-1", "Pampus-Haven", D("2031-06-01"), 200_000_00, D("2031-06-01"), rule="nominal"
            ),
            shares.sell_share(
                "D-1",
                "M-1",
                D("2032-01-31"),
                **f.papers(D("2032-01-31"), "M-1"),
            ),
        ],
    )
    f.append(
        "levy-admin",
        [
            levy.register_property(
                "P-H1", "home", "Pampus-Haven", D("2032-01-20"), 300_000_00, D("2031-06-01")
            ),
            levy.register_property(
                "P-C1", "commercial", "Pampus-Haven", D("2031-06-01"), 900_000_00, D("2031-06-01")
            ),
        ],
    )
    return f


@pytest.fixture
def area(founded: Founded) -> Founded:
    return _story(founded)


@pytest.fixture
def pro_rata(tmp_path: Path, signers: dict[str, Signer]) -> Iterator[Founded]:
    f = found_ledger(str(tmp_path / "p.db"), signers, charter(part_month="pro-rata"))
    yield _story(f)
    f.store.dispose()


def workplaces(f: Founded, member: str, count: int, on: str) -> None:
    f.append(
        "levy-admin", [contributions.register_workplaces(member, "Pampus-Haven", count, D(on))]
    )


def debtor(f: Founded, subject: str, who: str, on: str) -> None:
    f.append("levy-admin", [contributions.name_debtor(subject, who, D(on))])


def run(f: Founded, month: str) -> contributions.ContributionCharged:
    on = contributions.month_start(month)
    body = f.append("levy-admin", [contributions.charge_month(month, on)]).facts[-1].body
    assert isinstance(body, contributions.ContributionCharged)
    return body


def lines(body: contributions.ContributionCharged) -> list[tuple[Any, ...]]:
    return [
        (x.subject, x.subject_kind, x.debtor, x.workplaces, x.days, x.amount_cents)
        for x in body.lines
    ]


# --- the base: every home and every workplace, each charge naming its debtor ----------------


def test_a_run_charges_every_home_and_every_workplace_naming_the_debtor(area: Founded) -> None:
    debtor(area, "P-H1", "OWNER-7", "2032-01-20")
    workplaces(area, "B-1", 3, "2031-09-01")
    body = run(area, "2032-01")
    assert lines(body) == [
        ("B-1", "workplace", "B-1", 3, None, 30_00),
        ("D-1", "dwelling", "M-1", None, None, 10_00),
        ("P-H1", "home", "OWNER-7", None, None, 10_00),
    ]
    assert (body.total_cents, body.beneficiary, body.part_month) == (
        50_00,
        "area-management",
        "whole-month",
    )
    with area.store.reading() as tx:
        assert balance(tx.state, "beneficiary:area-management:contribution") == -50_00
        assert balance(tx.state, "gem:contribution") == 0


def test_a_home_without_a_debtor_refuses_the_run(area: Founded) -> None:
    workplaces(area, "B-1", 3, "2031-09-01")
    refused(
        area,
        "levy-admin",
        contributions.charge_month("2032-01", D("2032-02-01")),
        "home P-H1 has no debtor named on or before 2032-01-31",
    )
    # A debtor named only after the month does not count for it.
    debtor(area, "P-H1", "OWNER-7", "2032-02-01")
    refused(area, "levy-admin", contributions.charge_month("2032-01", D("2032-02-01")), "P-H1")


def test_the_debtor_is_the_one_named_last_in_the_month(area: Founded) -> None:
    debtor(area, "P-H1", "OWNER-7", "2032-01-20")
    debtor(area, "P-H1", "OWNER-8", "2032-02-15")
    run(area, "2032-01")
    assert [x.debtor for x in run(area, "2032-02").lines] == ["M-1", "OWNER-8"]
    assert [x.debtor for x in run(area, "2032-03").lines] == ["M-1", "OWNER-8"]


def test_a_leased_workspace_is_charged_through_its_tenants_workplaces(area: Founded) -> None:
    debtor(area, "P-H1", "OWNER-7", "2032-01-20")
    area.append(
        "werk-admin",
        [
            werk.register_workspace("W-1", "Pampus-Haven", 50, 200_00, D("2031-06-01")),
            werk.apply("B-2", 20, 80, D("2031-12-01")),
            werk.grant("W-1", "B-2", D("2032-01-15"), D("2035-01-15"), 500_00, D("2032-01-10")),
        ],
    )
    assert [x.subject for x in run(area, "2032-01").lines] == ["D-1", "P-H1"]
    workplaces(area, "B-2", 2, "2032-02-01")
    assert lines(run(area, "2032-02"))[0] == ("B-2", "workplace", "B-2", 2, None, 20_00)


def test_a_debtor_pays_by_its_id(area: Founded) -> None:
    debtor(area, "P-H1", "OWNER-7", "2032-01-20")
    run(area, "2032-01")
    body = (
        area.append(
            "levy-admin",
            [contributions.pay_contribution(10_00, D("2032-02-03"), "bank-1", member="OWNER-7")],
        )
        .facts[-1]
        .body
    )
    assert isinstance(body, contributions.ContributionPaid)
    assert [(a.subject, a.amount_cents) for a in body.allocations] == [("P-H1", 10_00)]
    with area.store.reading() as tx:
        assert balance(tx.state, "beneficiary:area-management:contribution:cash") == 10_00


# --- whole months (the placeholder policy) and pro rata by days -----------------------------

# (policy, B-1's counts as (date, count) rows, month, expected B-1 line or None)
WORKPLACE_MONTHS = [
    pytest.param("whole-month", [("2031-09-01", 3)], "2032-01", (3, None, 30_00), id="whole"),
    pytest.param(
        "whole-month",
        [("2031-09-01", 3), ("2032-01-16", 5)],
        "2032-01",
        (5, None, 50_00),
        id="grows-mid-month-whole-month-pays-the-most",
    ),
    pytest.param(
        "whole-month",
        [("2031-09-01", 3), ("2032-01-31", 0)],
        "2032-01",
        (3, None, 30_00),
        id="stops-on-the-last-day-pays-the-month",
    ),
    pytest.param(
        "whole-month",
        [("2031-09-01", 3), ("2032-01-01", 0)],
        "2032-01",
        None,
        id="stopped-before-the-month-pays-nothing",
    ),
    pytest.param(
        "pro-rata",
        [("2031-09-01", 3), ("2032-01-16", 5)],
        "2032-01",
        (5, 31, 40_32),
        id="pro-rata-3x15-plus-5x16-of-31-days",
    ),
    pytest.param(
        "pro-rata",
        [("2032-01-20", 2)],
        "2032-01",
        (2, 12, 7_74),
        id="pro-rata-starts-on-the-20th",
    ),
    pytest.param(
        "pro-rata",
        [("2031-09-01", 1), ("2032-02-15", 0)],
        "2032-02",
        (1, 14, 4_83),
        id="pro-rata-stops-on-the-15th-of-29-days",
    ),
]


@pytest.mark.parametrize(("policy", "rows", "month", "expected"), WORKPLACE_MONTHS)
def test_workplaces_in_a_month(
    tmp_path: Path,
    signers: dict[str, Signer],
    policy: str,
    rows: list[tuple[str, int]],
    month: str,
    expected: tuple[int, int | None, int] | None,
) -> None:
    f = _story(found_ledger(str(tmp_path / "w.db"), signers, charter(part_month=policy)))
    debtor(f, "P-H1", "OWNER-7", "2032-01-20")
    for on, count in rows:
        workplaces(f, "B-1", count, on)
    found = [line[3:] for line in lines(run(f, month)) if line[0] == "B-1"]
    assert found == ([] if expected is None else [expected])
    f.store.dispose()


def test_pro_rata_homes_pay_for_their_days(pro_rata: Founded) -> None:
    """P-H1 delivered 2032-01-20: 12 of 31 days, 10.00 x 12 / 31 = 3.87; D-1 bought on
    2032-01-31: 1 day, 0.32. A whole month in February: 10.00 each."""
    debtor(pro_rata, "P-H1", "OWNER-7", "2032-01-20")
    assert lines(run(pro_rata, "2032-01")) == [
        ("D-1", "dwelling", "M-1", None, 1, 32),
        ("P-H1", "home", "OWNER-7", None, 12, 3_87),
    ]
    assert [x.amount_cents for x in run(pro_rata, "2032-02").lines] == [10_00, 10_00]


def test_the_beneficiary_is_the_charters(tmp_path: Path, signers: dict[str, Signer]) -> None:
    f = _story(found_ledger(str(tmp_path / "b.db"), signers, charter(beneficiary="gebiedsbeheer")))
    debtor(f, "P-H1", "OWNER-7", "2032-01-20")
    body = run(f, "2032-01")
    assert body.beneficiary == "gebiedsbeheer"
    assert [p.account for p in body.postings] == [
        "contribution:receivable",
        "beneficiary:gebiedsbeheer:contribution",
    ]
    f.store.dispose()


def forged(command: Command, **changes: Any) -> Command:
    def decide(state: State, ctx: Ctx) -> Fact:
        fact = command.decide(state, ctx)
        return Fact(fact.kind, fact.body.model_copy(update=changes), fact.effective)

    return LegacyCommand("forged", {}, decide)


def test_a_forged_beneficiary_or_policy_is_refused(area: Founded) -> None:
    debtor(area, "P-H1", "OWNER-7", "2032-01-20")
    command = contributions.charge_month("2032-01", D("2032-02-01"))
    refused(area, "levy-admin", forged(command, beneficiary="gem"), "expected beneficiary")
    refused(area, "levy-admin", forged(command, part_month="pro-rata"), "part-month policy")


# --- registering workplaces and naming debtors -------------------------------------------

WORKPLACE_REGISTRATION = [
    pytest.param(("B-1", "Pampus-Haven", 4, "2032-01-01"), None, id="ok"),
    pytest.param(("M-1", "Pampus-Haven", 4, "2032-01-01"), ("expected a business",), id="home"),
    pytest.param(("M-404", "Pampus-Haven", 4, "2032-01-01"), ("unknown member M-404",), id="who"),
    pytest.param(("B-1", "Atlantis", 4, "2032-01-01"), ("'Atlantis'",), id="district"),
    pytest.param(("B-1", "Pampus-Haven", 0, "2032-01-01"), ("at least 1",), id="first-zero"),
]


@pytest.mark.parametrize(("args", "expected"), WORKPLACE_REGISTRATION)
def test_workplace_registration(
    area: Founded, args: tuple[str, str, int, str], expected: tuple[str, ...] | None
) -> None:
    member, district, count, on = args
    command = contributions.register_workplaces(member, district, count, D(on))
    if expected is None:
        area.append("levy-admin", [command])
    else:
        refused(area, "levy-admin", command, *expected)


def test_workplace_counts_are_in_date_order(area: Founded) -> None:
    workplaces(area, "B-1", 3, "2032-01-10")
    refused(
        area,
        "levy-admin",
        contributions.register_workplaces("B-1", "Pampus-Haven", 4, D("2032-01-10")),
        "dated after its last one (2032-01-10)",
    )
    with pytest.raises(InputError, match="workplaces"):
        contributions.register_workplaces("B-1", "Pampus-Haven", -1, D("2032-01-11"))


DEBTORS = [
    pytest.param("P-H1", None, id="home-ok"),
    pytest.param("P-C1", ("expected a levy-bound home", "kind commercial"), id="commercial"),
    pytest.param("P-404", ("found no property",), id="unknown"),
]


@pytest.mark.parametrize(("subject", "expected"), DEBTORS)
def test_naming_a_debtor(area: Founded, subject: str, expected: tuple[str, ...] | None) -> None:
    command = contributions.name_debtor(subject, "OWNER-7", D("2032-01-20"))
    if expected is None:
        area.append("levy-admin", [command])
    else:
        refused(area, "levy-admin", command, *expected)


# --- old ledgers keep their meaning ----------------------------------------------------------


@pytest.fixture
def area_v1(tmp_path: Path, signers: dict[str, Signer]) -> Iterator[Founded]:
    f = found_ledger(str(tmp_path / "v1.db"), signers, charter_v1())
    yield _story(f)
    f.store.dispose()


def test_version_1_runs_keep_their_shape_and_the_gems_accounts(area_v1: Founded) -> None:
    body = run(area_v1, "2032-01")
    dumped = body.model_dump(mode="json")
    assert "beneficiary" not in dumped and "part_month" not in dumped
    assert all(set(line) == {"subject", "subject_kind", "district", "member", "amount_cents"}
               for line in dumped["lines"])  # fmt: skip
    assert [(x.subject, x.member) for x in body.lines] == [("D-1", "M-1"), ("P-H1", None)]
    with area_v1.store.reading() as tx:
        assert balance(tx.state, "gem:contribution") == -20_00


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            contributions.register_workplaces("B-1", "Pampus-Haven", 3, D("2032-01-01")),
            id="workplaces",
        ),
        pytest.param(contributions.name_debtor("P-H1", "OWNER-7", D("2032-01-20")), id="debtor"),
    ],
)
def test_workplaces_and_debtors_need_version_2(area_v1: Founded, command: Command) -> None:
    refused(area_v1, "levy-admin", command, "applies from charter version 2", "version 1")


def test_a_version_1_charter_carrying_a_version_2_parameter_is_refused() -> None:
    data = charter_v1().model_dump(mode="json")
    data["contribution"]["beneficiary"] = "gebiedsbeheer"
    with pytest.raises(LedgerError, match=r"contribution\.beneficiary is a version-2 parameter"):
        charter_from_dict(data)
    data = charter_v1().model_dump(mode="json")
    data["lease"]["index_series"] = "CPI"
    with pytest.raises(LedgerError, match=r"lease\.index_series is a version-2 parameter"):
        charter_from_dict(data)


def test_the_template_carries_domain_md_placeholders() -> None:
    """DOMAIN.md: EUR 10.00 per home and per workplace a month, whole months, for the area
    management organisation; leases indexed by the ROZ formula on CPI."""
    template = parse_charter(TEMPLATE)
    assert template.version == 2
    terms = template.contribution
    assert (terms.home_monthly_cents, terms.workspace_monthly_cents) == (10_00, 10_00)
    assert (terms.beneficiary, terms.part_month) == ("area-management", "whole-month")
    assert template.lease.index_series == "CPI"
    assert template.lease.max_term_years == 5
