"""The demo: a small, realistic Pampus ledger built through the library, then verified."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.charter import TEMPLATE, parse_charter
from ledger.checks import verify_store
from ledger.command import Command
from ledger.export.bundle import export_bundle
from ledger.keys import Signer, generate, write_key_file
from ledger.log_memory import LogMemory
from ledger.note import Verifier
from ledger.rules import governance, members
from ledger.rules.members import PersonalData
from ledger.service import Ledger, Receipt, genesis
from ledger.storage.store import Store
from ledger.verify.bundle import verify_bundle

ORIGIN = "pampus.example/coop"
DEMO_PASSPHRASE = "demo"


@dataclass
class DemoLedger:
    """What a demo step gets: the ledger, the demo's keys (by role, plus "log") and a printer."""

    ledger: Ledger
    signers: dict[str, Signer]
    say: Callable[[str], None]

    memory: LogMemory | None = None

    def append(self, role: str, commands: list[Command], request_id: str | None = None) -> Receipt:
        log = self.signers["log"]
        return self.ledger.append(commands, self.signers[role], log, request_id, self.memory)


def _papers(dwelling_id: str, on: date) -> dict[str, Any]:
    """The notary's deed and the buyer's self-occupation declaration a sale names (edition 2)."""
    return {
        "deed": f"AKTE-{dwelling_id}-{on.isoformat()}",
        "declared_on": on,
        "declaration": f"VERKLARING-{dwelling_id}-{on.isoformat()}",
    }


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


def shares_step(demo: DemoLedger) -> None:
    """Dwellings under three price rules, CPI values, the GEM's deposit, sales, a resale to the
    next household at the preset price, and a sale corrected by the board."""
    from ledger.money import format_eur
    from ledger.rules import fund, index_series, shares
    from ledger.rules.corrections import correct

    delivered = date(2031, 3, 1)
    demo.append(
        "coop-admin",
        [
            shares.register_dwelling(
                "D-1",
                "Pampus-Haven",
                delivered,
                260_000_00,
                delivered,
                rule="fixed-rate",
                rate="0.02",
                compounding="compound",
                address="Havenkade 3",
            ),
            shares.register_dwelling(
                "D-2",
                "Pampus-Centrum",
                delivered,
                310_000_00,
                delivered,
                rule="indexed",
                series="CPI",
                address="Stadsplein 12",
            ),
            shares.register_dwelling(
                "D-3",
                "Pampus-Oost",
                delivered,
                240_000_00,
                delivered,
                rule="nominal",
                address="Oostwal 7",
            ),
        ],
    )
    demo.say("registered D-1 (fixed-rate 2% compound), D-2 (indexed, CPI) and D-3 (nominal)")
    # Placeholder values in the shape of CBS's consumer price index, by calendar month.
    cpi = {
        "2030-12": "127.0",
        "2031-03": "128.4",
        "2031-04": "128.9",
        "2031-12": "131.6",
        "2034-09": "139.1",
    }
    demo.append(
        "coop-admin",
        [
            index_series.publish_index("CPI", m, v, "CBS StatLine (demo values)")
            for m, v in cpi.items()
        ],
    )
    demo.append("coop-admin", [fund.deposit(500_000_00, "GEM", "start capital for buy-backs")])
    demo.say(f"published {len(cpi)} CPI values; the GEM deposited EUR 500000.00 into the fund")

    demo.append(
        "coop-admin",
        [shares.sell_share("D-1", "M-1", date(2031, 4, 1), **_papers("D-1", date(2031, 4, 1)))],
    )
    demo.append(
        "coop-admin",
        [shares.sell_share("D-2", "M-2", date(2031, 4, 15), **_papers("D-2", date(2031, 4, 15)))],
    )
    wrong = (
        demo.append(
            "coop-admin",
            [shares.sell_share("D-3", "M-3", date(2031, 5, 1), **_papers("D-3", date(2031, 5, 1)))],
        )
        .entries[0]
        .seq
    )
    demo.append(
        "governor",
        [correct(wrong, "the deed is dated 2031-05-10, not 2031-05-01", date(2031, 5, 12))],
    )
    demo.append(
        "coop-admin",
        [shares.sell_share("D-3", "M-3", date(2031, 5, 10), **_papers("D-3", date(2031, 5, 10)))],
    )
    demo.say(
        f"sold D-1, D-2 and D-3 at their preset prices; the board corrected entry {wrong} "
        "(wrong date) and the sale was recorded again"
    )

    # M-1 moves away: the cooperative buys D-1's share back and sells it to the next household.
    resale = date(2034, 9, 1)
    demo.append(
        "coop-admin",
        [members.admit("M-5", "household", PersonalData(name="Familie Yilmaz"), date(2034, 8, 1))],
    )
    receipt = demo.append(
        "coop-admin",
        [
            shares.buy_back_share("D-1", resale, deed="AKTE-D-1-2034-09-01-T"),
            shares.sell_share("D-1", "M-5", resale, **_papers("D-1", resale)),
        ],
    )
    price = receipt.facts[0].body.price_cents  # type: ignore[attr-defined]
    demo.say(
        f"resale of D-1 on {resale}: bought back from M-1 and sold to M-5 for EUR "
        f"{format_eur(price)} (260000.00 grown 2% a year for 3 whole years)"
    )


