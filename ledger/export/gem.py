"""GEM files: levy and contribution totals and detail lines per period, with a signed manifest."""

# The files are a pure function of the entries up to a signed checkpoint, so an export from the
# database and a recomputation from an auditor's bundle give the same bytes. Format, period
# rules and row ids: docs/decisions/0007-levy-contributions-gem.md.

from __future__ import annotations

import base64
import calendar
import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import orjson

from ledger import limits, merkle, note
from ledger.encoding import canonical
from ledger.errors import InputError, KeyFileError, LedgerError, NotFoundError, UsageError
from ledger.files import check_folder, new_folder
from ledger.keys import Signer, key_id, verify_signature
from ledger.kinds import GEM_KINDS
from ledger.model import Entry, decode_leaf
from ledger.money import format_eur
from ledger.state import META
from ledger.storage.store import ReadTx
from ledger.verify.bundle import read_manifest as read_manifest_file

GEM_FORMAT = "coop-ledger-gem/v3"
MANIFEST = "manifest.json"
MANIFEST_CONTEXT = b"coop-ledger/gem-manifest/v1\n"
FORMATS = ("csv", "json")
FILES = ("totals", "levy", "contributions")
# A correction of one of these kinds reverses its levy movement (the others are not GEM's).
LEVY_MOVEMENTS = {"property.sold": "assessed", "levy.paid": "paid", "levy.waived": "waived"}
PROPERTY_KINDS = ("home", "commercial", "plot", "dwelling", "workspace", "workplace")

_PERIOD_RE = re.compile(r"^([0-9]{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")


# -- periods -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar year, quarter or month: its label and first and last day (inclusive)."""

    label: str
    start: date
    end: date

    @property
    def first_month(self) -> str:
        return self.start.isoformat()[:7]

    @property
    def last_month(self) -> str:
        return self.end.isoformat()[:7]


def parse_period(text: str) -> Period:
    """ "2032" (a year), "2032-Q1" (a quarter) or "2032-01" (a month)."""
    match = _PERIOD_RE.match(text.strip())
    if match is None:
        raise UsageError(
            f"period {text!r} is not a year, quarter or month (2032, 2032-Q1, 2032-01)"
        )
    year = int(match.group(1))
    if year < 1:
        raise UsageError(f"period {text!r}: year 0 is not a calendar year")
    if match.group(2):
        first = last = int(match.group(2))
    elif match.group(3):
        last = int(match.group(3)) * 3
        first = last - 2
    else:
        first, last = 1, 12
    start = date(year, first, 1)
    end = date(year, last, calendar.monthrange(year, last)[1])
    return Period(match.group(0), start, end)


# -- columns: one definition for the CSV header, the JSON fields and the schemas ---------------


@dataclass(frozen=True)
class Column:
    """A column of a GEM file; money columns are "<name>_eur" in CSV, "<name>_cents" in JSON."""

    name: str
    type: str  # id | int | money | date | month | period | text | optional-text | enum
    enum: tuple[str, ...] = ()
    description: str = ""

    def csv_name(self) -> str:
        return f"{self.name}_eur" if self.type == "money" else self.name

    def json_name(self) -> str:
        return f"{self.name}_cents" if self.type == "money" else self.name


