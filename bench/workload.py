"""A realistic workload built through the library: admissions, dwellings and their shares,
fund deposits, index publications, levy-bound property sales and workspace leases.

The mix per simulated day (a "round" of about 100 entries) follows the shape of a district
cooperative: many admissions and share transfers, fewer registrations, monthly index
publications. Every id is unique, so the work per entry stays nearly the same from 1,000
entries to 1,000,000; what grows is a dwelling's record, which keeps its history of holders
(each dwelling is sold and bought back about nine times by 1,000,000 entries).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from ledger.charter import TEMPLATE, parse_charter
from ledger.command import Command
from ledger.keys import Signer, generate
from ledger.rules import fund, governance, levy, members, shares, werk
from ledger.rules.index_series import publish_index
from ledger.rules.members import PersonalData
from ledger.service import Ledger, genesis
from ledger.storage.store import Store

ORIGIN = "bench.example/coop"
DISTRICTS = ("Pampus-Centrum", "Pampus-Haven", "Pampus-Oost")
ROLES = ("coop-admin", "werk-admin", "levy-admin")
START = date(2031, 1, 1)


def make_signers() -> dict[str, Signer]:
    signers = {"governor": generate("bench-governor"), "log": generate(ORIGIN)}
    for role in ROLES:
        signers[role] = generate(f"bench-{role}")
    return signers


class Clock:
    """Recorded time: a fixed start moving one second per call, so runs are comparable."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def found(store: Store, signers: dict[str, Signer]) -> Ledger:
    """Entry 0 and the key grants: the fixed prefix every bench ledger starts with."""
    ledger = Ledger(store, clock=Clock(datetime(2031, 1, 1, 8, 0, tzinfo=UTC)))
    gov, log = signers["governor"], signers["log"]
    ledger.found(genesis(ORIGIN, parse_charter(TEMPLATE), gov, log, START), gov, log)
    grants = [
        governance.authorize_key(signers[r].name, signers[r].public_key, (r,))  # type: ignore[arg-type]
        for r in ROLES
    ]
    ledger.append(grants, gov, log)
    return ledger


class Workload:
    """Yields each simulated day's commands as (part, role, command), in append order."""

    def __init__(self) -> None:
        self.day = START
        self.n_member = 0
        self.n_dwelling = 0
        self.n_property = 0
        self.n_workspace = 0
        self.free: deque[str] = deque()  # dwellings held by the cooperative
        self.held: deque[tuple[str, date]] = deque()  # dwellings sold, with the sale date
        self.unsold: deque[str] = deque()  # properties registered, not yet sold
        self.month: str | None = None
        self.index_month = 0

    def _member(self, kind: str = "person", **extra: object) -> tuple[str, Command]:
        self.n_member += 1
        mid = f"M-{self.n_member}"
        pd = PersonalData(name=f"Lid {self.n_member}", email=f"lid{self.n_member}@example.org")
        return mid, members.admit(mid, kind, pd, self.day, salt=bytes(32), **extra)  # type: ignore[arg-type]

    def rounds(self) -> Iterator[list[tuple[str, Command]]]:
        """One simulated day: a list of (part, role, command) in the order they are appended."""
        while True:
            day = self.day
            out: list[tuple[str, Command]] = []
            month = f"{day.year:04d}-{day.month:02d}"
            if month != self.month:
                self.month = month
                self.index_month += 1
                value = f"{100 + self.index_month * 0.25:.2f}"
                out.append(("index", "coop-admin", publish_index("CPI", month, value, "CBS")))
                out.append(("index", "coop-admin", publish_index("HPI", month, value, "CBS")))
            # Dwellings: new ones delivered, shares sold to new members, older ones bought back.
            for _ in range(5 if self.n_dwelling >= 100 else 100):
                self.n_dwelling += 1
                did = f"D-{self.n_dwelling}"
                out.append(
                    (
                        "shares",
                        "coop-admin",
                        shares.register_dwelling(
                            did,
                            DISTRICTS[self.n_dwelling % 3],
                            day,
                            250_000_00 + self.n_dwelling % 1000 * 100_00,
                            day,
                            rule="fixed-rate",
                        ),
                    )
                )
                self.free.append(did)
            out.append(("fund", "coop-admin", fund.deposit(5_000_000_00, "gem", "revolving fund")))
            buyers = []
            for _ in range(40):
                mid, command = self._member()
                out.append(("members", "coop-admin", command))
                buyers.append(mid)
            sold_today = []
            for mid in buyers[:25]:
                if not self.free:
                    break
                did = self.free.popleft()
                out.append(
                    (
                        "shares",
                        "coop-admin",
                        shares.sell_share(
                            did,
                            mid,
                            day,
                            deed=f"A-{did}-{day}",
                            declared_on=day,
                            declaration=f"V-{mid}",
                        ),
                    )
                )
                sold_today.append((did, day))
            for _ in range(20):
                if not self.held or self.held[0][1] >= day:
                    break
                did, _sold = self.held.popleft()
                out.append(
                    ("shares", "coop-admin", shares.buy_back_share(did, day, deed=f"A-{did}-{day}"))
                )
                self.free.append(did)
            self.held.extend(sold_today)
            # Surplus-value levy: properties delivered, and sold once a month has passed.
            for _ in range(2):
                self.n_property += 1
                pid = f"P-{self.n_property}"
                out.append(
                    (
                        "levy",
                        "levy-admin",
                        levy.register_property(
                            pid,
                            "home",
                            DISTRICTS[self.n_property % 3],
                            day,
                            300_000_00,
                            day,
                            index_series="HPI",
                        ),
                    )
                )
                self.unsold.append(pid)
            while len(self.unsold) > 60:
                pid = self.unsold.popleft()
                out.append(
                    ("levy", "levy-admin", levy.sell_property(pid, day, 330_000_00, f"deed-{pid}"))
                )
            # Werkcorporatie: a workspace, a starting business on the list, and its lease.
            self.n_workspace += 1
            wid = f"W-{self.n_workspace}"
            out.append(
                ("werk", "werk-admin", werk.register_workspace(wid, DISTRICTS[0], 60, 240_00, day))
            )
            bid, command = self._member(
                "business", founded=day - timedelta(days=400), district=DISTRICTS[0]
            )
            out.append(("members", "coop-admin", command))
            out.append(("werk", "werk-admin", werk.apply(bid, 40, 80, day)))
            start = day + timedelta(days=30)
            out.append(
                (
                    "werk",
                    "werk-admin",
                    werk.grant(wid, bid, start, start + timedelta(days=3 * 365), 700_00, day),
                )
            )
            yield out
            self.day += timedelta(days=1)


