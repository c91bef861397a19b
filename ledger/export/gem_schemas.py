"""JSON Schemas of the GEM files, generated from their column definitions (schemas/gem/)."""

from __future__ import annotations

from typing import Any

from ledger.export.gem import COLUMNS, FILES, FORMATS, GEM_FORMAT, Column

_BASE = "https://coop-ledger.example/schemas"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"

# What a CSV cell of each column type looks like (every cell is a string).
_CSV_PATTERNS = {
    "id": r"^[A-Za-z0-9][A-Za-z0-9._ -]*$",
    "int": r"^(0|[1-9][0-9]*)$",
    "money": r"^(0|[1-9][0-9]*)\.[0-9]{2}$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "month": r"^[0-9]{4}-(0[1-9]|1[0-2])$",
    "period": r"^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$",
}


def _csv_cell(column: Column) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if column.type == "enum":
        schema["enum"] = list(column.enum)
    elif column.type == "text":
        schema["minLength"] = 1
    elif column.type in _CSV_PATTERNS:
        schema["pattern"] = _CSV_PATTERNS[column.type]
    if column.description:
        schema["description"] = column.description
    return schema


def _json_value(column: Column) -> dict[str, Any]:
    schema: dict[str, Any]
    if column.type in ("int", "money"):
        # Every amount, balances included, is whole cents and never negative.
        schema = {"type": "integer", "minimum": 0}
    elif column.type == "optional-text":
        schema = {"type": ["string", "null"]}
    else:
        schema = _csv_cell(column)
        schema.pop("description", None)
    if column.description:
        schema["description"] = column.description
    return schema


def csv_row_schema(name: str) -> dict[str, Any]:
    """One CSV row read as an object of strings keyed by the header."""
    columns = COLUMNS[name]
    return {
        "$schema": _DRAFT,
        "$id": f"{_BASE}/gem/{name}.csv.schema.json",
        "title": f"GEM {name}.csv row",
        "description": "One data row of the CSV file, as an object keyed by the header "
        "(UTF-8, LF line endings, amounts in euros with two decimals).",
        "type": "object",
        "properties": {c.csv_name(): _csv_cell(c) for c in columns},
        "required": [c.csv_name() for c in columns],
        "additionalProperties": False,
    }


def json_file_schema(name: str) -> dict[str, Any]:
    columns = COLUMNS[name]
    return {
        "$schema": _DRAFT,
        "$id": f"{_BASE}/gem/{name}.json.schema.json",
        "title": f"GEM {name}.json",
        "description": "Amounts in integer cents.",
        "type": "object",
        "properties": {
            "format": {"const": GEM_FORMAT},
            "file": {"const": name},
            "period": {"type": "string", "pattern": _CSV_PATTERNS["period"]},
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {c.json_name(): _json_value(c) for c in columns},
                    "required": [c.json_name() for c in columns],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["format", "file", "period", "rows"],
        "additionalProperties": False,
    }


def manifest_schema() -> dict[str, Any]:
    names = [f"{name}.{fmt}" for fmt in FORMATS for name in FILES]
    file_entry = {
        "type": "object",
        "properties": {
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "bytes": {"type": "integer", "minimum": 0},
            "rows": {"type": "integer", "minimum": 0},
        },
        "required": ["sha256", "bytes", "rows"],
        "additionalProperties": False,
    }
    return {
        "$schema": _DRAFT,
        "$id": f"{_BASE}/gem/manifest.json.schema.json",
        "title": "GEM export manifest",
        "description": "Signed by the ledger's log key: Ed25519 over "
        "'coop-ledger/gem-manifest/v1\\n' + RFC 8785 bytes of the manifest without 'signature'.",
        "type": "object",
        "properties": {
            "format": {"const": GEM_FORMAT},
            "origin": {"type": "string", "minLength": 1},
            "period": {"type": "string", "pattern": _CSV_PATTERNS["period"]},
            "period_start": {"type": "string", "pattern": _CSV_PATTERNS["date"]},
            "period_end": {"type": "string", "pattern": _CSV_PATTERNS["date"]},
            "tree_size": {"type": "integer", "minimum": 1},
            "root_hash": {"type": "string", "pattern": "^[A-Za-z0-9+/]{43}=$"},
            "checkpoint": {"type": "string", "description": "C2SP signed note"},
            "formats": {
                "type": "array",
                "items": {"enum": list(FORMATS)},
                "minItems": 1,
                "uniqueItems": True,
            },
            "files": {
                "type": "object",
                "propertyNames": {"enum": names},
                "additionalProperties": file_entry,
            },
            "signature": {
                "type": "object",
                "properties": {
                    "key_id": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "context": {"const": "coop-ledger/gem-manifest/v1"},
                    "sig": {"type": "string", "pattern": "^[A-Za-z0-9+/]{86}==$"},
                },
                "required": ["key_id", "context", "sig"],
                "additionalProperties": False,
            },
        },
        "required": [
            "format",
            "origin",
            "period",
            "period_start",
            "period_end",
            "tree_size",
            "root_hash",
            "checkpoint",
            "formats",
            "files",
            "signature",
        ],
        "additionalProperties": False,
    }


def schemas() -> dict[str, dict[str, Any]]:
    """Path under schemas/ -> schema, for every file a GEM export holds."""
    out: dict[str, dict[str, Any]] = {"gem/manifest.json.schema.json": manifest_schema()}
    for name in FILES:
        out[f"gem/{name}.csv.schema.json"] = csv_row_schema(name)
        out[f"gem/{name}.json.schema.json"] = json_file_schema(name)
    return out


def schema_for(file_name: str) -> dict[str, Any]:
    """The schema an exported file (or, for CSV, each of its rows) validates against."""
    return schemas()[f"gem/{file_name}.schema.json"]