def werk_step(demo: DemoLedger) -> None:
    """Werkcorporatie: workspaces, a waiting list, grants in queue order and by exception,
    an indexation and an early end."""
    from ledger.rules import werk
    from ledger.state import charter_at

    def append(role: str, commands: list[Command]) -> str:
        result = demo.append(role, commands)
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
    demo.append(
        "werk-admin",
        [werk.revalue_workspace("W-1", 250_00, date(2032, 1, 1), "Taxatie Havenkade (demo)")],
    )
    demo.append("werk-admin", [werk.index(first, None, date(2032, 4, 1))])
    demo.say(
        f"revalued W-1's market rent to EUR 250.00 per m2 per year; indexed {first} by the ROZ "
        "formula (CPI 2031-12 / 2030-12 = 131.6 / 127.0): EUR 900.00 -> 927.00 from 2032-04-01, "
        "capped at the charter's 3% a year"
    )
    demo.append("werk-admin", [werk.end(excepted, date(2033, 5, 1), "moved to a larger space")])
    demo.say(f"ended {excepted} early on 2033-05-01; W-3 is free again")


def levy_step(demo: DemoLedger) -> None:
    """Surplus-value levy and area contributions: properties, sales in two quarters, payments,
    a waiver, monthly contribution runs, and the GEM's signed files for both quarters, verified."""
    from ledger.errors import VerificationError
    from ledger.export.gem import export_gem, parse_period, verify_from_store
    from ledger.rules import contributions, corrections, levy
    from ledger.rules.index_series import publish_index
    from ledger.storage.store import sqlite_path

    def sale_seq(commands: list[Command]) -> int:
        return demo.append("levy-admin", commands).entries[0].seq

    # A house price index of its own (CBS "bestaande koopwoningen" style), so the levy's
    # expected value follows house prices, not consumer prices.
    hpi = {
        "2031-05": "100.0",
        "2031-06": "100.5",
        "2031-09": "101.0",
        "2032-02": "104.0",
        "2032-03": "104.5",
        "2032-05": "106.0",
    }
    demo.append(
        "coop-admin",
        [publish_index("HPI", m, v, "CBS StatLine (demo values)") for m, v in hpi.items()],
    )
    demo.append(
        "levy-admin",
        [
            levy.register_property(
                "P-1",
                "home",
                "Pampus-Haven",
                date(2031, 5, 1),
                400_000_00,
                date(2031, 4, 1),
                index_series="HPI",
            ),
            levy.register_property(
                "P-2",
                "home",
                "Pampus-Centrum",
                date(2031, 6, 1),
                350_000_00,
                date(2031, 4, 1),
                index_series="HPI",
            ),
            levy.register_property(
                "P-3",
                "commercial",
                "Pampus-Haven",
                date(2031, 9, 1),
                1_200_000_00,
                date(2031, 4, 1),
                index_series="HPI",
            ),
        ],
    )
    demo.say(
        "registered levy-bound properties P-1, P-2 (homes) and P-3 (commercial): "
        "30% levy for 40 years"
    )
    p1 = sale_seq(
        [
            levy.sell_property(
                "P-1",
                date(2032, 2, 14),
                455_000_00,
                "notaris-2032-0214",
                improvements_cents=10_000_00,
            )
        ]
    )
    p3 = sale_seq([levy.sell_property("P-3", date(2032, 3, 20), 1_150_000_00, "notaris-2032-0320")])
    p2 = sale_seq(
        [
            levy.sell_property(
                "P-2",
                date(2032, 5, 10),
                400_000_00,
                "notaris-2032-0510",
                appraisal_cents=410_000_00,
            )
        ]
    )
    demo.say(
        f"sold P-1 (entry {p1}: levy EUR 8700.00 on 29,000 extra), P-3 (entry {p3}: below the "
        f"expected value, no levy) and P-2 (entry {p2}: the appraisal above the price counts)"
    )
    demo.append("levy-admin", [levy.pay_levy(p1, 5_000_00, date(2032, 2, 28), "notaris-2032-0214")])
    # A payment recorded with a mistyped amount: the board corrects it, the right one follows.
    typo = sale_seq([levy.pay_levy(p1, 3_070_00, date(2032, 4, 15), "bank-77812")])
    demo.append(
        "governor",
        [
            corrections.correct(
                typo, "amount mistyped: the bank statement says 3,700.00", date(2032, 4, 16)
            )
        ],
    )
    demo.append("levy-admin", [levy.pay_levy(p1, 3_700_00, date(2032, 4, 15), "bank-77812")])
    demo.append(
        "levy-admin", [levy.pay_levy(p2, 10_000_00, date(2032, 5, 31), "notaris-2032-0510")]
    )
    demo.append(
        "governor", [levy.waive_levy(p2, "hardship: board decision 2032-06-20", date(2032, 6, 20))]
    )
    demo.say(
        f"P-1's levy paid in two parts (a mistyped payment, entry {typo}, corrected by the "
        "board); P-2's levy partly paid, the rest waived by the board"
    )
    # Every charge names its debtor: the homes' owners and the businesses' workplaces.
    demo.append(
        "levy-admin",
        [
            contributions.name_debtor("P-1", "OWNER-P-1", date(2031, 5, 1)),
            contributions.name_debtor("P-2", "OWNER-P-2", date(2031, 6, 1)),
            contributions.register_workplaces("B-1", "Pampus-Haven", 2, date(2031, 4, 1)),
        ],
    )
    demo.say("named the owners of homes P-1 and P-2; B-1 registered 2 workplaces")
    for month, on in (("2032-01", date(2032, 1, 5)), ("2032-04", date(2032, 4, 5))):
        demo.append("levy-admin", [contributions.charge_month(month, on)])
    try:
        demo.append("levy-admin", [contributions.charge_month("2032-01", date(2032, 4, 6))])
    except contributions.AlreadyChargedError as e:
        demo.say(
            f"charged the area contribution for 2032-01 and 2032-04; running 2032-01 again: {e}"
        )
    demo.append(
        "levy-admin",
        [contributions.pay_contribution(10_00, date(2032, 1, 20), "bank-1", subject="P-1")],
    )
    demo.append(
        "levy-admin",
        [contributions.pay_contribution(20_00, date(2032, 4, 20), "bank-2", member="B-1")],
    )
    demo.say("recorded contribution payments for P-1 and from B-1 (its 2 workplaces)")

    path = sqlite_path(demo.ledger.store.target)
    base = path if path is not None else Path("coopledger-demo")
    gem_dir = base.with_name(base.name + ".gem")
    for period in ("2032-Q1", "2032-Q2"):
        with demo.ledger.store.reading() as tx:
            export_gem(tx, parse_period(period), gem_dir / period, demo.signers["log"])
            report = verify_from_store(gem_dir / period, tx, None)
        if not report.ok:
            raise VerificationError(f"GEM export {period}: {report.findings[0].line()}")
        demo.say(
            f"exported the GEM files for {period} to {gem_dir / period}, signed; gem verify: OK"
        )


