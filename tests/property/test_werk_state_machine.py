"""Werkcorporatie invariants under random commands against a real SQLite store, with an oracle.

The oracle below re-derives every rule from DOMAIN.md in a few lines of its own (it does not
call lease_rules), predicts whether each command must be accepted or refused, and keeps the
leases it expects; after every step the machine checks the invariants of issue 6.
"""

from __future__ import annotations

import calendar
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ledger.charter import TEMPLATE, Charter, charter_from_dict, parse_charter
from ledger.checks import verify_store
from ledger.command import Command
from ledger.errors import LedgerError
from ledger.keys import generate
from ledger.rules import corrections, governance, members
from ledger.rules import werk as werk_rules
from ledger.rules.members import PersonalData
from ledger.state import MemoryState, charter_at
from ledger.verify.audit import verify_leaves
from tests.support import ORIGIN, Founded, charter_v1, found_ledger

# The store fsyncs every commit (synchronous=FULL); a RAM disk, where there is one, keeps
# hundreds of commits per run fast without changing what is tested.
RAM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
SIGNERS = {r: generate(f"sm-{r}") for r in ("governor", "coop-admin", "werk-admin", "levy-admin")}
SIGNERS["log"] = generate(ORIGIN)
AREA = ("Pampus-Haven", "Pampus-Centrum")
# id -> (kind, founded, district); B-2 is too old for leases starting after 2032-01-01,
# B-3 is outside the lease area, H-1 is no business.
MEMBERS: dict[str, tuple[str, date | None, str | None]] = {
    "B-1": ("business", date(2029, 6, 1), "Pampus-Haven"),
    "B-2": ("business", date(2027, 1, 1), "Pampus-Centrum"),
    "B-3": ("business", date(2030, 9, 1), "Pampus-Oost"),
    "B-4": ("business", date(2031, 1, 1), "Pampus-Haven"),
    "H-1": ("household", None, "Pampus-Haven"),
}
MEMBER_IDS = [*MEMBERS, "X-9"]
WORKSPACE_IDS = ["W-1", "W-2", "W-3"]
DISTRICTS = ["Pampus-Haven", "Pampus-Oost", "Lelystad"]


def first_of(months: int) -> date:
    """The first day of the month `months` after January 2031 (coarse dates meet often)."""
    year, month0 = divmod(months, 12)
    return date(2031 + year, month0 + 1, 1)


def add_months(day: date, months: int) -> date:
    year, month0 = divmod(day.month - 1 + months, 12)
    last = calendar.monthrange(day.year + year, month0 + 1)[1]
    return date(day.year + year, month0 + 1, min(day.day, last))


def whole_months(since: date, on: date) -> int:
    months = (on.year - since.year) * 12 + on.month - since.month
    return months - 1 if add_months(since, months) > on else months


@dataclass
class Terms:
    """The charter's lease parameters as the oracle tracks them."""

    ratio: Decimal = Decimal("0.60")
    indexation: Decimal = Decimal("0.03")
    founded_years: int = 5
    exception_role: str = "governor"
    max_term_years: int = 5


@dataclass
class Application:
    seq: int
    member: str
    min_m2: int
    max_m2: int


@dataclass
class Lease:
    workspace: str
    member: str
    start: date
    end: date
    terms: Terms
    rents: list[tuple[date, int]]
    exception_over: str | None
    application: Application
    agreed_end: date
    ended: bool = False
    ended_seq: int | None = None


@dataclass
class Oracle:
    terms: Terms = field(default_factory=Terms)
    workspaces: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    queue: list[Application] = field(default_factory=list)
    leases: dict[str, Lease] = field(default_factory=dict)

    def cap(self, workspace: str, terms: Terms) -> int:
        _, area, market = self.workspaces[workspace]
        return int((terms.ratio * market * area / 12).quantize(Decimal(1), ROUND_HALF_UP))

    def eligible(self, app: Application, start: date, terms: Terms) -> bool:
        kind, founded, district = MEMBERS[app.member]
        earliest = add_months(start, -12 * terms.founded_years)
        return (
            kind == "business"
            and founded is not None
            and earliest <= founded <= start
            and district in AREA
            and 0 < app.min_m2 <= app.max_m2
        )

    def fits(self, app: Application, workspace: str) -> bool:
        return app.min_m2 <= self.workspaces[workspace][1] <= app.max_m2

    def first_fitting(self, workspace: str, start: date) -> str | None:
        for app in self.queue:
            if self.fits(app, workspace) and self.eligible(app, start, self.terms):
                return app.member
        return None

    def own(self, member: str) -> Application | None:
        return next((a for a in self.queue if a.member == member), None)

    def running(self) -> list[str]:
        return sorted(lid for lid, lease in self.leases.items() if not lease.ended)

    def live_terms(self, workspace: str, but: str | None = None) -> list[tuple[date, date]]:
        return [
            (lease.start, lease.end)
            for lid, lease in self.leases.items()
            if lease.workspace == workspace and lease.start < lease.end and lid != but
        ]


