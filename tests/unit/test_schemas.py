"""The JSON Schemas in schemas/ are generated from the models and must not drift from them."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import jsonschema

from ledger.charter import TEMPLATE

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "gen_schemas", ROOT / "scripts" / "gen_schemas.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_schemas_match_the_models() -> None:
    gen = _generator()
    expected = {name: gen.render(schema) for name, schema in gen.schemas().items()}
    on_disk = {
        str(p.relative_to(ROOT / "schemas")): p.read_text(encoding="utf-8")
        for p in (ROOT / "schemas").rglob("*.schema.json")
    }
    stale = sorted(n for n in expected if on_disk.get(n) != expected[n])
    extra = sorted(set(on_disk) - set(expected))
    assert not stale and not extra, (
        f"schemas/ drifted (run python scripts/gen_schemas.py): stale {stale}, extra {extra}"
    )


def test_charter_template_validates_against_the_schema() -> None:
    schema = json.loads((ROOT / "schemas" / "charter.schema.json").read_text())
    jsonschema.validate(tomllib.loads(TEMPLATE), schema)


def test_schema_rejects_a_float_rate() -> None:
    schema = json.loads((ROOT / "schemas" / "charter.schema.json").read_text())
    data = tomllib.loads(TEMPLATE)
    data["levy"]["rate"] = 0.3
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError:
        return
    raise AssertionError("a float rate must not validate: rates are decimal strings")