# The story, in order; each capability adds its step here.
STEPS: list[Callable[[DemoLedger], None]] = [
    members_step,
    shares_step,
    werk_step,
    levy_step,
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
    ledger = Ledger(store, clock=_Clock(datetime(2031, 1, 5, 9, 0, tzinfo=UTC)))
    gov, log = signers["governor"], signers["log"]
    charter = parse_charter(TEMPLATE)
    # The log key's memory beside the demo's key file (never $COOPLEDGER_LOG_STATE, which is
    # the memory of a real log key), so the CLI can go on appending to the demo ledger.
    memory = LogMemory.beside(keys_dir / "log.key", env={})
    ledger.found(genesis(ORIGIN, charter, gov, log, date(2031, 1, 5)), gov, log, memory)
    say("founded the ledger with the placeholder charter")

    grants: list[Command] = [
        governance.authorize_key(
            signers["coop-admin"].name, signers["coop-admin"].public_key, ("coop-admin",)
        ),
        governance.authorize_key(
            signers["werk-admin"].name, signers["werk-admin"].public_key, ("werk-admin",)
        ),
        governance.authorize_key(
            signers["levy-admin"].name, signers["levy-admin"].public_key, ("levy-admin",)
        ),
    ]
    ledger.append(grants, gov, log, request_id="demo-keys", memory=memory)
    say("authorised the cooperative, Werkcorporatie and levy administrators")

    demo = DemoLedger(ledger, signers, say, memory)
    for step in STEPS:
        step(demo)

    with store.reading() as tx:
        report = verify_store(tx)
        result.entries = report.entries
        result.ok = report.ok
        export_bundle(tx, bundle_dir)
    say(
        f"verified the database: {report.entries} entries, {report.checkpoints} checkpoints: {'OK' if report.ok else 'FAILED'}"
    )
    trusted = Verifier.from_public_key(log.name, log.public_key)
    result.vkey = trusted.key_text()
    bundle_report = verify_bundle(bundle_dir, trusted)
    result.bundle_ok = bundle_report.ok
    say(
        f"exported a bundle to {bundle_dir} and verified it offline: {'OK' if bundle_report.ok else 'FAILED'}"
    )
    store.dispose()
    return result
