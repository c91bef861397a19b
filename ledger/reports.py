"""Read-only reports over the projections and the log, shared by the CLI and the exports."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.encoding import loads
from ledger.errors import NotFoundError
from ledger.model import SignedEntry
from ledger.storage.store import ReadTx


def summarize(entry_body: dict[str, Any]) -> str:
    """A short human line for an entry body: its ids and amounts, nothing personal."""
    parts = []
    flat: dict[str, Any] = {}
    for key, value in entry_body.items():
        # A charter and a price computation's inputs are too long for one line: left out.
        if isinstance(value, dict) and key not in ("charter", "inputs"):
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
        raise NotFoundError(f"unknown member {member_id}")
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
        "holdings": holdings_of(tx, record.get("holdings", [])),
        "history": history,
    }


def holdings_of(tx: ReadTx, dwelling_ids: list[str]) -> dict[str, str]:
    """A member's dwelling shares, each with since when and the price paid (one line each)."""
    from ledger.money import format_eur

    out = {}
    for dwelling_id in dwelling_ids:
        record = tx.state.get("dwelling", dwelling_id)
        if record is not None:
            out[dwelling_id] = (
                f"held since {record['since']} (entry {record['since_seq']}), price paid "
                f"{format_eur(record['price_paid_cents'])}"
            )
    return out


def fund_report(tx: ReadTx, at: date | None = None) -> dict[str, Any]:
    """The fund's balance and every entry whose postings move it, with the other accounts, in
    order of effective date (a correction on the date of the entry it reverses), with the
    running balance by date; with `at`, only the movements up to the end of that date."""
    from ledger import dated
    from ledger.postings import FUND, balance
    from ledger.rules.corrections import effect_of
    from ledger.state import load_kinds

    kinds = [k for k, spec in load_kinds().items() if "postings" in spec.body.model_fields]
    moves = []
    for _seq, data in tx.entries(kinds=kinds):
        entry = SignedEntry.model_validate(loads(data)).entry
        postings = entry.body.get("postings", [])
        amount = sum(int(p["amount_cents"]) for p in postings if p["account"] == FUND)
        if amount == 0:
            continue
        on = entry.effective
        if entry.kind == "correction.applied":
            original = effect_of(tx.state, int(entry.body["seq"]))
            if original is not None:
                on = date.fromisoformat(original["effective"])
        if at is not None and on > at:
            continue
        moves.append((on, entry.seq, entry.kind, amount, postings))
    movements = []
    running = 0
    for on, seq, kind_name, amount, postings in sorted(moves, key=lambda m: (m[0], m[1])):
        running += amount
        movements.append(
            {
                "seq": seq,
                "effective": on.isoformat(),
                "kind": kind_name,
                "amount_cents": amount,
                "balance_cents": running,
                "counter_accounts": sorted({p["account"] for p in postings} - {FUND}),
            }
        )
    total = balance(tx.state, FUND) if at is None else dated.balance_on(tx.state, FUND, at)
    return {
        "at": None if at is None else at.isoformat(),
        "balance_cents": total,
        "movements": movements,
    }


def contribution_arrears_at(tx: ReadTx, at: date) -> list[dict[str, Any]]:
    """The open contribution charges at the end of `at`, per subject and month: the charges of
    the runs dated by then, less the payments dated by then (read from the log: a report).
    A payment that an edition-1 ledger allocated to a charge dated after it counts only once
    that charge is made."""
    opened: dict[tuple[str, str, str], dict[str, Any]] = {}
    payments: list[dict[str, Any]] = []
    for _seq, data in tx.entries(kinds=["contribution.charged", "contribution.paid"]):
        entry = SignedEntry.model_validate(loads(data)).entry
        if entry.effective > at:
            continue
        if entry.kind == "contribution.paid":
            payments.extend(entry.body["allocations"])
            continue
        for line in entry.body["lines"]:
            opened[(line["subject"], line["subject_kind"], entry.body["month"])] = {
                "subject": line["subject"],
                "subject_kind": line["subject_kind"],
                "district": line["district"],
                "month": entry.body["month"],
                "member": line.get("debtor") or line.get("member"),
                "due_cents": int(line["amount_cents"]),
                "charged_seq": entry.seq,
            }
    for part in payments:
        left = int(part["amount_cents"])
        for key in sorted(k for k in opened if (k[0], k[2]) == (part["subject"], part["month"])):
            paid = min(left, opened[key]["due_cents"])
            opened[key]["due_cents"] -= paid
            left -= paid
    return [opened[k] for k in sorted(opened) if opened[k]["due_cents"] > 0]