class WerkMachine(RuleBasedStateMachine):
    """Drives register/apply/withdraw/grant/index/end/amend, valid and invalid, on SQLite."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.mkdtemp(prefix="werk-sm-", dir=RAM_DIR)
        self.ledger: Founded | None = None
        self.oracle = Oracle()
        self.verified_size = -1
        # Every Werkcorporatie entry so far, for the correct rule: seq -> (kind, lease id,
        # member or workspace id, and an indexation's (date, rent) or a withdrawal's
        # application); and the entries corrected.
        self.entries: dict[int, tuple[str, str, Any]] = {}
        self.corrected: set[int] = set()

    @property
    def f(self) -> Founded:
        assert self.ledger is not None
        return self.ledger

    @initialize()
    def found(self) -> None:
        data = parse_charter(TEMPLATE).model_dump(mode="json")
        data["lease"]["area_districts"] = list(AREA)
        # The oracle knows the edition-1 rules (a typed rent, capped); edition 2's ROZ
        # indexation is tested in tests/rules/test_werk_edition2_table.py.
        charter = charter_v1(charter_from_dict(data))
        self.ledger = found_ledger(f"{self.tmp}/ledger.db", SIGNERS, charter)
        self.f.append(
            "coop-admin",
            [
                members.admit(
                    mid,
                    kind,  # type: ignore[arg-type]
                    PersonalData(name=mid),
                    date(2031, 1, 1),
                    founded=founded,
                    district=district,
                )
                for mid, (kind, founded, district) in MEMBERS.items()
            ],
        )
        # Two workspaces from the start (W-3 and invalid ones come from the register rule).
        for wid, district, area, market in [
            ("W-1", "Pampus-Haven", 40, 250_00),
            ("W-2", "Pampus-Centrum", 120, 100_00),
        ]:
            command = werk_rules.register_workspace(wid, district, area, market, date(2031, 1, 2))
            # Not offered to the correct rules: the other rules need these two to stay.
            self.f.append("werk-admin", [command])
            self.oracle.workspaces[wid] = (district, area, market)
        # A waiting list to start from: W-1 fits B-1 and B-4, W-2 fits B-2 and B-4.
        for member, low, high in [("B-1", 30, 50), ("B-2", 100, 150), ("B-4", 20, 130)]:
            receipt = self.f.append(
                "werk-admin", [werk_rules.apply(member, low, high, date(2031, 1, 5))]
            )
            self.oracle.queue.append(Application(receipt.entries[-1].seq, member, low, high))
            self.entries[receipt.entries[-1].seq] = ("lease.applied", member, None)

    def teardown(self) -> None:
        if self.ledger is not None:
            self.ledger.store.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- running a command against the prediction ---------------------------------------------

    def snapshot(self) -> tuple[tuple[int, bytes], dict[tuple[str, str], bytes]]:
        with self.f.store.reading() as tx:
            return tx.head(), tx.state.snapshot()

    def run(self, role: str, command: Command, expect_ok: bool, what: str) -> Any:
        before = self.snapshot()
        try:
            receipt = self.f.append(role, [command])
        except LedgerError as e:
            event(f"{what.split()[0]} refused")
            assert "\n" not in str(e)
            assert not expect_ok, f"{what}: refused although valid: {e}"
            assert self.snapshot() == before, f"{what}: a refused command changed the ledger"
            return None
        event(f"{what.split()[0]} accepted")
        assert expect_ok, f"{what}: accepted although invalid"
        return receipt

    # -- rules ---------------------------------------------------------------------------------

    @rule(
        wid=st.sampled_from(WORKSPACE_IDS),
        district=st.sampled_from(DISTRICTS),
        area=st.sampled_from([0, 20, 40, 120]),
        market=st.sampled_from([0, 100_00, 250_00, 333_33]),
    )
    def register(self, wid: str, district: str, area: int, market: int) -> None:
        ok = (
            wid not in self.oracle.workspaces
            and district != "Lelystad"
            and area >= 1
            and market >= 1
        )
        command = werk_rules.register_workspace(wid, district, area, market, date(2031, 1, 2))
        receipt = self.run("werk-admin", command, ok, f"register {wid}")
        if receipt:
            self.oracle.workspaces[wid] = (district, area, market)
            self.entries[receipt.entries[-1].seq] = ("workspace.registered", wid, None)

    @rule(
        member=st.sampled_from(MEMBER_IDS),
        low=st.sampled_from([0, 20, 30, 100]),
        span=st.sampled_from([-10, 0, 20, 100]),
        month=st.integers(0, 36),
    )
    def apply(self, member: str, low: int, span: int, month: int) -> None:
        on = first_of(month)
        app = Application(-1, member, low, low + span)
        ok = (
            member in MEMBERS
            and self.oracle.own(member) is None
            and self.oracle.eligible(app, on, self.oracle.terms)
        )
        receipt = self.run(
            "werk-admin", werk_rules.apply(member, low, low + span, on), ok, f"apply {member}"
        )
        if receipt:
            app.seq = receipt.entries[-1].seq
            self.oracle.queue.append(app)
            self.entries[app.seq] = ("lease.applied", member, None)

    @rule(
        member=st.sampled_from(["B-1", "B-2", "B-4"]),
        needs=st.sampled_from([(30, 50), (100, 150), (20, 130)]),
        month=st.integers(0, 24),
    )
    def apply_fitting(self, member: str, needs: tuple[int, int], month: int) -> None:
        """An application that fits W-1 (40 m2), W-2 (120 m2) or both, by a business."""
        self.apply(member, needs[0], needs[1] - needs[0], month)

    @rule(member=st.sampled_from(MEMBER_IDS))
    def withdraw(self, member: str) -> None:
        app = self.oracle.own(member)
        command = werk_rules.withdraw(member, date(2033, 1, 1))
        receipt = self.run("werk-admin", command, app is not None, f"withdraw {member}")
        if receipt:
            assert app is not None
            self.oracle.queue.remove(app)
            self.entries[receipt.entries[-1].seq] = ("lease.withdrawn", member, app)

    @rule(
        wid=st.sampled_from([*WORKSPACE_IDS, "W-9"]),
        member=st.sampled_from(MEMBER_IDS),
        month=st.integers(0, 60),
        length=st.sampled_from([0, 1, 12, 13, 60, 61]),
        rent=st.sampled_from(["cap", "over", "half", "zero"]),
        reason=st.sampled_from([None, "relocated after a fire"]),
        signer=st.sampled_from(["werk-admin", "werk-admin", "governor"]),
    )
    def grant(
        self,
        wid: str,
        member: str,
        month: int,
        length: int,
        rent: str,
        reason: str | None,
        signer: str,
    ) -> None:
        self.attempt_grant(
            wid, member, first_of(month), first_of(month + length), rent, reason, signer
        )

    @precondition(lambda self: self.oracle.queue)
    @rule(
        data=st.data(),
        month=st.integers(0, 36),
        length=st.sampled_from([12, 25, 60]),
        rent=st.sampled_from(["cap", "half"]),
        out_of_order=st.booleans(),
    )
    def grant_from_queue(
        self, data: st.DataObject, month: int, length: int, rent: str, out_of_order: bool
    ) -> None:
        """A grant the oracle means to be valid (it may still overlap an earlier lease)."""
        o = self.oracle
        start = first_of(month)

        def fitting_in(wid: str) -> list[Application]:
            return [a for a in o.queue if o.fits(a, wid) and o.eligible(a, start, o.terms)]

        # Out of order, prefer a workspace where someone can be passed over.
        choices = sorted(o.workspaces)
        if out_of_order:
            choices = [w for w in choices if len(fitting_in(w)) > 1] or choices
        wid = data.draw(st.sampled_from(choices), label="workspace")
        fitting = fitting_in(wid)
        chosen = (fitting[-1] if out_of_order else fitting[0]) if fitting else o.queue[0]
        in_order = bool(fitting) and chosen is fitting[0]
        reason = None if in_order else "relocated after a fire"
        signer = "werk-admin" if in_order else o.terms.exception_role
        end = first_of(month + length)
        self.attempt_grant(wid, chosen.member, start, end, rent, reason, signer)

    def attempt_grant(
        self,
        wid: str,
        member: str,
        start: date,
        end: date,
        rent: str,
        reason: str | None,
        signer: str,
    ) -> None:
        o = self.oracle
        registered = wid in o.workspaces
        cap = o.cap(wid, o.terms) if registered else 100_00
        cents = {"cap": cap, "over": cap + 1, "half": cap // 2, "zero": 0}[rent]
        app = o.own(member)
        first = o.first_fitting(wid, start) if registered else None
        in_order = first == member
        ok = (
            registered
            and app is not None
            and start < end <= add_months(start, 12 * o.terms.max_term_years)
            and 0 < cents <= cap
            and o.eligible(app, start, o.terms)
            and o.fits(app, wid)
            and (reason is None) == in_order
            and signer == ("werk-admin" if in_order else o.terms.exception_role)
            and not any(s < end and start < e for s, e in o.live_terms(wid))
        )
        command = werk_rules.grant(wid, member, start, end, cents, start, reason)
        receipt = self.run(signer, command, ok, f"grant {wid} to {member} from {start}")
        if not receipt:
            return
        assert app is not None
        body = receipt.facts[-1].body
        # The grant went to the first fitting eligible applicant, or it carries an exception
        # that names exactly the applicant passed over.
        if in_order:
            assert body.exception is None
        else:
            event("grant accepted with an exception")
            assert body.exception is not None
            assert body.exception.passed_over_member_id == first
        o.queue.remove(app)
        o.leases[body.lease_id] = Lease(
            wid,
            member,
            start,
            end,
            o.terms,
            [(start, cents)],
            None if in_order else first,
            app,
            end,
        )
        self.entries[receipt.entries[-1].seq] = (receipt.entries[-1].kind, body.lease_id, None)

    @rule(
        data=st.data(),
        months=st.integers(-1, 30),
        change=st.sampled_from(["ceiling", "ceiling+1", "lower", "same", "cap+1", "zero"]),
    )
    def index(self, data: st.DataObject, months: int, change: str) -> None:
        lid = data.draw(st.sampled_from([*sorted(self.oracle.leases), "L-999"]), label="lease")
        self.attempt_index(lid, months, change)

    @precondition(lambda self: self.oracle.running())
    @rule(
        data=st.data(),
        months=st.sampled_from([1, 11, 12, 13, 24]),
        change=st.sampled_from(["ceiling", "ceiling+1", "lower", "same"]),
    )
    def index_lease(self, data: st.DataObject, months: int, change: str) -> None:
        """An indexation of a lease not ended, at dates where most changes are allowed."""
        lid = data.draw(st.sampled_from(self.oracle.running()), label="lease")
        self.attempt_index(lid, months, change)

    def attempt_index(self, lid: str, months: int, change: str) -> None:
        o = self.oracle
        lease = o.leases.get(lid)
        if lease is None:
            self.run("werk-admin", werk_rules.index(lid, 100, date(2032, 1, 1)), False, "index")
            return
        last, old = lease.rents[-1]
        on = add_months(last, months)
        elapsed = whole_months(last, on) if on >= last else 0
        ceiling = int(
            (old * (12 + lease.terms.indexation * elapsed) / 12).to_integral_value(ROUND_DOWN)
        )
        cap = o.cap(lease.workspace, lease.terms)
        new = {
            "ceiling": min(ceiling, cap),
            "ceiling+1": min(ceiling, cap) + 1,
            "lower": old - 1,
            "same": old,
            "cap+1": cap + 1,
            "zero": 0,
        }[change]
        raise_ok = new <= old or (elapsed >= 12 and new <= ceiling and new <= cap)
        ok = not lease.ended and lease.start <= on < lease.end and on > last and new > 0
        ok = ok and raise_ok
        receipt = self.run("werk-admin", werk_rules.index(lid, new, on), ok, f"index {lid} on {on}")
        if receipt:
            lease.rents.append((on, new))
            self.entries[receipt.entries[-1].seq] = ("lease.indexed", lid, (on, new))

    @rule(data=st.data(), months=st.integers(-1, 62))
    def end(self, data: st.DataObject, months: int) -> None:
        lid = data.draw(st.sampled_from([*sorted(self.oracle.leases), "L-999"]), label="lease")
        self.attempt_end(lid, months)

    @precondition(lambda self: self.oracle.running())
    @rule(data=st.data(), months=st.sampled_from([0, 1, 6, 12, 24]))
    def end_lease(self, data: st.DataObject, months: int) -> None:
        """An early end of a lease not ended, `months` after its start."""
        self.attempt_end(data.draw(st.sampled_from(self.oracle.running()), label="lease"), months)

    def attempt_end(self, lid: str, months: int) -> None:
        o = self.oracle
        lease = o.leases.get(lid)
        if lease is None:
            self.run("werk-admin", werk_rules.end(lid, date(2032, 1, 1), "x"), False, "end")
            return
        on = add_months(lease.start, months)
        last = lease.rents[-1][0]
        ok = (
            not lease.ended
            and lease.start <= on <= lease.end
            and (len(lease.rents) == 1 or on > last)
        )
        receipt = self.run("werk-admin", werk_rules.end(lid, on, "moved"), ok, f"end {lid} on {on}")
        if receipt:
            lease.end, lease.ended = on, True
            lease.ended_seq = receipt.entries[-1].seq
            self.entries[lease.ended_seq] = ("lease.ended", lid, None)

    def undoable(self, seq: int) -> bool:
        """Whether a correction of entry `seq` is accepted: exactly when nothing was built on
        the entry (decision 0006)."""
        o = self.oracle
        kind_name, key, indexed = self.entries[seq]
        lease = o.leases.get(key)
        if seq in self.corrected:
            return False
        if kind_name == "lease.applied":
            return any(a.seq == seq for a in o.queue)
        if kind_name in ("lease.granted", "lease.exception-granted"):
            return (
                lease is not None
                and not lease.ended
                and len(lease.rents) == 1
                and o.own(lease.member) is None
            )
        if kind_name == "lease.indexed":
            return (
                lease is not None
                and not lease.ended
                and len(lease.rents) > 1
                and lease.rents[-1] == indexed
            )
        if kind_name == "lease.ended":
            return (
                lease is not None
                and lease.ended_seq == seq
                and not any(
                    s < lease.agreed_end and lease.start < e
                    for s, e in o.live_terms(lease.workspace, but=key)
                )
            )
        if kind_name == "lease.withdrawn":
            return o.own(key) is None
        # workspace.registered: while it was never let (corrected grants do not count)
        return not any(lease.workspace == key for lease in o.leases.values())

    @precondition(lambda self: self.entries)
    @rule(data=st.data())
    def correct(self, data: st.DataObject) -> None:
        """A governor's correction of any earlier Werkcorporatie entry."""
        self.attempt_correct(data.draw(st.sampled_from(sorted(self.entries)), label="entry"))

    @precondition(lambda self: any(self.undoable(seq) for seq in self.entries))
    @rule(data=st.data())
    def correct_undoable(self, data: st.DataObject) -> None:
        """A correction the oracle expects to be accepted."""
        seqs = [seq for seq in sorted(self.entries) if self.undoable(seq)]
        self.attempt_correct(data.draw(st.sampled_from(seqs), label="entry"))

    def attempt_correct(self, seq: int) -> None:
        o = self.oracle
        kind_name, key, extra = self.entries[seq]
        ok = self.undoable(seq)
        lease = o.leases.get(key)
        command = corrections.correct(seq, "recorded in error", date(2045, 1, 1))
        if not self.run("governor", command, ok, f"correct {kind_name} {seq}"):
            return
        event(f"correct {kind_name} accepted")
        self.corrected.add(seq)
        if kind_name == "lease.applied":
            o.queue = [a for a in o.queue if a.seq != seq]
        elif kind_name in ("lease.granted", "lease.exception-granted"):
            assert lease is not None
            del o.leases[key]
            o.queue = sorted([*o.queue, lease.application], key=lambda a: a.seq)
        elif kind_name == "lease.indexed":
            assert lease is not None
            lease.rents.pop()
        elif kind_name == "lease.ended":
            assert lease is not None
            lease.end, lease.ended, lease.ended_seq = lease.agreed_end, False, None
        elif kind_name == "lease.withdrawn":
            o.queue = sorted([*o.queue, extra], key=lambda a: a.seq)
        else:
            del o.workspaces[key]

    @rule(
        ratio=st.sampled_from(["0.50", "0.60", "0.70"]),
        indexation=st.sampled_from(["0.02", "0.03", "0.05"]),
        founded_years=st.sampled_from([3, 5]),
        exception_role=st.sampled_from(["governor", "werk-admin"]),
    )
    def amend(self, ratio: str, indexation: str, founded_years: int, exception_role: str) -> None:
        with self.f.store.reading() as tx:
            charter: dict[str, Any] = charter_at(tx.state)[1].model_dump(mode="json")
        charter["lease"].update(
            max_rent_ratio=ratio,
            max_indexation_per_year=indexation,
            max_founded_years=founded_years,
            exception_role=exception_role,
        )
        new: Charter = charter_from_dict(charter)
        self.run("governor", governance.amend_charter(new, "lease terms"), True, "amend")
        self.oracle.terms = Terms(
            Decimal(ratio), Decimal(indexation), founded_years, exception_role
        )

    # -- invariants ----------------------------------------------------------------------------

    def stored_leases(self) -> dict[str, dict[str, Any]]:
        """The leases whose grant stands (a corrected grant keeps its record, marked)."""
        with self.f.store.reading() as tx:
            return {
                lid: r for lid, r in tx.state.scan("lease") if r["status"] != werk_rules.CORRECTED
            }

    @invariant()
    def the_waiting_list_matches_the_oracle(self) -> None:
        if self.ledger is None:
            return
        with self.f.store.reading() as tx:
            stored = [(a.member_id, a.applied_seq) for a in werk_rules.waiting_list(tx.state)]
        assert stored == [(a.member, a.seq) for a in self.oracle.queue]

    @invariant()
    def leases_match_the_oracle(self) -> None:
        if self.ledger is None:
            return
        stored = self.stored_leases()
        assert sorted(stored) == sorted(self.oracle.leases)
        for lid, record in stored.items():
            lease = self.oracle.leases[lid]
            assert (record["workspace_id"], record["member_id"]) == (lease.workspace, lease.member)
            assert (record["start"], record["end"]) == (
                lease.start.isoformat(),
                lease.end.isoformat(),
            )
            assert record["rents"] == [[d.isoformat(), c] for d, c in lease.rents]
            passed = record["exception"] and record["exception"]["passed_over_member_id"]
            assert passed == (lease.exception_over or None)

    @invariant()
    def no_two_leases_of_a_workspace_overlap(self) -> None:
        if self.ledger is None:
            return
        terms: dict[str, list[tuple[date, date, str]]] = {}
        for lid, r in self.stored_leases().items():
            start, end = date.fromisoformat(r["start"]), date.fromisoformat(r["end"])
            if start < end:
                terms.setdefault(r["workspace_id"], []).append((start, end, lid))
        for spans in terms.values():
            spans.sort()
            for (_s1, e1, a), (s2, _e2, b) in pairwise(spans):
                assert e1 <= s2, f"leases {a} and {b} overlap"

    @invariant()
    def every_rent_within_its_caps(self) -> None:
        if self.ledger is None:
            return
        for lid, r in self.stored_leases().items():
            lease = self.oracle.leases[lid]
            cap = self.oracle.cap(r["workspace_id"], lease.terms)
            rents = [(date.fromisoformat(d), c) for d, c in r["rents"]]
            assert all(0 < c <= cap for _d, c in rents), f"{lid}: a rent above the cap {cap}"
            assert all(
                date.fromisoformat(r["start"]) <= d < date.fromisoformat(r["end"])
                or d == rents[0][0]
                for d, _c in rents
            )
            for (d0, c0), (d1, c1) in pairwise(rents):
                if c1 > c0:
                    months = whole_months(d0, d1)
                    assert months >= 12, f"{lid}: raised after {months} months"
                    assert Decimal(c1) <= c0 * (1 + lease.terms.indexation * months / 12)

    @invariant()
    def projections_equal_a_replay_and_verify_passes(self) -> None:
        if self.ledger is None:
            return
        with self.f.store.reading() as tx:
            size = tx.head()[0]
            # A refused step was already shown to leave head and projection byte-identical,
            # so the replay of an unchanged log need not run again.
            if size == self.verified_size:
                return
            leaves = [data for _seq, data in tx.entries(0, None)]
            checkpoints = [(size, text) for size, _root, text in tx.checkpoints()]
            report, replayed = verify_leaves(leaves, checkpoints, None)
            assert report.ok, [f.line() for f in report.findings]
            assert isinstance(replayed, MemoryState)
            assert replayed.snapshot() == tx.state.snapshot()
            store_report = verify_store(tx)
            assert store_report.ok, [f.line() for f in store_report.findings]
        self.verified_size = size


WerkMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestWerkStateMachine = WerkMachine.TestCase
