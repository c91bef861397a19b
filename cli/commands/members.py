"""`coopledger member`: admit, show, list and forget members."""

from __future__ import annotations

from datetime import date

import click

from cli.app import (
    WriteRequest,
    append,
    db_option,
    emit,
    json_option,
    reading,
    write_options,
)
from cli.params import DATE, ID, TEXT, or_today


@click.group()
def member() -> None:
    """Admit, show, list and forget members."""


@member.command("admit")
@click.option("--id", "member_id", required=True, help="Stable member id, e.g. M-42.", type=ID)
@click.option(
    "--kind", "member_kind", required=True, type=click.Choice(["person", "household", "business"])
)
@click.option(
    "--name", required=True, help="Name (personal data: kept outside the signed log).", type=TEXT
)
@click.option("--address", help="Address (personal data).", type=TEXT)
@click.option("--email", help="E-mail (personal data).", type=TEXT)
@click.option("--kvk", help="Chamber of Commerce number (personal data).", type=TEXT)
@click.option("--founded", help="Founding date of a business (YYYY-MM-DD).", type=DATE)
@click.option("--district", help="District the member is located in (or moving to).", type=TEXT)
@click.option("--date", "on", help="Admission date (default: today).", type=DATE)
@write_options
def member_admit(
    member_id: str,
    member_kind: str,
    name: str,
    address: str | None,
    email: str | None,
    kvk: str | None,
    founded: date | None,
    district: str | None,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Admit a member; the entry holds the id and a salted commitment to the personal data."""
    from ledger.rules.members import PersonalData, admit
    from ledger.types import validated

    personal = validated(PersonalData, name=name, address=address, email=email, kvk=kvk)
    command = admit(
        member_id,
        member_kind,  # type: ignore[arg-type]
        personal,
        or_today(on),
        founded=founded,
        district=district,
    )
    append(w, [command])


@member.command("forget")
@click.argument("member_id", type=ID)
@click.option("--date", "on", help="Date of the erasure request (default: today).", type=DATE)
@write_options
def member_forget(
    member_id: str,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Erase a member's personal data (GDPR); the ledger still verifies."""
    from ledger.rules.members import forget

    command = forget(member_id, or_today(on))
    append(w, [command])


@member.command("show")
@click.argument("member_id", type=ID)
@db_option
@json_option
def member_show(member_id: str, db: str, as_json: bool) -> None:
    """Show a member: kind, admission, personal data (unless erased) and history."""
    from ledger.reports import member_report

    with reading(db) as tx:
        data = member_report(tx, member_id)

    def text() -> None:
        for k, v in data.items():
            if k == "history":
                click.echo("history:")
                for h in v:
                    click.echo(
                        f"  entry {h['seq']:>6}  {h['effective']}  {h['kind']}  {h['summary']}"
                    )
            elif isinstance(v, dict):
                click.echo(f"{k}:")
                for k2, v2 in v.items():
                    click.echo(f"  {k2}: {v2}")
            else:
                click.echo(f"{k}: {v}")

    emit(data, as_json, text)


@member.command("list")
@db_option
@json_option
def member_list(db: str, as_json: bool) -> None:
    """List members (id, kind, admitted, status)."""
    from ledger.reports import member_rows

    with reading(db) as tx:
        rows = member_rows(tx)

    def text() -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table("member", "kind", "admitted", "district", "status")
        for r in rows:
            table.add_row(
                r["member_id"], r["member_kind"], r["admitted_on"], r["district"] or "", r["status"]
            )
        Console().print(table)

    emit(rows, as_json, text)
