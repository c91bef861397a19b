"""A ledger written before issue 12's points 6 and 7 (library at 8baf6cc, a version-1 charter:
a lease granted and indexed by a typed rent, a contribution run over a home, a dwelling and a
leased workspace, a payment) still verifies, and replays to projections of the old shape."""

from __future__ import annotations

import json
from pathlib import Path

from ledger import note
from ledger.rules.werk import LeaseGranted, LeaseIndexed
from ledger.verify.bundle import verify_bundle

BUNDLE = Path(__file__).resolve().parents[1] / "vectors" / "ledgers" / "edition-1-leases"
VKEY = (BUNDLE.parent / "edition-1-leases.vkey").read_text(encoding="utf-8").strip()


def test_the_edition_1_bundle_verifies() -> None:
    report = verify_bundle(BUNDLE, note.parse_verifier_key(VKEY))
    assert report.ok, report.findings[:3]


def test_edition_1_bodies_keep_their_normal_form() -> None:
    """The edition-2 fields are absent from version-1 bodies, and parsing and dumping such a
    body gives back exactly its signed form."""
    kinds = {}
    for line in (BUNDLE / "entries.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)["entry"]
        kinds[entry["kind"]] = entry["body"]
    granted, indexed = kinds["lease.granted"], kinds["lease.indexed"]
    assert "lease_type" not in granted and "formula_cents" not in indexed
    assert LeaseGranted.model_validate(granted).model_dump(mode="json") == granted
    assert LeaseIndexed.model_validate(indexed).model_dump(mode="json") == indexed
    charged = kinds["contribution.charged"]
    assert "beneficiary" not in charged
    assert all("debtor" not in line for line in charged["lines"])
    assert "W-1" in [line["subject"] for line in charged["lines"]]
    charter = kinds["ledger.founded"]["charter"]
    assert charter["version"] == 1 and "beneficiary" not in charter["contribution"]
