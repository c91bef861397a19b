"""Run the rules' conformance vectors (tests/vectors/rules/*.json) against the library.

`python tests/vectors/run_rules.py` prints one line per vector and a summary, and exits 1 if
any vector fails. docs/RULES.md explains the rules and the vector format; an implementer in
another language can copy this file's dispatch: each file names its rule, each vector its
inputs and the expected output or refusal.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from pydantic import TypeAdapter  # noqa: E402

from ledger import errors  # noqa: E402
from ledger.calendar import add_months, anniversary, whole_months, whole_years  # noqa: E402
from ledger.charter import TEMPLATE, Charter, parse_charter  # noqa: E402
from ledger.checks import verify_store  # noqa: E402
from ledger.command import Command  # noqa: E402
from ledger.keys import generate  # noqa: E402
from ledger.postings import balance  # noqa: E402
from ledger.rules import contributions, corrections, fund, levy, members, shares, werk  # noqa: E402
from ledger.rules.index_series import publish_index  # noqa: E402
from ledger.rules.lease_rules import (  # noqa: E402
    Applicant,
    LeaseCaps,
    Workspace,
    check_eligible,
    check_indexation,
    check_rent,
    check_term,
    indexation_ceiling_cents,
    lease_end_by_law,
    rent_cap_cents,
    roz_indexation,
    roz_months,
    roz_rent_cents,
)
from ledger.rules.levy_rules import compute_levy  # noqa: E402
from ledger.rules.price_rules import PriceRule, compute_price  # noqa: E402

VECTORS = ROOT / "tests" / "vectors" / "rules"
_RULE: TypeAdapter[PriceRule] = TypeAdapter(PriceRule)
_DATE_KEYS = {
    "on", "start", "end", "delivered", "base_date", "effective", "sale_date", "paid_on",
    "founded", "last_change", "since", "declared_on",
}  # fmt: skip


class Mismatch(AssertionError):
    """A vector whose output differs from what it expects."""


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _dates(args: dict[str, Any]) -> dict[str, Any]:
    return {k: _day(v) if k in _DATE_KEYS and isinstance(v, str) else v for k, v in args.items()}


def _expect_error(expected: dict[str, Any], run: Callable[[], object]) -> None:
    """Run `run`, which must raise the named LedgerError class with the phrase in its message."""
    cls = getattr(errors, expected["error"])
    try:
        got = run()
    except errors.LedgerError as e:
        if not isinstance(e, cls) or expected.get("message", "") not in str(e):
            raise Mismatch(
                f"expected {cls.__name__} with {expected.get('message')!r}, got {e!r}"
            ) from None
        return
    raise Mismatch(f"expected {cls.__name__}, got {got!r}")


def _same(what: str, got: object, want: object) -> None:
    if got != want:
        raise Mismatch(f"{what}: expected {want!r}, got {got!r}")


# -- pure rules --------------------------------------------------------------------------------


def check_calendar(inp: dict[str, Any], exp: dict[str, Any]) -> None:
    fn = inp["fn"]
    if fn == "anniversary":
        _same(fn, anniversary(_day(inp["start"]), inp["years"]).isoformat(), exp["date"])
    elif fn == "add_months":
        _same(fn, add_months(_day(inp["day"]), inp["months"]).isoformat(), exp["date"])
    elif fn == "whole_years":
        _same(fn, whole_years(_day(inp["start"]), _day(inp["on"])), exp["years"])
    elif fn == "whole_months":
        _same(fn, whole_months(_day(inp["since"]), _day(inp["on"])), exp["months"])
    else:
        raise Mismatch(f"unknown calendar function {fn!r}")


def check_price(inp: dict[str, Any], exp: dict[str, Any]) -> None:
    values = {tuple(k.split("/")): Decimal(v) for k, v in inp.get("index", {}).items()}

    def run() -> int:
        computed = compute_price(
            _RULE.validate_python(inp["rule"]),
            _day(inp["on"]),
            inp["rounding"],
            lambda series, month: values.get((series, month)),
            inp.get("appraisal_cents"),
            inp.get("improvements_cents"),
        )
        for name, value in exp.get("inputs", {}).items():
            _same(f"inputs.{name}", computed.inputs.get(name), value)
        return computed.price_cents

    if "error" in exp:
        _expect_error(exp, run)
    else:
        _same("price_cents", run(), exp["price_cents"])


def check_levy(inp: dict[str, Any], exp: dict[str, Any]) -> None:
    def run() -> Any:
        return compute_levy(
            baseline_cents=inp["baseline_cents"],
            baseline_index=Decimal(inp["baseline_index"]),
            sale_index=Decimal(inp["sale_index"]),
            sale_price_cents=inp["sale_price_cents"],
            appraisal_cents=inp.get("appraisal_cents"),
            improvements_cents=inp.get("improvements_cents", 0),
            rate=Decimal(inp["rate"]),
            delivered=_day(inp["delivered"]),
            sale_date=_day(inp["sale_date"]),
            term_years=inp["term_years"],
            rounding=inp["rounding"],
            credit_cents=inp.get("credit_cents"),
        )

    if "error" in exp:
        _expect_error(exp, run)
        return
    got = run()
    for name in ("expected_cents", "extra_cents", "levy_cents", "in_term"):
        if name in exp:
            _same(name, getattr(got, name), exp[name])


def _caps(data: dict[str, Any]) -> LeaseCaps:
    return LeaseCaps(
        max_rent_ratio=Decimal(data.get("max_rent_ratio", "0.60")),
        max_indexation_per_year=Decimal(data.get("max_indexation_per_year", "0.03")),
        max_term_years=data.get("max_term_years", 5),
        max_founded_years=data.get("max_founded_years", 5),
        area_districts=frozenset(data.get("area_districts", ["Pampus-Haven"])),
        rounding=data.get("rounding", "half-up"),
    )


def _workspace(data: dict[str, Any]) -> Workspace:
    return Workspace(
        workspace_id=data.get("workspace_id", "W-1"),
        district=data.get("district", "Pampus-Haven"),
        area_m2=data["area_m2"],
        market_rent_cents_per_m2_year=data["market_rent_cents_per_m2_year"],
    )


def check_lease(inp: dict[str, Any], exp: dict[str, Any]) -> None:
    fn, caps = inp["fn"], _caps(inp.get("caps", {}))
    run: Callable[[], object]
    if fn == "rent_cap":
        _same(fn, rent_cap_cents(_workspace(inp["workspace"]), caps), exp["cap_cents"])
        return
    if fn == "indexation_ceiling":
        got = indexation_ceiling_cents(inp["old_rent_cents"], inp["months"], caps)
        _same(fn, got, exp["ceiling_cents"])
        return
    if fn == "check_rent":

        def run() -> object:
            check_rent(inp["rent_cents"], _workspace(inp["workspace"]), caps)
            return "accepted"
    elif fn == "check_term":

        def run() -> object:
            check_term(_day(inp["start"]), _day(inp["end"]), caps)
            return "accepted"
    elif fn == "check_eligible":
        a = _dates(inp["applicant"])
        applicant = Applicant(
            member_id=a.get("member_id", "M-B"),
            member_kind=a["member_kind"],
            founded=a.get("founded"),
            district=a.get("district"),
            min_m2=a.get("min_m2", 10),
            max_m2=a.get("max_m2", 100),
            applied_seq=1,
            applied_on=_day(inp["start"]),
        )

        def run() -> object:
            check_eligible(applicant, _day(inp["start"]), caps)
            return "accepted"
    elif fn == "check_indexation":

        def run() -> object:
            check_indexation(
                inp["old_rent_cents"],
                inp["new_rent_cents"],
                _day(inp["last_change"]),
                _day(inp["on"]),
                (_day(inp["term"][0]), _day(inp["term"][1])),
                _workspace(inp["workspace"]),
                caps,
            )
            return "accepted"
    elif fn == "roz_rent":
        got = roz_rent_cents(
            inp["old_rent_cents"],
            Decimal(inp["index_value"]),
            Decimal(inp["base_index_value"]),
            caps.rounding,
        )
        _same(fn, got, exp["formula_cents"])
        return
    elif fn == "roz_months":
        _same(fn, list(roz_months(_day(inp["on"]))), [exp["index_month"], exp["base_month"]])
        return
    elif fn == "lease_end_by_law":

        def run() -> object:
            got = lease_end_by_law(_day(inp["start"]), _day(inp["end"]), inp["lease_type"], caps)
            return got.isoformat()
    elif fn == "roz_indexation":

        def run() -> object:
            result = roz_indexation(
                inp["old_rent_cents"],
                _day(inp["last_change"]),
                _day(inp["on"]),
                (_day(inp["term"][0]), _day(inp["term"][1])),
                _workspace(inp["workspace"]),
                caps,
                Decimal(inp["index_value"]),
                Decimal(inp["base_index_value"]),
            )
            return {
                "formula_cents": result.formula_cents,
                "ceiling_cents": result.ceiling_cents,
                "cap_cents": result.cap_cents,
                "highest_cents": result.highest_cents,
            }
    else:
        raise Mismatch(f"unknown lease function {fn!r}")
    if "error" in exp:
        _expect_error(exp, run)
    else:
        _same(fn, run(), exp["result"])


# -- whole small ledgers -----------------------------------------------------------------------


def _charter(overrides: dict[str, Any]) -> Charter:
    """The template charter with the vector's overrides ("table.name": value); `"version": 1`
    gives the version-1 charter (rules edition 1: no edition-2 parameters, levy index CPI)."""
    from tests.support import charter_v1

    data = parse_charter(TEMPLATE).model_dump(mode="json")
    for path, value in overrides.items():
        if path == "version":
            continue
        table, name = path.split(".")
        data[table][name] = value
    charter = Charter.model_validate(data)
    return charter_v1(charter) if overrides.get("version") == 1 else charter


def _command(op: str, args: dict[str, Any]) -> Command:
    a = _dates(args)
    builders: dict[str, Callable[..., Command]] = {
        "index.publish": lambda: publish_index(
            a["series"], a["month"], a["value"], "vector", a.get("reason")
        ),
        "member.admit": lambda: members.admit(
            a["member_id"],
            a["member_kind"],
            members.PersonalData(name=a.get("name", a["member_id"])),
            a["effective"],
            a.get("founded"),
            a.get("district"),
        ),
        "fund.deposit": lambda: fund.deposit(a["amount_cents"], a["source"], None, a.get("on")),
        "dwelling.register": lambda: shares.register_dwelling(**a),
        "share.sell": lambda: shares.sell_share(**a),
        "share.buy-back": lambda: shares.buy_back_share(**a),
        "share.resell": lambda: shares.resell_share(**a),
        "share.offer": lambda: shares.offer_share(**a),
        "property.register": lambda: levy.register_property(**a),
        "property.sell": lambda: levy.sell_property(**a),
        "levy.pay": lambda: levy.pay_levy(**a),
        "levy.waive": lambda: levy.waive_levy(**a),
        "contribution.charge": lambda: contributions.charge_month(**a),
        "contribution.pay": lambda: contributions.pay_contribution(**a),
        "workplaces.register": lambda: contributions.register_workplaces(**a),
        "contribution.name-debtor": lambda: contributions.name_debtor(**a),
        "workspace.revalue": lambda: werk.revalue_workspace(**a),
        "workspace.register": lambda: werk.register_workspace(**a),
        "lease.apply": lambda: werk.apply(**a),
        "lease.grant": lambda: werk.grant(**a),
        "lease.index": lambda: werk.index(**a),
        "lease.end": lambda: werk.end(**a),
        "correction.apply": lambda: corrections.correct(**a),
    }
    if op not in builders:
        raise Mismatch(f"unknown ledger operation {op!r}")
    return builders[op]()


def _subset(what: str, got: Any, want: Any) -> None:
    """Every member of `want` is in `got` with the same value (objects compared recursively)."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key, value in want.items():
            if key not in got:
                raise Mismatch(f"{what}.{key}: missing")
            _subset(f"{what}.{key}", got[key], value)
    else:
        _same(what, got, want)