COLUMNS: dict[str, tuple[Column, ...]] = {
    "totals": (
        Column("row_id", "id", description="total-<period>-<district>-<property kind>"),
        Column("period", "period"),
        Column("district", "text"),
        Column("property_kind", "enum", PROPERTY_KINDS),
        Column("sales", "int", description="property sales dated in the period"),
        Column("sales_reversed", "int", description="sales dated in the period, since corrected"),
        Column("levy_assessed", "money"),
        Column("levy_paid", "money"),
        Column("levy_waived", "money"),
        Column(
            "levy_assessed_reversed", "money", description="of sales dated in the period, corrected"
        ),
        Column(
            "levy_paid_reversed", "money", description="of payments dated in the period, corrected"
        ),
        Column(
            "levy_waived_reversed", "money", description="of waivers dated in the period, corrected"
        ),
        Column("levy_outstanding_at_start", "money"),
        Column("levy_outstanding", "money", description="at the end of the period"),
        Column("contributions_charged", "money", description="for the months of the period"),
        Column("contributions_paid", "money", description="payments dated in the period"),
        Column("contributions_in_arrears_at_start", "money"),
        Column("contributions_in_arrears", "money", description="at the end of the period"),
    ),
    "levy": (
        Column("row_id", "id", description="levy-<seq>"),
        Column("seq", "int"),
        Column(
            "movement",
            "enum",
            ("assessed", "paid", "waived", "assessed-reversed", "paid-reversed", "waived-reversed"),
        ),
        Column("date", "date"),
        Column("sale_seq", "int"),
        Column("property_id", "text"),
        Column("district", "text"),
        Column("property_kind", "enum", PROPERTY_KINDS[:4]),
        Column("amount", "money"),
        Column("ref", "text", description="deed, payment reference, waiver or correction reason"),
    ),
    "contributions": (
        Column("row_id", "id", description="contrib-<seq>-<subject>[-<month>]"),
        Column("seq", "int"),
        Column("movement", "enum", ("charged", "paid")),
        Column("date", "date"),
        Column("month", "month"),
        Column("subject", "text"),
        Column("property_kind", "enum", ("home", "dwelling", "workspace", "workplace")),
        Column("district", "text"),
        Column("member", "optional-text"),
        Column(
            "debtor",
            "optional-text",
            description="who owes the charge (charter version 2; empty under version 1)",
        ),
        Column("amount", "money"),
        Column("ref", "optional-text", description="payment reference"),
    ),
}


# -- the computation ---------------------------------------------------------------------------

_TOTAL_FIELDS = tuple(c.name for c in COLUMNS["totals"][4:])