Batch = tuple[str, str, list[Command]]

# The order in which one window's groups are appended: every group depends only on groups
# before it (sales need members and the fund, levy sales need the index, leases members).
PART_ORDER = ("index", "fund", "members", "shares", "levy", "werk")


def windows(workload: Workload, disabled: set[str], batch: list[int]) -> Iterator[list[Batch]]:
    """Windows of whole days holding about batch[0] entries (read anew for each window).

    A window is a list of groups, one per (part, role) in PART_ORDER, each cut into
    transactions of at most batch[0] commands. Parts in `disabled` (a domain module that
    refused its own workload) are left out."""
    days = workload.rounds()
    while True:
        size = batch[0]
        groups: dict[tuple[str, str], list[Command]] = {}
        count = 0
        while count < size:
            for part, role, command in next(days):
                if part in disabled:
                    continue
                groups.setdefault((part, role), []).append(command)
                count += 1
        out: list[Batch] = []
        for part in PART_ORDER:
            for (p, role), commands in groups.items():
                if p == part:
                    out.extend(
                        (part, role, commands[i : i + size]) for i in range(0, len(commands), size)
                    )
        yield out


# Parts whose modules other engineers are still building: a refusal disables the part (the
# bench says so) instead of stopping the run. Admissions are the core and must work.
OPTIONAL = ("index", "shares", "fund", "levy", "werk")


def build(
    ledger: Ledger,
    signers: dict[str, Signer],
    size: int,
    batch: int = 1000,
    progress: bool = False,
    skipped: dict[str, str] | None = None,
    probe: bool = True,
    in_append: list[float] | None = None,
) -> int:
    """Append realistic entries until the ledger holds at least `size`; returns the size.

    `in_append`, when given, gets the seconds spent inside Ledger.append added to its one
    item: the library's share of the time, without the workload's own making of commands.

    The first simulated days go in small transactions, one per part, so that a part whose
    module refuses its own workload is found and disabled (named in `skipped`, with the
    refusal) without losing the others; then windows of about `batch` entries follow."""
    from ledger.errors import LedgerError

    skipped = {} if skipped is None else skipped
    disabled = set(skipped)
    with ledger.store.reading() as tx:
        current = tx.head()[0]
    workload = Workload()
    last_report = current
    size_box = [1]
    for number, window in enumerate(windows(workload, disabled, size_box)):
        # The first three days go one part at a time, to find a part that refuses.
        probing = probe and number < 3
        size_box[0] = 1 if probing and number < 2 else batch
        if not probing:
            # Consecutive groups signed by the same role go in one transaction.
            merged: list[Batch] = []
            for part, role, commands in window:
                if merged and merged[-1][1] == role and len(merged[-1][2]) + len(commands) <= batch:
                    merged[-1] = (merged[-1][0], role, merged[-1][2] + commands)
                else:
                    merged.append((part, role, commands))
            window = merged
        for part, role, commands in window:
            if part in disabled:
                continue
            if current >= size:
                return current
            commands = commands[: max(1, size - current)]
            started = time.perf_counter()
            try:
                receipt = ledger.append(commands, signers[role], signers["log"])
            except LedgerError as e:
                if part not in OPTIONAL or not probing:
                    raise
                disabled.add(part)
                skipped[part] = f"{type(e).__name__}: {e}"
                continue
            if in_append is not None:
                in_append[0] += time.perf_counter() - started
            current = receipt.checkpoint_size
            if progress and current - last_report >= 50_000:
                print(f"  built {current:,} entries", flush=True)
                last_report = current
    return current