def _append(f: Any, role: str, op: str, args: dict[str, Any]) -> Any:
    """Decide and append one command, signed by the key holding `role`."""
    return f.append(role, [_command(op, args)])


def run_ledger(vector: dict[str, Any], workdir: Path) -> None:
    """Build the vector's ledger step by step; check each step's entry, refusal and amounts,
    then replay the whole log as the auditor does (it must verify clean)."""
    from tests.support import found_ledger

    signers = {
        r: generate(f"vector-{r}") for r in ("governor", "coop-admin", "werk-admin", "levy-admin")
    }
    signers["log"] = generate("test.example/coop")
    f = found_ledger(
        str(workdir / f"{vector['id']}.db"), signers, _charter(vector.get("charter", {}))
    )
    named: dict[str, int] = {}
    for number, step in enumerate(vector["steps"], 1):
        where = f"step {number} ({step['do']})"
        args = {k: named[v] if k in ("seq", "sale_seq") and isinstance(v, str) else v
                for k, v in step.get("args", {}).items()}  # fmt: skip
        expect = step.get("expect", {})
        if "error" in expect:
            _expect_error(expect, partial(_append, f, step["as"], step["do"], args))
        else:
            receipt = _append(f, step["as"], step["do"], args)
            if "name" in step:
                named[step["name"]] = receipt.entries[0].seq
            if "entry" in expect:
                _subset(
                    f"{where} entry", receipt.facts[0].body.model_dump(mode="json"), expect["entry"]
                )
        with f.store.reading() as tx:
            for account, cents in expect.get("balances", {}).items():
                _same(f"{where} balance {account}", balance(tx.state, account), cents)
            register = {row["sale_seq"]: row for row in levy.levy_register(tx.state)}
            for name, want in expect.get("levy", {}).items():
                _subset(f"{where} levy of {name}", register[named[name]], want)
    with f.store.reading() as tx:
        report = verify_store(tx)
        if not report.ok:
            raise Mismatch(f"the auditor's replay reports {report.findings[0]}")
    f.store.dispose()


