"""`coopledger property | levy | gem`: the surplus-value levy and the GEM's files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from cli.app import (
    SEQ,
    WriteRequest,
    append,
    db_option,
    emit,
    json_option,
    load_signer,
    open_store,
    reading,
    write_options,
)
from cli.params import DATE, EUR, EUR_POSITIVE, ID, MONTH, TEXT, or_today
from ledger.money import format_eur as _eur

# -- property ----------------------------------------------------------------------------------


@click.group("property")
def property_() -> None:
    """Register levy-bound properties and record their sales (levy-admin)."""


@property_.command("register")
@click.option("--id", "property_id", required=True, help="Stable property id, e.g. P-1.", type=ID)
@click.option(
    "--kind",
    "property_kind",
    required=True,
    type=click.Choice(["home", "commercial", "plot", "dwelling"]),
)
@click.option("--district", required=True, help="One of the charter's districts.", type=TEXT)
@click.option(
    "--delivered", required=True, help="Delivery date (YYYY-MM-DD): the term starts.", type=DATE
)
@click.option("--baseline", required=True, help="Baseline value in EUR, e.g. 400000.", type=EUR)
@click.option(
    "--baseline-month", help="Month of the baseline (YYYY-MM; default: delivery).", type=MONTH
)
@click.option(
    "--index", "series", help="Index series of the expected value (default: charter).", type=ID
)
@click.option("--date", "on", help="Registration date (default: today).", type=DATE)
@write_options
def property_register(
    property_id: str,
    property_kind: str,
    district: str,
    delivered: date,
    baseline: int,
    baseline_month: str | None,
    series: str | None,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Register a property; the levy rate, term and baseline policy of the charter in force
    are kept with it."""
    from ledger.rules.levy import register_property

    command = register_property(
        property_id,
        property_kind,
        district,
        delivered,
        baseline,
        or_today(on),
        baseline_month=baseline_month,
        index_series=series,
    )
    append(w, [command])


@property_.command("sell")
@click.option("--id", "property_id", required=True, help="The property sold, e.g. P-1.", type=ID)
@click.option("--date", "on", required=True, help="Sale (transfer) date, YYYY-MM-DD.", type=DATE)
@click.option("--price", required=True, help="Sale price in EUR.", type=EUR)
@click.option(
    "--appraisal",
    help="Independent appraisal in EUR (used when above the price; required for a gift, "
    "related-party sale or share deal, levied on the appraised value).",
    type=EUR,
)
@click.option(
    "--improvements",
    default="0",
    help="Approved improvements in EUR (credited; under the keep policy every approved "
    "improvement since the baseline).",
    type=EUR,
)
@click.option(
    "--disposal",
    type=click.Choice(
        [
            "sale",
            "gift",
            "related-party-sale",
            "share-deal",
            "inheritance",
            "divorce",
            "expropriation",
        ]
    ),
    help="What kind of disposal (charter version 2; default: sale). The charter's exempt "
    "transfers pay no levy and keep the baseline.",
)
@click.option("--deed", required=True, help="Deed (notary) reference.", type=TEXT)
@click.option("--dry-run", is_flag=True, help="Compute and explain the levy; append nothing.")
@write_options
def property_sell(
    property_id: str,
    on: date,
    price: int,
    appraisal: int | None,
    improvements: int,
    disposal: str | None,
    deed: str,
    dry_run: bool,
    w: WriteRequest,
) -> None:
    """Record a sale or other disposal with its levy and every input of the computation."""
    from ledger.rules.levy import explain_lines, sell_property

    command = sell_property(
        property_id,
        on,
        price,
        deed,
        appraisal_cents=appraisal,
        improvements_cents=improvements,
        disposal=disposal,
    )
    if dry_run:
        from ledger.service import Ledger

        store = open_store(w.db)
        try:
            facts = Ledger(store).dry_run([command], load_signer(w.key))
        finally:
            store.dispose()
        body = facts[0].body
        lines = explain_lines(-1, body)  # type: ignore[arg-type]
        emit(
            {"dry_run": True, "body": body.model_dump(mode="json"), "explanation": lines},
            w.as_json,
            "\n".join([*lines, "(dry run: nothing was appended)"]),
        )
        return

    def describe(result: Any) -> str:
        return "\n".join(explain_lines(result.entries[0].seq, result.facts[0].body))

    append(w, [command], describe)


# -- levy --------------------------------------------------------------------------------------


@click.group()
def levy() -> None:
    """Explain, pay, waive and list surplus-value levies."""


@levy.command("explain")
@click.argument("seq", type=SEQ)
@db_option
@json_option
def levy_explain(seq: int, db: str, as_json: bool) -> None:
    """Print the levy computation of the sale at entry SEQ, line by line."""
    from ledger.errors import NotFoundError
    from ledger.model import decode_leaf
    from ledger.rules.levy import PropertySold, explain_lines

    with reading(db) as tx:
        data = tx.entry(seq)
    if data is None:
        raise NotFoundError(f"no entry {seq} in this ledger")
    entry = decode_leaf(data, f"entry {seq}").entry
    if entry.kind != "property.sold":
        raise NotFoundError(f"entry {seq} is a {entry.kind} entry, not a property.sold")
    body = PropertySold.model_validate(entry.body)
    lines = explain_lines(seq, body)
    emit({"seq": seq, "body": entry.body, "explanation": lines}, as_json, "\n".join(lines))


