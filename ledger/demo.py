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


# The story, in order; each capability adds its step here.
STEPS: list[Callable[[DemoLedger], None]] = [
    members_step,
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
