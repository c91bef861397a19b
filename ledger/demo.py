"""The demo: a small, realistic Pampus ledger built through the library, then verified."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from ledger.charter import TEMPLATE, parse_charter
from ledger.checks import verify_store
from ledger.command import Command
from ledger.export.bundle import export_bundle, verify_bundle
from ledger.keys import Signer, generate, write_key_file
from ledger.note import Verifier
from ledger.rules import governance, members
from ledger.rules.members import PersonalData
from ledger.service import Ledger, genesis
from ledger.storage.store import Store

ORIGIN = "pampus.example/coop"
DEMO_PASSPHRASE = "demo"


@dataclass
class DemoLedger:
    """What a demo step gets: the ledger, the demo's keys (by role, plus "log") and a printer."""

    ledger: Ledger
    signers: dict[str, Signer]
    say: Callable[[str], None]

    def append(self, role: str, commands: list[Command], request_id: str | None = None) -> None:
        self.ledger.append(commands, self.signers[role], self.signers["log"], request_id)


def members_step(demo: DemoLedger) -> None:
    people = [
        ("M-1", "household", PersonalData(name="Familie De Vries", address="Havenkade 1, Pampus")),
        ("M-2", "person", PersonalData(name="Sanne Bakker", email="sanne@example.org")),
        ("M-3", "household", PersonalData(name="Familie El Amrani")),
        ("M-4", "person", PersonalData(name="Joris Visser")),
    ]
    admissions = [members.admit(mid, kind, pd, date(2031, 2, 1)) for mid, kind, pd in people]  # type: ignore[arg-type]
    admissions.append(
        members.admit(
            "B-1",
            "business",
            PersonalData(name="Werkplaats Pampus B.V.", kvk="90000001"),
            date(2031, 2, 1),
            founded=date(2029, 6, 1),
            district="Pampus-Haven",
        )
    )
    demo.append("coop-admin", admissions, request_id="demo-admissions")
    demo.say(f"admitted {len(admissions)} members (personal data kept outside the log)")
    demo.append("coop-admin", [members.forget("M-4", date(2031, 3, 1))])
    demo.say("erased the personal data of M-4 on request; the ledger still verifies")


def werk_step(demo: DemoLedger) -> None:
    """Werkcorporatie: workspaces, a waiting list, grants in queue order and by exception,
    an indexation and an early end."""
    from ledger.rules import werk
    from ledger.state import charter_at

    def append(role: str, commands: list[Command]) -> str:
        result = demo.ledger.append(commands, demo.signers[role], demo.signers["log"])
        body = result.facts[-1].body
        return str(getattr(body, "lease_id", ""))

    businesses = [
        ("B-2", "Atelier IJmeer", date(2030, 3, 1), "Pampus-Oost"),
        ("B-3", "Fietsmakerij Pampus", date(2030, 9, 15), "Pampus-Centrum"),
    ]
    demo.append(
        "coop-admin",
        [
            members.admit(
                mid,
                "business",
                PersonalData(name=name),
                date(2031, 3, 1),
                founded=founded,
                district=district,
            )
            for mid, name, founded, district in businesses
        ],
    )
    demo.append(
        "werk-admin",
        [
            werk.register_workspace("W-1", "Pampus-Haven", 80, 240_00, date(2031, 3, 1)),
            werk.register_workspace("W-2", "Pampus-Centrum", 150, 220_00, date(2031, 3, 1)),
            werk.register_workspace("W-3", "Pampus-Oost", 40, 260_00, date(2031, 3, 1)),
        ],
    )
    demo.say("Werkcorporatie: registered workspaces W-1 (80 m2), W-2 (150 m2), W-3 (40 m2)")
    demo.append(
        "werk-admin",
        [
            werk.apply("B-1", 60, 100, date(2031, 3, 2)),
            werk.apply("B-2", 30, 160, date(2031, 3, 3)),
            werk.apply("B-3", 30, 60, date(2031, 3, 4)),
        ],
    )
    demo.say("B-1, B-2 and B-3 joined the waiting list, in that order")
    first = append(
        "werk-admin",
        [werk.grant("W-1", "B-1", date(2031, 4, 1), date(2036, 4, 1), 900_00, date(2031, 3, 15))],
    )
    demo.say(f"granted {first}: W-1 to B-1, first in the queue, EUR 900.00 a month (cap 960.00)")
    with demo.ledger.store.reading() as tx:
        exception_role = charter_at(tx.state)[1].lease.exception_role
    reason = "displaced by the Havenkade works; needs ground-floor space at once"
    excepted = append(
        exception_role,
        [
            werk.grant(
                "W-3",
                "B-3",
                date(2031, 5, 1),
                date(2034, 5, 1),
                500_00,
                date(2031, 4, 20),
                exception_reason=reason,
            )
        ],
    )
    demo.say(
        f"granted {excepted}: W-3 to B-3 out of queue order, passing over B-2; "
        f"the exception and its reason signed by the {exception_role}"
    )
    second = append(
        "werk-admin",
        [werk.grant("W-2", "B-2", date(2031, 6, 1), date(2036, 6, 1), 1500_00, date(2031, 5, 10))],
    )
    demo.say(f"granted {second}: W-2 to B-2, next in the queue")
    demo.append("werk-admin", [werk.index(first, 927_00, date(2032, 4, 1))])
    demo.say(f"indexed {first} by the charter's 3% a year: EUR 900.00 -> 927.00 from 2032-04-01")
    demo.append("werk-admin", [werk.end(excepted, date(2033, 5, 1), "moved to a larger space")])
    demo.say(f"ended {excepted} early on 2033-05-01; W-3 is free again")


