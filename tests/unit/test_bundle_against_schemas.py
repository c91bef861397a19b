"""An outside JSON Schema validator accepts every entry of a bundle: envelope and body by kind."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from ledger.demo import build_demo

ROOT = Path(__file__).resolve().parents[2]


def test_demo_bundle_entries_validate_against_the_published_schemas(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    result = build_demo(str(tmp_path / "demo.db"), tmp_path / "keys", bundle, lambda _line: None)
    assert result.ok and result.bundle_ok
    envelope = json.loads((ROOT / "schemas" / "signed-entry.schema.json").read_text())
    kinds_seen = set()
    for line in (bundle / "entries.jsonl").read_bytes().splitlines():
        leaf = json.loads(line)
        jsonschema.validate(leaf, envelope)
        kind = leaf["entry"]["kind"]
        body_schema = json.loads((ROOT / "schemas" / "kinds" / f"{kind}.schema.json").read_text())
        jsonschema.validate(leaf["entry"]["body"], body_schema)
        kinds_seen.add(kind)
    assert {
        "ledger.founded",
        "member.admitted",
        "share.sold",
        "lease.granted",
        "property.sold",
    } <= kinds_seen
