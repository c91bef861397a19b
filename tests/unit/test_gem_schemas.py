"""The GEM files' JSON Schemas in schemas/gem/ are generated from the column definitions."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from ledger.export.gem_schemas import schema_for, schemas

ROOT = Path(__file__).resolve().parents[2]


def render(schema: dict[str, object]) -> str:
    # The same rendering as scripts/gen_schemas.py, which writes these files.
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_gem_schemas_do_not_drift() -> None:
    on_disk = {
        f"gem/{p.name}": p.read_text(encoding="utf-8")
        for p in (ROOT / "schemas" / "gem").glob("*.schema.json")
    }
    expected = {name: render(schema) for name, schema in schemas().items()}
    assert on_disk == expected, "schemas/gem drifted: run python scripts/gen_schemas.py"


def test_every_gem_schema_is_a_valid_draft_2020_12_schema() -> None:
    for name, schema in schemas().items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(name), name


def test_a_csv_row_with_a_cent_amount_in_euros_is_refused() -> None:
    row = {
        "row_id": "levy-7",
        "seq": "7",
        "movement": "assessed",
        "date": "2032-02-14",
        "sale_seq": "7",
        "property_id": "P-1",
        "district": "Pampus-Haven",
        "property_kind": "home",
        "amount_eur": "13500.00",
        "ref": "deed-1",
    }
    jsonschema.validate(row, schema_for("levy.csv"))
    for bad in ("13500", "13500.0", "-1.00", "1,00"):
        try:
            jsonschema.validate({**row, "amount_eur": bad}, schema_for("levy.csv"))
        except jsonschema.ValidationError:
            continue
        raise AssertionError(f"amount_eur {bad!r} must not validate")
