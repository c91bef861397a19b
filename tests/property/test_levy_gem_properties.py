"""Levy, contribution and GEM export invariants on generated stories through real SQLite ledgers."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.charter import TEMPLATE, Charter, parse_charter
from ledger.errors import RuleViolationError
from ledger.export.gem import (
    COLUMNS,
    FILES,
    MANIFEST,
    compute,
    export_gem,
    parse_period,
    store_entries,
    verify_from_store,
)
from ledger.export.gem_schemas import schema_for
from ledger.keys import Signer, generate
from ledger.model import decode_leaf
from ledger.postings import balance
from ledger.rules import contributions, corrections, levy
from ledger.rules.index_series import publish_index
from ledger.rules.price_rules import anniversary
from tests.support import Founded, found_ledger

DISTRICTS = ("Pampus-Centrum", "Pampus-Haven", "Pampus-Oost")
TERM_YEARS = 2  # short, so generated sales fall on both sides of the end of the term
FIRST = date(2031, 1, 1)
MONTHS = [f"{y}-{m:02d}" for y in range(2031, 2036) for m in range(1, 13)]

SIGNERS: dict[str, Signer] = {
    role: generate(f"prop-{role}")
    for role in ("governor", "coop-admin", "werk-admin", "levy-admin")
}
SIGNERS["log"] = generate("test.example/coop")


def charter() -> Charter:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    data["levy"]["term_years"] = TERM_YEARS
    return Charter.model_validate(data)


@dataclass(frozen=True)
class Prop:
    kind: str
    district: str
    delivered: date
    baseline_eur: int


props = st.builds(
    Prop,
    st.sampled_from(["home", "home", "commercial", "plot", "dwelling"]),
    st.sampled_from(DISTRICTS),
    st.dates(date(2031, 1, 1), date(2032, 12, 31)),
    st.integers(100_000, 600_000),
)
days = st.integers(0, 4 * 365)
percent = st.integers(1, 101)  # of what is outstanding or due; 101 is one cent too many
actions = st.one_of(
    st.tuples(
        st.just("sell"),
        st.integers(0, 3),
        st.integers(0, 3 * 365),
        st.integers(90, 200),
        st.none() | st.integers(70, 200),
        st.integers(0, 10),
    ),
    st.tuples(st.just("pay"), st.integers(0, 5), percent, st.integers(0, 400)),
    st.tuples(st.just("pay"), st.integers(0, 5), percent, st.integers(0, 400)),
    st.tuples(st.just("waive"), st.integers(0, 5), percent, st.integers(0, 400)),
    st.tuples(st.just("run"), st.sampled_from(MONTHS[12:36])),
    st.tuples(st.just("run"), st.sampled_from(MONTHS[12:36])),
    st.tuples(st.just("contrib-pay"), st.integers(0, 3), percent, days),
    # A governor's correction of one of the levy entries so far (sale, payment or waiver).
    st.tuples(st.just("correct"), st.integers(0, 30), st.integers(0, 400)),
)
# The index as a walk from 100, so sales land on both sides of the expected value.
index_walks = st.lists(
    st.decimals("-2", "3", places=1), min_size=len(MONTHS), max_size=len(MONTHS)
).map(lambda steps: [100 + sum(steps[: i + 1]) for i in range(len(steps))])
stories = st.tuples(
    st.lists(props, min_size=1, max_size=4),
    index_walks,
    st.lists(actions, min_size=3, max_size=20),
    st.sampled_from(["2032", "2033", "2032-Q3", "2033-Q1", "2032-11", "2034"]),
)


def part(total: int, pct: int) -> int:
    """pct% of total, at least a cent; 101% is one cent more than the total."""
    return total + 1 if pct > 100 else max(1, total * pct // 100)


def play(f: Founded, story: Any) -> list[int]:
    """Run the story's actions, checking each refusal is for the reason the rules give;
    returns the sale seqs."""
    properties, index, steps, _period = story
    f.append(
        "coop-admin",
        [
            publish_index("HPI-ALMERE", m, str(v), "test")
            for m, v in zip(MONTHS, index, strict=True)
        ],
    )
    f.append(
        "levy-admin",
        [
            levy.register_property(
                f"P-{i}", p.kind, p.district, p.delivered, p.baseline_eur * 100, FIRST
            )
            for i, p in enumerate(properties)
        ],
    )
    owners = [  # charter version 2: every home's contribution names its debtor
        contributions.name_debtor(f"P-{i}", f"OWNER-{i}", FIRST)
        for i, p in enumerate(properties)
        if p.kind == "home"
    ]
    if owners:
        f.append("levy-admin", owners)
    sales: list[int] = []
    levy_entries: list[tuple[int, date]] = []  # (seq, date) of every sale, payment and waiver
    for step in steps:
        kind = step[0]
        if kind == "sell":
            _, which, offset, price_pct, appraisal_pct, improvements_pct = step
            i = which % len(properties)
            on = properties[i].delivered + timedelta(days=offset)
            base = properties[i].baseline_eur  # prices as a share of the baseline, in euros
            appraisal = None if appraisal_pct is None else base * appraisal_pct
            try:
                receipt = f.append(
                    "levy-admin",
                    [
                        levy.sell_property(
                            f"P-{i}",
                            on,
                            base * price_pct,
                            "deed",
                            appraisal,
                            base * improvements_pct,
                        )
                    ],
                )
            except RuleViolationError as e:
                assert "before its previous sale" in str(e)
                continue
            sales.append(receipt.entries[0].seq)
            levy_entries.append((receipt.entries[0].seq, on))
        elif kind in ("pay", "waive") and sales:
            _, which, pct, offset = step
            seq = sales[which % len(sales)]
            with f.store.reading() as tx:
                sale = tx.state.get("levy", levy.sale_key(seq))
            assert sale is not None
            on = date.fromisoformat(sale["sale_date"]) + timedelta(days=offset)
            amount = part(sale["outstanding"], pct)
            command = (
                levy.pay_levy(seq, amount, on, "ref")
                if kind == "pay"
                else levy.waive_levy(seq, "reason", on, amount)
            )
            try:
                receipt = f.append("levy-admin" if kind == "pay" else "governor", [command])
            except RuleViolationError as e:
                if sale["corrected_seq"] is not None:
                    assert "no levy is owed on it" in str(e), e
                    continue
                assert amount > sale["outstanding"], e
                assert "more than the outstanding" in str(e)
            else:
                levy_entries.append((receipt.entries[0].seq, on))
        elif kind == "correct" and levy_entries:
            _, which, offset = step
            seq, on = levy_entries[which % len(levy_entries)]
            try:
                f.append(
                    "governor",
                    [corrections.correct(seq, "recorded in error", on + timedelta(days=offset))],
                )
                event("a levy entry corrected")
            except RuleViolationError as e:
                event("a levy correction refused")
                # Refused only for the reasons the rules give: already corrected, a later sale
                # of the property, payments or waivers still in force.
                assert any(
                    w in str(e)
                    for w in ("already corrected", "was sold again", "payments or waivers")
                ), e
        elif kind == "run":
            month = step[1]
            try:
                f.append(
                    "levy-admin",
                    [
                        contributions.charge_month(
                            month, date.fromisoformat(month + "-01") + timedelta(days=3)
                        )
                    ],
                )
            except contributions.AlreadyChargedError:
                pass
            except RuleViolationError as e:
                assert "nothing to charge" in str(e)
        elif kind == "contrib-pay":
            _, which, pct, offset = step
            subject = f"P-{which % len(properties)}"
            on = date(2032, 1, 1) + timedelta(days=offset)
            with f.store.reading() as tx:
                # Charter version 2: only the charges whose run is dated by the payment count.
                due = sum(
                    r["due_cents"]
                    for r in contributions.arrears(tx.state, on)
                    if r["subject"] == subject
                    and date.fromisoformat(run_date(tx.state, r["month"])) <= on
                )
            amount = part(due, pct)
            try:
                f.append(
                    "levy-admin",
                    [contributions.pay_contribution(amount, on, "bank", subject=subject)],
                )
            except RuleViolationError as e:
                # Refused exactly when nothing was charged or the payment is above what is due.
                assert amount > due, e
                reasons = ("never charged", "nothing is due", "more than", "before the charge")
                assert any(w in str(e) for w in reasons)
    return sales


def run_date(state: Any, month: str) -> str:
    run = contributions.run_of(state, month)
    assert run is not None
    return str(run["effective"])


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stories)
def test_levy_contribution_and_export_invariants(story: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = found_ledger(str(Path(tmp) / "l.db"), SIGNERS, charter())
        try:
            sales = play(f, story)
            check_ledger(f, story, sales)
            for label in sorted({story[3], "2032", "2033"}):
                check_export(f, Path(tmp) / label, parse_period(label))
        finally:
            f.store.dispose()


def check_ledger(f: Founded, story: Any, sales: list[int]) -> None:
    properties = story[0]
    with f.store.reading() as tx:
        for seq in sales:
            data = tx.entry(seq)
            assert data is not None
            body = levy.PropertySold.model_validate(decode_leaf(data).entry.body)
            prop = properties[int(body.property_id[2:])]
            end = anniversary(prop.delivered, TERM_YEARS)
            # Never negative, and charged only before the end of the term.
            assert body.levy.levy_cents >= 0
            assert body.levy.in_term is (body.sale_date < end)
            if body.sale_date >= end:
                assert body.levy.levy_cents == 0
            record = tx.state.get("levy", levy.sale_key(seq))
            assert record is not None
            assert record["outstanding"] >= 0
            if record["corrected_seq"] is None:
                owed = record["assessed"] - record["paid"] - record["waived"]
                assert record["outstanding"] == owed
            else:
                # A corrected sale had no payment or waiver in force left, and owes nothing.
                assert (record["outstanding"], record["payments"], record["waivers"]) == (0, [], [])
            assert balance(tx.state, levy.receivable(body.property_id)) >= 0
        for _subject, record in tx.state.scan("contribution"):
            assert all(due["cents"] > 0 for due in record["open"].values())
        # A run is idempotent: the same month again appends nothing and charges nothing more.
        runs = list(contributions.runs(tx.state))
        size = tx.head()[0]
        receivable = balance(tx.state, contributions.RECEIVABLE)
    for month, run in runs:
        try:
            f.append("levy-admin", [contributions.charge_month(month, date(2036, 1, 1))])
        except contributions.AlreadyChargedError as e:
            assert e.seq == run["seq"]
        else:
            raise AssertionError(f"{month} was charged twice")
    with f.store.reading() as tx:
        assert tx.head()[0] == size
        assert balance(tx.state, contributions.RECEIVABLE) == receivable


def check_export(f: Founded, tmp: Path, period: Any) -> None:
    first, second = tmp / "gem-1", tmp / "gem-2"  # one state, exported twice
    with f.store.reading() as tx:
        export_gem(tx, period, first, SIGNERS["log"])
        export_gem(tx, period, second, SIGNERS["log"])
        assert verify_from_store(first, tx, None).ok
        size = tx.head()[0]
        ledger_sums = sums_from_entries(
            [decode_leaf(d).entry for _, d in tx.entries(0, size)], period
        )
        data = compute(store_entries(tx, size), period)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        # Two exports of one state are byte-identical (the manifest's signature included).
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
        content = (first / name).read_bytes()
        schema = schema_for(name)
        if name.endswith(".csv"):
            for row in csv_rows(content):
                jsonschema.validate(row, schema)
        else:
            jsonschema.validate(json.loads(content), schema)
    check_totals(first, data, ledger_sums)
    assert json.loads((first / MANIFEST).read_text())["tree_size"] == size


def sums_from_entries(entries: list[Any], period: Any) -> dict[str, int]:
    """The period's figures straight from the log, without the export's code."""
    out: dict[str, int] = defaultdict(int)
    in_period = period.start.__le__
    moved: dict[int, tuple[str, int, date]] = {}  # seq -> movement, amount, date
    for e in entries:
        if e.kind == "property.sold":
            moved[e.seq] = ("assessed", e.body["levy"]["levy_cents"], e.effective)
        if e.kind in ("levy.paid", "levy.waived"):
            moved[e.seq] = (e.kind[5:], e.body["amount_cents"], e.effective)
        if e.kind == "correction.applied" and e.body["seq"] in moved:
            movement, amount, on = moved[e.body["seq"]]  # counted on the original's date
            if on > period.end:
                continue
            out["levy_outstanding"] += -amount if movement == "assessed" else amount
            if in_period(on):
                out[f"levy_{movement}_reversed"] += amount
                out["sales_reversed"] += movement == "assessed"
        if e.kind == "property.sold" and in_period(e.effective) and e.effective <= period.end:
            out["sales"] += 1
            out["levy_assessed"] += e.body["levy"]["levy_cents"]
        if e.kind == "property.sold" and e.effective <= period.end:
            out["levy_outstanding"] += e.body["levy"]["levy_cents"]
        if e.kind in ("levy.paid", "levy.waived") and e.effective <= period.end:
            out["levy_outstanding"] -= e.body["amount_cents"]
            if in_period(e.effective):
                out["levy_paid" if e.kind == "levy.paid" else "levy_waived"] += e.body[
                    "amount_cents"
                ]
        if e.kind == "contribution.charged" and e.body["month"] <= period.last_month:
            total = sum(line["amount_cents"] for line in e.body["lines"])
            out["contributions_in_arrears"] += total
            if e.body["month"] >= period.first_month:
                out["contributions_charged"] += total
        if e.kind == "contribution.paid" and e.effective <= period.end:
            out["contributions_in_arrears"] -= e.body["amount_cents"]
            if in_period(e.effective):
                out["contributions_paid"] += e.body["amount_cents"]
    return out


def check_totals(directory: Path, data: Any, ledger_sums: dict[str, int]) -> None:
    totals = json.loads((directory / "totals.json").read_text())["rows"]
    details = {
        name: json.loads((directory / f"{name}.json").read_text())["rows"] for name in FILES[1:]
    }
    detail_sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in details["levy"]:
        sums = detail_sums[(row["district"], row["property_kind"])]
        sums[f"levy_{row['movement'].replace('-', '_')}_cents"] += row["amount_cents"]
        sums["sales"] += row["movement"] == "assessed"
        sums["sales_reversed"] += row["movement"] == "assessed-reversed"
    for row in details["contributions"]:
        sums = detail_sums[(row["district"], row["property_kind"])]
        sums[f"contributions_{row['movement']}_cents"] += row["amount_cents"]
    flows = (
        "sales",
        "sales_reversed",
        "levy_assessed_cents",
        "levy_paid_cents",
        "levy_waived_cents",
        "levy_assessed_reversed_cents",
        "levy_paid_reversed_cents",
        "levy_waived_reversed_cents",
        "contributions_charged_cents",
        "contributions_paid_cents",
    )
    seen = set()
    for row in totals:
        key = (row["district"], row["property_kind"])
        seen.add(key)
        # Totals equal the sums of the detail lines...
        for name in flows:
            assert row[name] == detail_sums[key][name], (key, name)
        # ...and every end balance is the start balance plus the period's movements.
        assert row["levy_outstanding_cents"] == (
            row["levy_outstanding_at_start_cents"]
            + row["levy_assessed_cents"]
            - row["levy_assessed_reversed_cents"]
            - row["levy_paid_cents"]
            + row["levy_paid_reversed_cents"]
            - row["levy_waived_cents"]
            + row["levy_waived_reversed_cents"]
        )
        assert row["contributions_in_arrears_cents"] == (
            row["contributions_in_arrears_at_start_cents"]
            + row["contributions_charged_cents"]
            - row["contributions_paid_cents"]
        )
    assert set(detail_sums) <= seen
    # ...and the ledger's own entries for the period.
    for name in (
        "sales",
        "sales_reversed",
        "levy_assessed",
        "levy_paid",
        "levy_waived",
        "levy_assessed_reversed",
        "levy_paid_reversed",
        "levy_waived_reversed",
        "levy_outstanding",
        "contributions_charged",
        "contributions_paid",
        "contributions_in_arrears",
    ):
        column = name if name.startswith("sales") else f"{name}_cents"
        assert sum(row[column] for row in totals) == ledger_sums[name], name
    assert [c.json_name() for c in COLUMNS["totals"]] == list(totals[0]) if totals else True
    assert data.totals == [{c.name: r[c.json_name()] for c in COLUMNS["totals"]} for r in totals]