@dataclass
class GemData:
    """The rows of the three files, amounts in cents (a pure function of entries and period)."""

    period: Period
    totals: list[dict[str, Any]] = field(default_factory=list)
    levy: list[dict[str, Any]] = field(default_factory=list)
    contributions: list[dict[str, Any]] = field(default_factory=list)

    def rows(self, name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = getattr(self, name)
        return rows


def compute(entries: Iterable[Entry], period: Period) -> GemData:
    """Totals and detail lines for `period` from the entries in log order (other kinds are
    skipped, so the caller may pass the whole log or only GEM_KINDS).

    A fold over the log, not a read of the projections: the GEM's finance officer recomputes
    the files from a bundle alone (`gem verify --bundle`), and the rows are movements dated
    in the period, which no projection keeps."""
    fold = _GemFold(period)
    for entry in entries:
        step = _GemFold.STEPS.get(entry.kind)
        if step is not None:
            step(fold, entry)
    return fold.finish()


class _GemFold:
    """The running sums and rows of compute(): one step per entry kind the GEM reads."""

    def __init__(self, period: Period) -> None:
        self.period = period
        self.data = GemData(period)
        self.sales: dict[int, tuple[str, str, str]] = {}  # seq -> property id, district, kind
        # seq of a sale, payment or waiver -> its movement, sale seq, amount and date (for a
        # correction)
        self.movements: dict[int, tuple[str, int, int, date]] = {}
        # (subject, month) -> kind, district, debtor (None under a version-1 charter)
        self.charged: dict[tuple[str, str], tuple[str, str, str | None]] = {}
        self.sums: dict[tuple[str, str], dict[str, int]] = {}

    def bucket(self, district: str, kind: str) -> dict[str, int]:
        return self.sums.setdefault((district, kind), dict.fromkeys(_TOTAL_FIELDS, 0))

    def when(self, day: date) -> int:
        """-1 before the period, 0 in it, 1 after it."""
        return -1 if day < self.period.start else (0 if day <= self.period.end else 1)

    def sold(self, entry: Entry) -> None:
        body, seq = entry.body, entry.seq
        sale = (body["property_id"], body["district"], body["property_kind"])
        self.sales[seq] = sale
        amount = int(body["levy"]["levy_cents"])
        self.movements[seq] = ("assessed", seq, amount, entry.effective)
        sums_at = self.bucket(sale[1], sale[2])
        place = self.when(entry.effective)
        if place < 0:
            sums_at["levy_outstanding_at_start"] += amount
        elif place == 0:
            sums_at["sales"] += 1
            sums_at["levy_assessed"] += amount
            self.data.levy.append(_levy_row(entry, "assessed", seq, sale, amount, body["deed_ref"]))

    def paid_or_waived(self, entry: Entry) -> None:
        body = entry.body
        sale_seq = int(body["sale_seq"])
        sale = self.sales[sale_seq]
        amount = int(body["amount_cents"])
        movement = "paid" if entry.kind == "levy.paid" else "waived"
        self.movements[entry.seq] = (movement, sale_seq, amount, entry.effective)
        sums_at = self.bucket(sale[1], sale[2])
        place = self.when(entry.effective)
        if place < 0:
            sums_at["levy_outstanding_at_start"] -= amount
        elif place == 0:
            sums_at[f"levy_{movement}"] += amount
            ref = body["ref"] if movement == "paid" else body["reason"]
            self.data.levy.append(_levy_row(entry, movement, sale_seq, sale, amount, ref))

    def corrected(self, entry: Entry) -> None:
        """A corrected movement never happened: its reversal counts on the original's date (so
        no balance, on any day, holds a movement that was undone). An assessment reversed
        lowers what is outstanding, a payment or waiver reversed raises it."""
        body = entry.body
        if body["kind"] not in LEVY_MOVEMENTS:
            return
        movement, sale_seq, amount, on = self.movements[int(body["seq"])]
        sale = self.sales[sale_seq]
        sums_at = self.bucket(sale[1], sale[2])
        place = self.when(on)
        if place < 0:
            sign = -1 if movement == "assessed" else 1
            sums_at["levy_outstanding_at_start"] += sign * amount
        elif place == 0:
            sums_at[f"levy_{movement}_reversed"] += amount
            sums_at["sales_reversed"] += movement == "assessed"
            row = _levy_row(
                entry, f"{movement}-reversed", sale_seq, sale, amount, body["reason"], on
            )
            self.data.levy.append(row)

    def contribution_charged(self, entry: Entry) -> None:
        month = entry.body["month"]
        for line in entry.body["lines"]:
            debtor = line.get("debtor")
            self.charged[(line["subject"], month)] = (
                line["subject_kind"],
                line["district"],
                debtor,
            )
            sums_at = self.bucket(line["district"], line["subject_kind"])
            amount = int(line["amount_cents"])
            if month < self.period.first_month:
                sums_at["contributions_in_arrears_at_start"] += amount
            elif month <= self.period.last_month:
                sums_at["contributions_charged"] += amount
                row_id = f"contrib-{entry.seq}-{line['subject']}"
                charge = (line["subject_kind"], line["district"], debtor)
                self.data.contributions.append(
                    _contribution_row(entry, row_id, "charged", month, line["subject"], charge)
                    | {"member": line["member"], "amount": amount, "ref": None}
                )

    def contribution_paid(self, entry: Entry) -> None:
        body = entry.body
        place = self.when(entry.effective)
        for part in body["allocations"]:
            charge = self.charged[(part["subject"], part["month"])]
            sums_at = self.bucket(charge[1], charge[0])
            amount = int(part["amount_cents"])
            if place < 0:
                sums_at["contributions_in_arrears_at_start"] -= amount
            elif place == 0:
                sums_at["contributions_paid"] += amount
                row_id = f"contrib-{entry.seq}-{part['subject']}-{part['month']}"
                self.data.contributions.append(
                    _contribution_row(entry, row_id, "paid", part["month"], part["subject"], charge)
                    | {"member": body["member"], "amount": amount, "ref": body["ref"]}
                )

    STEPS: ClassVar[dict[str, Callable[[_GemFold, Entry], None]]] = {
        "property.sold": sold,
        "levy.paid": paid_or_waived,
        "levy.waived": paid_or_waived,
        "correction.applied": corrected,
        "contribution.charged": contribution_charged,
        "contribution.paid": contribution_paid,
    }

    def finish(self) -> GemData:
        """The totals of every district and property kind with anything to report, rows sorted."""
        period, data = self.period, self.data
        for (district, kind), s in sorted(self.sums.items()):
            s["levy_outstanding"] = (
                s["levy_outstanding_at_start"]
                + s["levy_assessed"]
                - s["levy_assessed_reversed"]
                - s["levy_paid"]
                + s["levy_paid_reversed"]
                - s["levy_waived"]
                + s["levy_waived_reversed"]
            )
            s["contributions_in_arrears"] = (
                s["contributions_in_arrears_at_start"]
                + s["contributions_charged"]
                - s["contributions_paid"]
            )
            if not any(s.values()):
                continue
            data.totals.append(
                {
                    "row_id": f"total-{period.label}-{district}-{kind}",
                    "period": period.label,
                    "district": district,
                    "property_kind": kind,
                    **s,
                }
            )
        data.levy.sort(key=lambda r: (r["seq"], r["row_id"]))
        data.contributions.sort(key=lambda r: (r["seq"], r["row_id"]))
        return data


def _contribution_row(
    entry: Entry,
    row_id: str,
    movement: str,
    month: str,
    subject: str,
    charge: tuple[str, str, str | None],
) -> dict[str, Any]:
    """The columns of a contributions row that a charge and a payment fill alike."""
    kind, district, debtor = charge
    return {
        "row_id": row_id,
        "seq": entry.seq,
        "movement": movement,
        "date": entry.effective.isoformat(),
        "month": month,
        "subject": subject,
        "property_kind": kind,
        "district": district,
        "debtor": debtor,
    }


def _levy_row(
    entry: Entry,
    movement: str,
    sale_seq: int,
    sale: tuple[str, str, str],
    amount: int,
    ref: str,
    on: date | None = None,
) -> dict[str, Any]:
    """One row of the levy file; `on` is the date it counts on (default: the entry's)."""
    return {
        "row_id": f"levy-{entry.seq}",
        "seq": entry.seq,
        "movement": movement,
        "date": (on or entry.effective).isoformat(),
        "sale_seq": sale_seq,
        "property_id": sale[0],
        "district": sale[1],
        "property_kind": sale[2],
        "amount": amount,
        "ref": ref,
    }


# -- rendering ---------------------------------------------------------------------------------


def render_csv(name: str, rows: list[dict[str, Any]]) -> bytes:
    columns = COLUMNS[name]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.csv_name() for c in columns])
    for row in rows:
        writer.writerow([_csv_value(c, row[c.name]) for c in columns])
    return out.getvalue().encode("utf-8")


