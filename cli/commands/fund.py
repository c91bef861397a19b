"""`coopledger fund`: money paid into the cooperative fund, and its balance and movements."""

from __future__ import annotations

from datetime import date

import click

from cli.app import WriteRequest, append, db_option, emit, json_option, reading, write_options
from cli.params import DATE, EUR, TEXT


def _eur(cents: int | None) -> str:
    from ledger.money import format_eur

    return "-" if cents is None else format_eur(cents)


@click.group()
def fund() -> None:
    """Deposit into and show the cooperative fund."""


@fund.command("deposit")
@click.option("--amount", required=True, help="Amount in EUR.", type=EUR)
@click.option(
    "--from", "source", required=True, help="The payer's account id, e.g. GEM.", type=TEXT
)
@click.option("--note", help="What the deposit is for.", type=TEXT)
@click.option("--date", "on", help="Date the money arrived (default: today).", type=DATE)
@write_options
def fund_deposit(
    amount: int,
    source: str,
    note: str | None,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Record money paid into the fund from outside (coop-admin)."""
    from ledger.rules.fund import deposit

    append(w, [deposit(amount, source, note, on)])


@fund.command("show")
@click.option(
    "--at", "at", help="The balance at the end of this date (default: every date).", type=DATE
)
@db_option
@json_option
def fund_show(at: date | None, db: str, as_json: bool) -> None:
    """The fund's balance and every movement (sales, buy-backs, deposits, corrections), by date."""
    from ledger.reports import fund_report

    with reading(db) as tx:
        data = fund_report(tx, at)

    def text() -> None:
        for m in data["movements"]:
            click.echo(
                f"entry {m['seq']:>6}  {m['effective']}  {m['kind']:<20} "
                f"{_eur(m['amount_cents']):>14}  {_eur(m['balance_cents']):>14}  "
                f"{', '.join(m['counter_accounts'])}"
            )
        when = f" at the end of {at}" if at is not None else ""
        click.echo(f"fund balance{when}: {_eur(data['balance_cents'])}")

    emit(data, as_json, text)