@levy.command("pay")
@click.option("--sale", "sale_seq", required=True, type=SEQ, help="Sale entry.")
@click.option("--amount", required=True, help="Amount paid in EUR.", type=EUR_POSITIVE)
@click.option(
    "--date", "on", required=True, help="Date the payment arrived, YYYY-MM-DD.", type=DATE
)
@click.option("--ref", required=True, help="Payment reference (notary, bank).", type=TEXT)
@write_options
def levy_pay(
    sale_seq: int,
    amount: int,
    on: date,
    ref: str,
    w: WriteRequest,
) -> None:
    """Record a (partial) levy payment; more than the outstanding levy is refused."""
    from ledger.rules.levy import pay_levy

    command = pay_levy(sale_seq, amount, on, ref)
    append(w, [command])


@levy.command("waive")
@click.option("--sale", "sale_seq", required=True, type=SEQ, help="Sale entry.")
@click.option("--reason", required=True, help="Why the levy is waived (signed, public).", type=TEXT)
@click.option(
    "--amount", help="Amount waived in EUR (default: all that is outstanding).", type=EUR_POSITIVE
)
@click.option("--date", "on", help="Date of the decision (default: today).", type=DATE)
@write_options
def levy_waive(
    sale_seq: int,
    reason: str,
    amount: int | None,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Waive a sale's outstanding levy (governor), with a reason."""
    from ledger.rules.levy import waive_levy

    command = waive_levy(sale_seq, reason, or_today(on), amount)
    append(w, [command])


@levy.command("register")
@click.option("--outstanding", is_flag=True, help="Only sales with levy outstanding.")
@click.option("--at", "at", help="The position at the end of this date (default: now).", type=DATE)
@db_option
@json_option
def levy_register_cmd(outstanding: bool, at: date | None, db: str, as_json: bool) -> None:
    """List every sale's levy: assessed, paid, waived, outstanding."""
    from ledger.rules.levy import levy_register

    at_date = at
    with reading(db) as tx:
        rows = list(levy_register(tx.state, outstanding, at_date))

    def text() -> None:
        click.echo(
            f"{'sale':>6}  {'property':<10} {'district':<16} {'kind':<10} {'date':<10} "
            f"{'assessed':>12} {'paid':>12} {'waived':>12} {'outstanding':>12}"
        )
        for r in rows:
            click.echo(
                f"{r['sale_seq']:>6}  {r['property_id']:<10} {r['district']:<16} "
                f"{r['property_kind']:<10} {r['sale_date']:<10} {_eur(r['assessed_cents']):>12} "
                f"{_eur(r['paid_cents']):>12} {_eur(r['waived_cents']):>12} "
                f"{_eur(r['outstanding_cents']):>12}"
                + ("" if r["corrected_seq"] is None else f"  corrected at {r['corrected_seq']}")
            )
        total = sum(r["outstanding_cents"] for r in rows)
        when = f" at the end of {at_date}" if at_date is not None else ""
        click.echo(f"{len(rows)} sales, outstanding{when} {_eur(total)}")

    emit(rows, as_json, text)


# -- gem ---------------------------------------------------------------------------------------


@click.group()
def gem() -> None:
    """The GEM's files: levy and contribution totals per period, signed; and their check."""


@gem.command("export")
@click.option("--period", required=True, help="2032 (year), 2032-Q1 (quarter) or 2032-01 (month).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "formats", default="csv,json", show_default=True, help="csv, json.")
@click.option(
    "--log-key",
    envvar="COOPLEDGER_LOG_KEY",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The ledger's log key, which signs the manifest (env COOPLEDGER_LOG_KEY).",
)
@db_option
@json_option
def gem_export(
    period: str, out: Path, formats: str, log_key: Path | None, db: str, as_json: bool
) -> None:
    """Write totals per district and property kind, the detail lines and a signed manifest."""
    from cli.app import load_log_signer
    from ledger.export.gem import export_gem, parse_formats, parse_period

    chosen = parse_formats(formats)
    chosen_period = parse_period(period)
    signer = load_log_signer(log_key)
    with reading(db) as tx:
        result = export_gem(tx, chosen_period, out, signer, chosen)
    data = {
        "directory": str(result.directory),
        "period": result.period,
        "tree_size": result.tree_size,
        "files": result.files,
    }
    emit(
        data,
        as_json,
        f"exported GEM files for {result.period} at tree size {result.tree_size} to {out}: "
        + ", ".join(f"{name} ({rows} rows)" for name, rows in result.files.items()),
    )


@gem.command("verify")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--bundle",
    type=click.Path(file_okay=False, path_type=Path),
    help="Recompute from an auditor bundle instead of the database.",
)
@click.option("--trust", help="The log's verifier key (required with --bundle).")
@db_option
@json_option
@click.pass_context
def gem_verify(
    ctx: click.Context,
    directory: Path,
    bundle: Path | None,
    trust: str | None,
    db: str,
    as_json: bool,
) -> None:
    """Recompute the export from the ledger and compare file by file, row by row; check the
    manifest's signature. Exit 0 when it matches, 1 otherwise."""
    from ledger.errors import UsageError
    from ledger.export.gem import verify_from_bundle, verify_from_store
    from ledger.note import parse_verifier_key

    trusted = parse_verifier_key(trust) if trust else None
    if bundle is not None:
        if trusted is None:
            raise UsageError("--trust VKEY is required with --bundle: the auditor pins the log key")
        report = verify_from_bundle(directory, bundle, trusted)
    else:
        with reading(db) as tx:
            report = verify_from_store(directory, tx, trusted)

    def text() -> None:
        for finding in report.findings:
            click.echo(finding.line())
        state = "OK" if report.ok else f"FAILED ({len(report.findings)} findings)"
        click.echo(
            f"GEM export {directory} ({report.period}, tree size {report.tree_size}): "
            f"{report.files} files, {report.rows} rows checked: {state}"
        )

    emit(report.as_json(), as_json, text)
    ctx.exit(0 if report.ok else 1)