def _csv_value(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.type == "money":
        return format_eur(int(value))
    return str(value)


def render_json(name: str, period: Period, rows: list[dict[str, Any]]) -> bytes:
    columns = COLUMNS[name]
    document = {
        "format": GEM_FORMAT,
        "file": name,
        "period": period.label,
        "rows": [{c.json_name(): row[c.name] for c in columns} for row in rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def render(data: GemData, formats: Iterable[str]) -> dict[str, bytes]:
    """File name -> bytes, for every file in the chosen formats."""
    out: dict[str, bytes] = {}
    for fmt in formats:
        for name in FILES:
            rows = data.rows(name)
            out[f"{name}.{fmt}"] = (
                render_csv(name, rows) if fmt == "csv" else render_json(name, data.period, rows)
            )
    return dict(sorted(out.items()))


def parse_formats(text: str) -> tuple[str, ...]:
    chosen = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise UsageError(f"--format {text!r}: expected csv, json or csv,json")
    return tuple(f for f in FORMATS if f in chosen)


# -- the manifest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpointed:
    """Where an export was computed: the ledger's origin and a signed checkpoint."""

    origin: str
    tree_size: int
    root_hash: bytes
    note: str


def manifest_body(
    data: GemData, files: dict[str, bytes], formats: tuple[str, ...], at: Checkpointed
) -> dict[str, Any]:
    return {
        "format": GEM_FORMAT,
        "origin": at.origin,
        "period": data.period.label,
        "period_start": data.period.start.isoformat(),
        "period_end": data.period.end.isoformat(),
        "tree_size": at.tree_size,
        "root_hash": base64.b64encode(at.root_hash).decode("ascii"),
        "checkpoint": at.note,
        "formats": list(formats),
        "files": {
            name: {
                "sha256": hashlib.sha256(content).hexdigest(),
                "bytes": len(content),
                "rows": len(data.rows(name.split(".")[0])),
            }
            for name, content in files.items()
        },
    }


def manifest_message(body: dict[str, Any]) -> bytes:
    """What the log key signs: a context string that no entry or note signature uses, then
    the manifest's RFC 8785 bytes without its signature."""
    return MANIFEST_CONTEXT + canonical(body)


def render_manifest(body: dict[str, Any], signer: Signer) -> bytes:
    signature = {
        "key_id": signer.key_id,
        "context": MANIFEST_CONTEXT.decode("ascii").strip(),
        "sig": base64.b64encode(signer.sign(manifest_message(body))).decode("ascii"),
    }
    manifest = {**body, "signature": signature}
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


# -- export from the database ------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    directory: Path
    period: str
    tree_size: int
    files: dict[str, int]  # file name -> rows


def ledger_checkpoint(tx: ReadTx, size: int | None = None) -> Checkpointed:
    found = tx.checkpoint(size)
    if found is None:
        what = "any" if size is None else f"a checkpoint at tree size {size}"
        raise NotFoundError(f"the ledger has no signed checkpoint ({what}): nothing to export")
    meta = tx.state.get(META, "ledger")
    if meta is None:
        raise NotFoundError("this ledger has no genesis entry: run coopledger init")
    return Checkpointed(str(meta["origin"]), found[0], found[1], found[2])


# How each GEM kind appears in a leaf's canonical bytes: entries are chosen by their signed
# bytes, never by the `kind` index column, which an insider can edit (issue 11, defect 2).
_KIND_MARKERS = tuple(f'"kind":"{k}"'.encode() for k in GEM_KINDS)


def store_entries(tx: ReadTx, size: int) -> Iterator[Entry]:
    for seq, data in tx.entries(0, size):
        if any(marker in data for marker in _KIND_MARKERS):
            entry = decode_leaf(data, f"entry {seq}").entry
            if entry.kind in GEM_KINDS:
                yield entry


def export_gem(
    tx: ReadTx,
    period: Period,
    directory: Path,
    log_signer: Signer,
    formats: tuple[str, ...] = FORMATS,
) -> Exported:
    """Compute the GEM files at the latest checkpoint, sign the manifest, write the directory."""
    meta = tx.state.get(META, "ledger")
    if meta is not None and log_signer.key_id != meta["log_key_id"]:
        raise KeyFileError(
            f"log key {log_signer.name} ({log_signer.key_id[:16]}) is not this ledger's log key "
            f"({meta['log_key_id'][:16]})"
        )
    manifest_path = directory / MANIFEST
    if manifest_path.is_symlink() or manifest_path.exists():
        raise InputError(f"{directory} already holds a GEM export; export into a new directory")
    check_folder(directory, "GEM export folder")
    at = ledger_checkpoint(tx)
    data = compute(store_entries(tx, at.tree_size), period)
    files = render(data, formats)
    manifest = render_manifest(manifest_body(data, files, formats, at), log_signer)
    # Built aside and renamed into place: a folder by this name is a complete export.
    with new_folder(directory, "GEM export folder") as folder:
        for name, content in files.items():
            folder.write(name, content)
        folder.write(MANIFEST, manifest)
    return Exported(
        directory, period.label, at.tree_size, {n: len(data.rows(n.split(".")[0])) for n in files}
    )


# -- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GemFinding:
    file: str
    row: str | None
    message: str

    def line(self) -> str:
        return f"{self.file}: {'' if self.row is None else f'row {self.row}: '}{self.message}"


@dataclass
class GemReport:
    directory: Path
    period: str = ""
    tree_size: int = 0
    files: int = 0
    rows: int = 0
    findings: list[GemFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, file: str, row: str | None, message: str) -> None:
        self.findings.append(GemFinding(file, row, message))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "directory": str(self.directory),
            "period": self.period,
            "tree_size": self.tree_size,
            "files_checked": self.files,
            "rows_checked": self.rows,
            "findings": [
                {"file": f.file, "row": f.row, "message": f.message} for f in self.findings
            ],
        }


def read_manifest(directory: Path) -> dict[str, Any]:
    manifest = read_manifest_file(directory, MANIFEST, GEM_FORMAT, "a GEM export")
    path = directory / MANIFEST
    for name, kind in (
        ("period", str),
        ("tree_size", int),
        ("checkpoint", str),
        ("formats", list),
        ("files", dict),
        ("signature", dict),
    ):
        if not isinstance(manifest.get(name), kind):
            raise InputError(f"{path}: {name} is missing or not a {kind.__name__}")
    return manifest


def verify_export(
    directory: Path,
    log_key: note.Verifier,
    entries_at: Any,
    ledger_root_at: Any,
) -> GemReport:
    """Check the manifest's signature and checkpoint against the log key, recompute the files
    from the ledger's entries at the manifest's tree size, and compare file by file, row by row.

    entries_at(size) yields the ledger's entries below `size`; ledger_root_at(size) gives the
    ledger's root hash at that size (None when it has no such size)."""
    report = GemReport(directory)
    manifest = read_manifest(directory)
    report.period = str(manifest["period"])
    report.tree_size = int(manifest["tree_size"])
    body = {k: v for k, v in manifest.items() if k != "signature"}
    _check_signature(report, manifest["signature"], body, log_key)
    try:
        cp = note.open_checkpoint(manifest["checkpoint"], log_key)
    except LedgerError as e:
        report.add(MANIFEST, None, f"checkpoint: {e}")
        return report
    if cp.tree_size != report.tree_size:
        report.add(
            MANIFEST, None, f"tree_size is {report.tree_size}, the checkpoint signs {cp.tree_size}"
        )
        return report
    root = ledger_root_at(cp.tree_size)
    if root is None:
        report.add(MANIFEST, None, f"the ledger has no tree of size {cp.tree_size}")
        return report
    if root != cp.root_hash:
        report.add(
            MANIFEST,
            None,
            f"the checkpoint's root differs from the ledger's at size {cp.tree_size}",
        )
        return report
    period = parse_period(report.period)
    try:
        formats = parse_formats(",".join(str(f) for f in manifest["formats"]))
    except UsageError as e:
        report.add(MANIFEST, None, str(e))
        return report
    data = compute(entries_at(cp.tree_size), period)
    expected_files = render(data, formats)
    at = Checkpointed(
        str(manifest.get("origin")), cp.tree_size, cp.root_hash, manifest["checkpoint"]
    )
    expected_body = manifest_body(data, expected_files, formats, at)
    origin = manifest.get("origin")
    if origin != log_key.name:
        report.add(MANIFEST, None, f"origin is {origin!r}, the ledger's is {log_key.name!r}")
    for key in sorted(set(expected_body) | set(body)):
        if key != "files" and body.get(key) != expected_body.get(key):
            report.add(
                MANIFEST,
                None,
                f"{key} is {body.get(key)!r}, the ledger gives {expected_body.get(key)!r}",
            )
    listed = manifest["files"]
    for name in sorted(set(listed) - set(expected_files)):
        report.add(name, None, "is listed in the manifest but is not part of this export")
    for name, expected in expected_files.items():
        report.files += 1
        report.rows += len(data.rows(name.split(".")[0]))
        _check_file(report, directory, name, expected, listed.get(name))
    return report


def _check_signature(
    report: GemReport, signature: dict[str, Any], body: dict[str, Any], log_key: note.Verifier
) -> None:
    if signature.get("key_id") != key_id(log_key.public_key):
        report.add(MANIFEST, None, "is not signed by the ledger's log key")
        return
    try:
        sig = base64.b64decode(str(signature.get("sig", "")), validate=True)
        verify_signature(log_key.public_key, sig, manifest_message(body))
    except (LedgerError, ValueError):
        report.add(
            MANIFEST, None, f"signature does not verify with the log key {log_key.key_text()}"
        )


def _check_file(
    report: GemReport, directory: Path, name: str, expected: bytes, listed: Any
) -> None:
    if not os.path.lexists(directory / name):
        report.add(name, None, "is missing")
        return
    actual = limits.read_bytes(directory / name, "GEM file", limits.GEM_FILE_BYTES)
    if not isinstance(listed, dict):
        report.add(name, None, "is not listed in the manifest")
    elif hashlib.sha256(actual).hexdigest() != listed.get("sha256"):
        report.add(name, None, "SHA-256 differs from the manifest")
    if actual != expected:
        for row, message in _diff_rows(name, actual, expected):
            report.add(name, row, message)


def _rows_of(name: str, content: bytes) -> list[dict[str, Any]]:
    fmt = name.rsplit(".", 1)[1]
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(content.decode("utf-8")))
        return [dict(r) for r in reader]
    document = orjson.loads(content)  # a ValueError, depth-bounded (limits.JSON_DEPTH)
    rows = document.get("rows") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise ValueError("no rows array")
    return [r for r in rows if isinstance(r, dict)]


def _diff_rows(name: str, actual: bytes, expected: bytes) -> list[tuple[str | None, str]]:
    """Name the rows (by row id) and the columns where a file differs from the ledger's."""
    try:
        got = _rows_of(name, actual)
    except (ValueError, UnicodeDecodeError) as e:
        return [(None, f"cannot be read as {name.split('.')[1].upper()}: {e}")]
    want = _rows_of(name, expected)
    got_by_id = {str(r.get("row_id")): r for r in got}
    found: list[tuple[str | None, str]] = []
    for row in want:
        row_id = str(row["row_id"])
        other = got_by_id.pop(row_id, None)
        if other is None:
            found.append((row_id, "is missing"))
            continue
        for column, value in row.items():
            if other.get(column) != value:
                found.append(
                    (row_id, f"{column} is {other.get(column)!r}, the ledger gives {value!r}")
                )
                break
        else:
            if set(other) != set(row):
                found.append((row_id, f"has columns {sorted(other)}, expected {sorted(row)}"))
    for row_id in got_by_id:
        found.append((row_id, "is not in the ledger"))
    if not found:
        found.append((None, "bytes differ from the ledger's export (layout, header or order)"))
    return found


def verify_from_store(directory: Path, tx: ReadTx, trusted: note.Verifier | None) -> GemReport:
    """gem verify --db: recompute from the database's entries."""
    meta = tx.state.get(META, "ledger")
    if meta is None:
        raise NotFoundError("this ledger has no genesis entry: run coopledger init")
    log_key = note.Verifier.from_public_key(meta["origin"], base64.b64decode(meta["log_key"]))
    if trusted is not None and trusted.public_key != log_key.public_key:
        raise KeyFileError(f"the ledger's log key is not the trusted key {trusted.key_text()}")

    def root_at(size: int) -> bytes | None:
        return None if size > tx.head()[0] else merkle.root_hash(size, tx.get_nodes)

    return verify_export(directory, log_key, lambda size: store_entries(tx, size), root_at)


def verify_from_bundle(directory: Path, bundle: Path, trusted: note.Verifier) -> GemReport:
    """gem verify --bundle: audit the bundle offline, then recompute from its entries."""
    from ledger.verify.bundle import ENTRIES, iter_leaves, verify_bundle

    audit = verify_bundle(bundle, trusted)
    if not audit.ok:
        report = GemReport(directory)
        for finding in audit.findings:
            report.add(f"bundle {bundle}", None, finding.line())
        return report

    def entries_at(size: int) -> Iterator[Entry]:
        for seq, data in enumerate(iter_leaves(bundle / ENTRIES)):
            if seq >= size:
                return
            entry = decode_leaf(data, f"entry {seq}").entry
            if entry.kind in GEM_KINDS:
                yield entry

    def root_at(size: int) -> bytes | None:
        acc = merkle.RootAccumulator()
        for seq, data in enumerate(iter_leaves(bundle / ENTRIES)):
            if seq >= size:
                break
            acc.push(merkle.leaf_hash(data))
        return acc.root() if acc.tree_size == size else None

    return verify_export(directory, trusted, entries_at, root_at)
