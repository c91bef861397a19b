"""Read-only reports over the projections and the log, shared by the CLI and the exports."""

from __future__ import annotations

from typing import Any

from ledger.encoding import loads
from ledger.errors import NotFound
from ledger.model import SignedEntry
from ledger.storage.store import ReadTx


def summarize(entry_body: dict[str, Any]) -> str:
    """A short human line for an entry body: its ids and amounts, nothing personal."""
    parts = []
    flat: dict[str, Any] = {}
    for key, value in entry_body.items():
        if isinstance(value, dict) and key != "charter":
            flat.update({k: v for k, v in value.items() if k not in flat})
        else:
            flat[key] = value
    for key, value in flat.items():
        if isinstance(value, dict | list) or value is None:
            continue
        if key in ("commitment", "public_key"):
            continue
        parts.append(f"{key}={value}")
    return " ".join(parts)[:160]


def member_rows(tx: ReadTx) -> list[dict[str, Any]]:
    rows = []
    for member_id, record in tx.state.scan("member"):
        rows.append(
            {
                "member_id": member_id,
                "member_kind": record["member_kind"],
                "admitted_on": record["admitted_on"],
                "admitted_seq": record["admitted_seq"],
                "district": record.get("district"),
                "status": "personal data erased"
                if record["forgotten_seq"] is not None
                else "active",
            }
        )
    rows.sort(key=lambda r: r["admitted_seq"])
    return rows


def member_report(tx: ReadTx, member_id: str) -> dict[str, Any]:
    record = tx.state.get("member", member_id)
    if record is None:
        raise NotFound(f"unknown member {member_id}")
    stored = tx.member_data(member_id)
    if stored is None or stored[1] is None:
        personal: Any = (
            f"erased at entry {record['forgotten_seq']}"
            if record["forgotten_seq"] is not None
            else "none"
        )
    else:
        personal = loads(stored[1])
    history = []
    for seq in record.get("history", [record["admitted_seq"]]):
        data = tx.entry(int(seq))
        if data is None:
            continue
        entry = SignedEntry.model_validate(loads(data)).entry
        history.append(
            {
                "seq": entry.seq,
                "kind": entry.kind,
                "effective": entry.effective.isoformat(),
                "summary": summarize(entry.body),
            }
        )
    return {
        "member_id": member_id,
        "member_kind": record["member_kind"],
        "admitted_on": record["admitted_on"],
        "admitted_seq": record["admitted_seq"],
        "founded": record.get("founded"),
        "district": record.get("district"),
        "commitment": record["commitment"],
        "personal_data": personal,
        **{k: v for k, v in record.items() if k in ("holdings",)},
        "history": history,
    }