# -- dispatch ----------------------------------------------------------------------------------

CHECKS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "calendar": check_calendar,
    "prices": check_price,
    "levy": check_levy,
    "leases": check_lease,
}
LEDGER_FILES = ("contributions", "ledgers")


def vector_files() -> list[Path]:
    return sorted(VECTORS.glob("*.json"))


def vectors() -> Iterator[tuple[str, dict[str, Any]]]:
    """(file stem, vector) for every vector of every file."""
    for path in vector_files():
        for vector in json.loads(path.read_text(encoding="utf-8"))["vectors"]:
            yield path.stem, vector


def run_vector(stem: str, vector: dict[str, Any], workdir: Path) -> None:
    """Check one vector; raise Mismatch (or the unexpected error) when it fails."""
    if stem in LEDGER_FILES:
        run_ledger(vector, workdir)
    else:
        CHECKS[stem](vector["input"], vector["expected"])


def main() -> int:
    failed = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for stem, vector in vectors():
            total += 1
            try:
                run_vector(stem, vector, Path(tmp))
            except Exception as e:  # report every vector, whatever breaks
                failed += 1
                print(f"FAIL {stem}/{vector['id']}: {type(e).__name__}: {e}")
            else:
                print(f"ok   {stem}/{vector['id']}")
    print(f"{total - failed} of {total} vectors pass" + (f", {failed} FAIL" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
