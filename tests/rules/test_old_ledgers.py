"""Ledgers written under earlier rules keep verifying, with the amounts they were written with
(issue 12 point 10, decision 0016; the fixture is described in its ABOUT.md)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ledger.note import parse_verifier_key
from ledger.verify.bundle import verify_bundle

EDITION_1 = Path(__file__).resolve().parents[1] / "vectors" / "ledgers" / "edition-1-demo"
VKEY = "pampus.example/coop+0c5351b2+AQ/HCnXbKK9CuNZnJQSvwRk+bVk3DlTplqVsnjxhtC37"
ROOT = "jZA5exwUcunlLApFoTw0WFOb0b67ozFew9PFOdw44ZE="


def test_the_edition_1_demo_still_verifies_byte_for_byte() -> None:
    report = verify_bundle(EDITION_1, parse_verifier_key(VKEY))
    assert report.ok, [f.line() for f in report.findings]
    assert report.tree_size == 60
    assert base64.b64encode(report.root_hash).decode() == ROOT


def test_the_edition_1_demo_was_written_under_a_version_1_charter() -> None:
    first = json.loads((EDITION_1 / "entries.jsonl").read_text().splitlines()[0])
    assert first["entry"]["kind"] == "ledger.founded"
    assert first["entry"]["body"]["charter"]["version"] == 1


def test_a_changed_amount_in_the_edition_1_demo_is_refused(tmp_path: Path) -> None:
    """The replay recomputes the amounts: the fixture is a real check, not a byte comparison."""
    for name in ("checkpoint", "checkpoints.jsonl", "manifest.json"):
        (tmp_path / name).write_bytes((EDITION_1 / name).read_bytes())
    lines = (EDITION_1 / "entries.jsonl").read_text().splitlines(keepends=True)
    sold = next(i for i, line in enumerate(lines) if '"kind":"share.sold"' in line)
    entry = json.loads(lines[sold])
    body = entry["entry"]["body"]
    assert "price_cents" in body
    lines[sold] = lines[sold].replace(
        f'"price_cents":{body["price_cents"]}', f'"price_cents":{body["price_cents"] - 1}'
    )
    (tmp_path / "entries.jsonl").write_text("".join(lines))
    report = verify_bundle(tmp_path, parse_verifier_key(VKEY))
    seq = entry["entry"]["seq"]
    rule_findings = [f for f in report.findings if f.code == "rule" and f.seq == seq]
    assert rule_findings and "differs from the" in rule_findings[0].message
