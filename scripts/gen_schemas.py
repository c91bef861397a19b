"""Regenerate the JSON Schemas in schemas/ from the pydantic models (tests fail on drift)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def schemas() -> dict[str, dict[str, Any]]:
    """File name under schemas/ -> schema, for every model an outside tool reads."""
    from ledger.charter import Charter
    from ledger.model import SignedEntry
    from ledger.state import load_kinds

    out: dict[str, dict[str, Any]] = {
        "charter.schema.json": _tag(Charter.model_json_schema(), "charter"),
        "signed-entry.schema.json": _tag(SignedEntry.model_json_schema(), "signed-entry"),
    }
    for name, spec in sorted(load_kinds().items()):
        out[f"kinds/{name}.schema.json"] = _tag(
            spec.body.model_json_schema(mode="serialization"), f"kinds/{name}"
        )
    try:
        from ledger.export import gem_schemas
    except ImportError:
        pass
    else:
        out.update(gem_schemas.schemas())
    return out


def _tag(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://coop-ledger.example/schemas/{name}.schema.json",
        **schema,
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    target = ROOT / "schemas"
    for name, schema in schemas().items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
