"""Random sequences of valid and invalid share commands against a real SQLite ledger, with the
share invariants checked after every step."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from pydantic import TypeAdapter

from ledger import note
from ledger.charter import TEMPLATE, Charter, charter_from_dict, parse_charter
from ledger.checks import verify_store
from ledger.command import Command, Fact, LegacyCommand
from ledger.encoding import loads
from ledger.errors import LedgerError
from ledger.keys import generate
from ledger.postings import FUND
from ledger.rules import fund, index_series, members, shares
from ledger.rules.corrections import correct
from ledger.rules.governance import amend_charter
from ledger.rules.members import PersonalData
from ledger.rules.price_rules import PriceRule, compute_price
from ledger.state import MemoryState, charter_at
from ledger.verify.audit import verify_leaves
from tests.support import found_ledger

SIGNERS = {
    role: generate(f"sm-{role}") for role in ("governor", "coop-admin", "werk-admin", "levy-admin")
}
SIGNERS["log"] = generate("test.example/coop")
TRUSTED = note.Verifier.from_public_key(SIGNERS["log"].name, SIGNERS["log"].public_key)

# Most draws are valid, so that the walk gets far; the rest exercise every refusal.
# M-1, M-2, D-1 and D-2 exist from the start; the others only once the walk adds them.
MEMBER_IDS = st.sampled_from(["M-1", "M-2", "M-3", "M-4", "M-9"])
DWELLING_IDS = st.sampled_from(["D-1", "D-2", "D-3", "D-4"])
# Before the base dates (an error), then on and after them, in months that may or may not
# have an index value.
DATES = st.sampled_from(
    [
        date(2030, 12, 1),
        date(2031, 3, 1),
        date(2031, 6, 1),
        date(2032, 3, 1),
        date(2033, 6, 15),
        date(2034, 1, 1),
    ]
)
ALL_MONTHS = ["2031-01", "2031-06", "2032-03", "2033-06", "2034-01"]
MONTHS = st.sampled_from(ALL_MONTHS)
INDEX_VALUES = st.sampled_from(["100", "101.3", "104.75", "98.2", "0"])
RULES = st.sampled_from(
    [
        {"rule": "nominal"},
        {"rule": "fixed-rate", "rate": "0.02", "compounding": "simple"},
        {"rule": "fixed-rate", "rate": "0.015", "compounding": "compound"},
        {"rule": "indexed", "series": "CPI"},
        {"rule": "shared-appreciation", "owner_share": "0.5", "base_appraisal_cents": 300_000_00},
    ]
    * 3
    + [{"rule": "fixed-rate", "series": "CPI"}]  # invalid: a fixed rate takes no index
)
ROLES = st.sampled_from(["coop-admin"] * 8 + ["werk-admin", "governor"])
# Mostly an appraisal exactly where the rule needs one; sometimes none or one too many.
FITTING = -1
FREE_SHARE = st.sampled_from([True] * 4 + [False])  # mostly a share the cooperative holds
APPRAISALS = st.sampled_from([FITTING] * 6 + [None, 280_000_00])
_RULE: TypeAdapter[PriceRule] = TypeAdapter(PriceRule)


def _event(text: str) -> None:
    """Count what the random walk reached (shown by --hypothesis-show-statistics)."""
    if currently_in_test_context():
        event(text)


def _charter(max_shares: int, rounding: str) -> Charter:
    data = parse_charter(TEMPLATE).model_dump(mode="json")
    data["shares"]["max_dwelling_shares_per_member"] = max_shares
    data["cooperative"]["rounding"] = rounding
    return charter_from_dict(data)


class SharesMachine(RuleBasedStateMachine):
    """Drives the service on a founded ledger; every refusal must leave it untouched."""

    def __init__(self) -> None:
        super().__init__()
        # A real SQLite file; in memory-backed /dev/shm where there is one, as each step commits.
        shm = Path("/dev/shm")
        self.dir = Path(tempfile.mkdtemp(prefix="shares-sm-", dir=shm if shm.is_dir() else None))
        self.f = found_ledger(str(self.dir / "ledger.db"), SIGNERS)
        self.appended: list[int] = []
        # Per member: the charter's maximum when their holdings last grew (a later amendment
        # lowering it does not take shares away from anyone).
        self.limit: dict[str, int] = {}
        self.holdings: dict[str, int] = {}
        self.refused = 0
        self.verified_head: tuple[int, bytes] | None = None

    def teardown(self) -> None:
        self.f.store.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- driving ---------------------------------------------------------------------------------

    def snapshot(self) -> tuple[Any, dict[tuple[str, str], bytes]]:
        with self.f.store.reading() as tx:
            return tx.head(), tx.state.snapshot()

    def attempt(self, role: str, make: Callable[[], Command]) -> bool:
        """Append one command; a refusal (any LedgerError) must change nothing at all."""
        before = self.snapshot()
        try:
            receipt = self.f.append(role, [make()])
        except LedgerError as e:
            assert "\n" not in str(e), f"a refusal is one line: {e}"
            assert self.snapshot() == before, f"refused ({e}) but the ledger changed"
            self.refused += 1
            _event(f"refused: {type(e).__name__}")
            return False
        self.appended.extend(a.seq for a in receipt.entries)
        _event(f"appended: {receipt.entries[0].kind}")
        self._track_limits()
        return True

    def _track_limits(self) -> None:
        with self.f.store.reading() as tx:
            _, current = charter_at(tx.state)
            for member_id, record in tx.state.scan("member"):
                count = len(record.get("holdings", []))
                if count > self.holdings.get(member_id, 0):
                    self.limit[member_id] = current.shares.max_dwelling_shares_per_member
                self.holdings[member_id] = count

    @initialize()
    def start(self) -> None:
        """Two members, two dwellings (fixed-rate and indexed), CPI values and a sale, in one
        transaction: the walk starts where sales and buy-backs can happen."""
        receipt = self.f.append(
            "coop-admin",
            [
                members.admit("M-1", "household", PersonalData(name="M-1"), date(2031, 1, 1)),
                members.admit("M-2", "household", PersonalData(name="M-2"), date(2031, 1, 1)),
                shares.register_dwelling(
                    "D-1",
                    "Pampus-Haven",
                    date(2031, 1, 1),
                    250_000_00,
                    date(2031, 1, 1),
                    rule="fixed-rate",
                    rate="0.02",
                    compounding="simple",
                ),
                shares.register_dwelling(
                    "D-2",
                    "Pampus-Oost",
                    date(2031, 1, 1),
                    300_000_00,
                    date(2031, 1, 1),
                    rule="indexed",
                    series="CPI",
                ),
                index_series.publish_index("CPI", "2031-01", "100", "CBS (test)"),
                index_series.publish_index("CPI", "2031-03", "100.4", "CBS (test)"),
                # No capital yet: buying D-1 back a year on (at 255,000) needs a deposit first.
                shares.sell_share(
                    "D-1",
                    "M-1",
                    date(2031, 3, 1),
                    deed="A-1",
                    declared_on=date(2031, 3, 1),
                    declaration="V-1",
                ),
            ],
        )
        self.appended.extend(a.seq for a in receipt.entries)
        self._track_limits()

    @rule(data=st.data(), on=st.sampled_from([date(2031, 1, 1), date(2031, 6, 1)]))
    def admit(self, data: st.DataObject, on: date) -> None:
        with self.f.store.reading() as tx:
            new = [m for m in ("M-3", "M-4") if tx.state.get("member", m) is None]
        member_id = self.pick(data, new, MEMBER_IDS)
        self.attempt(
            "coop-admin",
            lambda: members.admit(member_id, "household", PersonalData(name=member_id), on),
        )

    @rule(
        data=st.data(),
        price_rule=RULES,
        district=st.sampled_from(["Pampus-Haven"] * 4 + ["Nowhere"]),
        delivered=st.sampled_from([date(2031, 1, 1), date(2031, 3, 1)]),
        base_price=st.sampled_from([100_000_00, 250_000_00, 350_000_00, 0]),
        role=ROLES,
    )
    def register(
        self,
        data: st.DataObject,
        price_rule: dict[str, Any],
        district: str,
        delivered: date,
        base_price: int,
        role: str,
    ) -> None:
        with self.f.store.reading() as tx:
            new = [d for d in ("D-3", "D-4") if tx.state.get("dwelling", d) is None]
        dwelling_id = self.pick(data, new, DWELLING_IDS)
        params = {k: v for k, v in price_rule.items() if k != "rule"}
        self.attempt(
            role,
            lambda: shares.register_dwelling(
                dwelling_id,
                district,
                delivered,
                base_price,
                delivered,
                rule=price_rule["rule"],
                **params,
            ),
        )

    @rule(
        data=st.data(),
        value=INDEX_VALUES,
        action=st.sampled_from(["publish"] * 3 + ["correct", "correct as coop-admin"]),
    )
    def index(self, data: st.DataObject, value: str, action: str) -> None:
        with self.f.store.reading() as tx:
            published = {r["month"] for _, r in tx.state.scan("index")}
        months = sorted(set(ALL_MONTHS) - published if action == "publish" else published)
        month = self.pick(data, months, MONTHS)
        if action == "publish":
            self.attempt(
                "coop-admin", lambda: index_series.publish_index("CPI", month, value, "CBS (test)")
            )
        else:
            role = "governor" if action == "correct" else "coop-admin"
            self.attempt(
                role,
                lambda: index_series.correct_index(
                    "CPI", month, value, "CBS (revised)", "revision"
                ),
            )

    @rule(amount=st.sampled_from([50_000_00, 400_000_00] * 2 + [0]))
    def deposit(self, amount: int) -> None:
        self.attempt("coop-admin", lambda: fund.deposit(amount, "GEM"))

    def appraisal(self, dwelling_id: str, given: int | None) -> int | None:
        """An appraisal where the dwelling's rule needs one, unless the draw says otherwise."""
        if given != FITTING:
            return given
        with self.f.store.reading() as tx:
            record = tx.state.get("dwelling", dwelling_id)
        needed = record is not None and record["price_rule"]["rule"] == "shared-appreciation"
        return 330_000_00 if needed else None

    def pick(self, data: st.DataObject, likely: list[str], anything: st.SearchStrategy[str]) -> str:
        """Mostly one of `likely` (where the command can succeed), else any id at all."""
        if likely and data.draw(st.sampled_from([True] * 4 + [False]), label="likely"):
            return data.draw(st.sampled_from(sorted(likely)))
        return data.draw(anything)

    def holders(self) -> tuple[dict[str, str | None], list[str]]:
        """Each live dwelling's holder, and the members with room for one more share."""
        with self.f.store.reading() as tx:
            _, current = charter_at(tx.state)
            limit = current.shares.max_dwelling_shares_per_member
            dwellings = {
                d: r["holder"] for d, r in tx.state.scan("dwelling") if r["withdrawn_seq"] is None
            }
            room = [m for m, r in tx.state.scan("member") if len(r.get("holdings", [])) < limit]
        return dwellings, room

    # One rule for both moves of a share, so that the walk's rule selection (which switches
    # whole rules off for some runs) keeps sales and buy-backs together.
    @rule(
        data=st.data(),
        action=st.sampled_from(["sell"] * 3 + ["buy-back"] * 2),
        on=DATES,
        role=ROLES,
        appraisal=APPRAISALS,
        typed=st.sampled_from([0] * 6 + [-1, 1, 100]),
    )
    def trade(
        self,
        data: st.DataObject,
        action: str,
        on: date,
        role: str,
        appraisal: int | None,
        typed: int,
    ) -> None:
        if action == "sell":
            self.sell(data, on, role, appraisal, typed)
        else:
            self.buy_back(data, on, appraisal)

    def sell(
        self, data: st.DataObject, on: date, role: str, appraisal: int | None, typed: int
    ) -> None:
        dwellings, room = self.holders()
        free = [d for d, h in dwellings.items() if h is None]
        held = [d for d, h in dwellings.items() if h is not None]
        # Now and then a share that is held: a double sale, which must be refused.
        dwelling_id = self.pick(data, free if data.draw(FREE_SHARE) else held, DWELLING_IDS)
        member_id = self.pick(data, room, MEMBER_IDS)
        command = shares.sell_share(
            dwelling_id,
            member_id,
            on,
            self.appraisal(dwelling_id, appraisal),
            deed=f"A-{dwelling_id}-{on}",
            declared_on=on,
            declaration=f"V-{member_id}",
        )
        if typed:
            self.typed_price(command, typed)
        else:
            self.attempt(role, lambda: command)

    def buy_back(self, data: st.DataObject, on: date, appraisal: int | None) -> None:
        dwellings, _ = self.holders()
        dwelling_id = self.pick(data, [d for d, h in dwellings.items() if h], DWELLING_IDS)
        given = self.appraisal(dwelling_id, appraisal)
        self.attempt(
            "coop-admin",
            lambda: shares.buy_back_share(dwelling_id, on, given, deed=f"B-{dwelling_id}-{on}"),
        )

    def typed_price(self, command: Command, change: int) -> None:
        """The body the command decides, with another price: always refused."""
        try:
            fact = self.f.ledger.dry_run([command], SIGNERS["coop-admin"])[0]
        except LedgerError:
            return
        body = fact.body.model_copy(
            update={"price_cents": fact.body.price_cents + change}  # type: ignore[attr-defined]
        )
        forged = LegacyCommand("forged", {}, lambda _s, _c: Fact(fact.kind, body, fact.effective))
        assert not self.attempt("coop-admin", lambda: forged), "a typed-in price was accepted"
        _event("refused a typed-in price")

    @rule(data=st.data(), role=st.sampled_from(["governor"] * 4 + ["coop-admin"]))
    def correct(self, data: st.DataObject, role: str) -> None:
        # Mostly the latest entries, which can often still be undone; sometimes anything.
        targets = [*self.appended[-4:], *self.appended[-4:], *self.appended, 0, 3, 10_000]
        seq = data.draw(st.sampled_from(targets), label="seq")
        self.attempt(role, lambda: correct(seq, "test correction"))

    @rule(max_shares=st.sampled_from([1, 2]), rounding=st.sampled_from(["half-up", "truncate"]))
    def amend(self, max_shares: int, rounding: str) -> None:
        self.attempt("governor", lambda: amend_charter(_charter(max_shares, rounding), "test"))

    # -- invariants ----------------------------------------------------------------------------

    def _log(self) -> list[dict[str, Any]]:
        with self.f.store.reading() as tx:
            return [loads(data)["entry"] for _, data in tx.entries()]

    @invariant()
    def each_share_has_exactly_one_holder(self) -> None:
        with self.f.store.reading() as tx:
            dwellings = dict(tx.state.scan("dwelling"))
            held_by: dict[str, list[str]] = {d: [] for d in dwellings}
            for member_id, record in tx.state.scan("member"):
                for d in record.get("holdings", []):
                    held_by[d].append(member_id)
        for dwelling_id, record in dwellings.items():
            holder = record["holder"]
            expected = [] if holder is None else [holder]
            assert held_by[dwelling_id] == expected, (dwelling_id, holder, held_by[dwelling_id])

    @invariant()
    def no_member_holds_more_than_the_charter_allowed(self) -> None:
        for member_id, count in self.holdings.items():
            if count:
                assert count <= self.limit[member_id], (member_id, count, self.limit)

    @invariant()
    def every_price_is_its_rules_price_and_postings_balance(self) -> None:
        log = self._log()
        with self.f.store.reading() as tx:
            state = tx.state
            registered: dict[str, dict[str, Any]] = {}
            running: dict[str, int] = {}
            for entry in log:
                body = entry["body"]
                if entry["kind"] == "dwelling.registered":
                    registered[body["dwelling_id"]] = body
                if entry["kind"] in ("share.sold", "share.bought-back"):
                    dwelling = registered[body["dwelling_id"]]
                    _, contract = charter_at(state, dwelling["charter_seq"])
                    inputs = body["inputs"]
                    published = {}
                    if "series" in inputs:
                        published[inputs["base_month"]] = Decimal(inputs["index_base"])
                        published[inputs["month"]] = Decimal(inputs["index_now"])
                    recomputed = compute_price(
                        _RULE.validate_python(dwelling["price_rule"]),
                        date.fromisoformat(body["on"]),
                        contract.cooperative.rounding,
                        lambda _s, m, p=published: p.get(m),  # type: ignore[misc]
                        body["appraisal_cents"],
                        body["improvements_cents"],
                    )
                    assert recomputed.price_cents == body["price_cents"], entry
                postings = body.get("postings", [])
                assert sum(p["amount_cents"] for p in postings) == 0, entry
                for p in postings:
                    running[p["account"]] = running.get(p["account"], 0) + p["amount_cents"]
                assert running.get(FUND, 0) >= 0, f"the fund went below zero at {entry['seq']}"
            stored = {k: v["cents"] for k, v in state.scan("balance")}
        assert stored == running

    @invariant()
    def the_log_replays_to_the_same_state_and_verifies(self) -> None:
        # After a refusal the ledger is byte-for-byte the one verified after the step before
        # (attempt() asserts it), so the two full replays run only when something was appended.
        with self.f.store.reading() as tx:
            if tx.head() == self.verified_head:
                return
            leaves = [data for _, data in tx.entries()]
            checkpoints = [(size, text) for size, _root, text in tx.checkpoints()]
            report, replayed = verify_leaves(leaves, checkpoints, TRUSTED)
            assert report.ok, [f.line() for f in report.findings]
            assert isinstance(replayed, MemoryState)
            assert replayed.snapshot() == tx.state.snapshot()
            live = verify_store(tx, TRUSTED)
            assert live.ok, [f.line() for f in live.findings]
            self.verified_head = tx.head()


SharesMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSharesStateMachine = SharesMachine.TestCase


def test_the_machine_reaches_sales_buy_backs_corrections_and_refusals() -> None:
    """The random walk is only as good as what it reaches: a fixed walk through every kind."""
    machine = SharesMachine()
    try:
        machine.start()  # ends with the sale of D-1 to M-1
        first_sale = machine.appended[-1]
        # A sale draws: a free share?, likely?, the dwelling, likely?, the member.
        machine.sell(
            _Seq(True, False, "D-2", False, "M-1"), date(2031, 6, 1), "coop-admin", FITTING, 0
        )  # no CPI for 2031-06: refused
        machine.sell(
            _Seq(True, False, "D-1", False, "M-2"), date(2031, 6, 1), "coop-admin", FITTING, 0
        )  # held by M-1: refused
        machine.buy_back(_Seq(False, "D-1"), date(2032, 3, 1), FITTING)  # fund short: refused
        machine.deposit(50_000_00)
        machine.buy_back(_Seq(False, "D-1"), date(2032, 3, 1), FITTING)
        machine.sell(
            _Seq(True, False, "D-1", False, "M-2"), date(2032, 3, 1), "coop-admin", FITTING, 1
        )  # a typed-in price: refused
        machine.sell(
            _Seq(True, False, "D-1", False, "M-2"), date(2032, 3, 1), "coop-admin", FITTING, 0
        )
        second_sale = machine.appended[-1]
        machine.amend(2, "truncate")
        machine.correct(_Seq(first_sale), "governor")  # type: ignore[arg-type]
        machine.correct(_Seq(second_sale), "governor")  # type: ignore[arg-type]
        kinds = [e["kind"] for e in machine._log()]
        assert kinds.count("share.sold") == 2 and "share.bought-back" in kinds
        # The first sale was followed by a buy-back (refused); the second one is corrected.
        assert kinds.count("correction.applied") == 1
        assert machine._log()[-1]["body"]["seq"] == second_sale
        # The missing index, the double sale, the shortfall, the typed-in price, the first
        # correction:
        assert machine.refused == 5
        machine.each_share_has_exactly_one_holder()
        machine.no_member_holds_more_than_the_charter_allowed()
        machine.every_price_is_its_rules_price_and_postings_balance()
        machine.the_log_replays_to_the_same_state_and_verifies()
    finally:
        machine.teardown()


class _Seq:
    """A stand-in for hypothesis' data object that draws the given values in turn."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)

    def draw(self, _strategy: Any, label: str | None = None) -> Any:
        return self.values.pop(0)