# The story, in order; each capability adds its step here.
STEPS: list[Callable[[DemoLedger], None]] = [
    members_step,
    werk_step,
]


@dataclass
class DemoResult:
    entries: int = 0
    steps: list[str] = field(default_factory=list)
    ok: bool = False
    bundle_ok: bool = False
    vkey: str = ""


class _Clock:
    """A demo clock that moves a few minutes per transaction, so the log reads like a year."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=7)
        return self.now


def build_demo(db: str, keys_dir: Path, bundle_dir: Path, say: Callable[[str], None]) -> DemoResult:
    result = DemoResult()
    keys_dir.mkdir(parents=True, exist_ok=True)
    signers: dict[str, Signer] = {}
    for name in ("governor", "coop-admin", "werk-admin", "levy-admin"):
        signers[name] = generate(f"demo-{name}")
    signers["log"] = generate(ORIGIN)
    for label, signer in signers.items():
        write_key_file(keys_dir / f"{label}.key", signer, DEMO_PASSPHRASE.encode())
    say(f"keys written to {keys_dir} (passphrase '{DEMO_PASSPHRASE}')")

    store = Store(db, create=True)
    store.create_schema()
    ledger = Ledger(store, clock=_Clock(datetime(2031, 1, 5, 9, 0, tzinfo=timezone.utc)))
    gov, log = signers["governor"], signers["log"]
    charter = parse_charter(TEMPLATE)
    ledger.found(genesis(ORIGIN, charter, gov, log, date(2031, 1, 5)), gov, log)
    say("founded the ledger with the placeholder charter")

    grants: list[Command] = [
        governance.authorize_key(signers["coop-admin"].name, signers["coop-admin"].public_key, ("coop-admin",)),
        governance.authorize_key(signers["werk-admin"].name, signers["werk-admin"].public_key, ("werk-admin",)),
        governance.authorize_key(signers["levy-admin"].name, signers["levy-admin"].public_key, ("levy-admin",)),
    ]
    ledger.append(grants, gov, log, request_id="demo-keys")
    say("authorised the cooperative, Werkcorporatie and levy administrators")

    demo = DemoLedger(ledger, signers, say)
    for step in STEPS:
        step(demo)

    with store.reading() as tx:
        report = verify_store(tx)
        result.entries = report.entries
        result.ok = report.ok
        export_bundle(tx, bundle_dir)
    say(f"verified the database: {report.entries} entries, {report.checkpoints} checkpoints: {'OK' if report.ok else 'FAILED'}")
    trusted = Verifier.from_public_key(log.name, log.public_key)
    result.vkey = trusted.key_text()
    bundle_report = verify_bundle(bundle_dir, trusted)
    result.bundle_ok = bundle_report.ok
    say(f"exported a bundle to {bundle_dir} and verified it offline: {'OK' if bundle_report.ok else 'FAILED'}")
    store.dispose()
    return result
