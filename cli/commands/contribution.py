"""`coopledger contribution`: charge a month's area contributions, payments, debtors, arrears."""

from __future__ import annotations

from datetime import date
from typing import Any

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
from cli.params import DATE, EUR_POSITIVE, ID, MONTH, TEXT, or_today
from ledger.money import format_eur as _eur


@click.group()
def contribution() -> None:
    """Monthly area contributions: charge a month, record payments, list arrears."""


@contribution.command("run")
@click.option("--month", required=True, help="The month to charge, YYYY-MM.", type=MONTH)
@click.option(
    "--date", "on", help="Date of the run (default: today; not before the month).", type=DATE
)
@write_options
def contribution_run(
    month: str,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Charge every home and workplace (charter version 1: workspace) in use in MONTH, as one
    entry, each line naming its debtor (version 2); a month is charged once
    (running it again appends nothing and names the original entry)."""
    from ledger.rules.contributions import AlreadyChargedError, ContributionCharged, charge_month

    def describe(result: Any) -> str:
        body: ContributionCharged = result.facts[0].body
        return (
            f"charged {len(body.lines)} homes, workspaces and workplaces for {body.month}: "
            f"{_eur(body.total_cents)}"
        )

    try:
        append(
            w,
            [charge_month(month, or_today(on))],
            describe,
        )
    except AlreadyChargedError as e:
        emit(
            {"month": e.month, "already_charged": True, "seq": e.seq},
            w.as_json,
            f"{e}; nothing was appended",
        )


@contribution.command("pay")
@click.option("--subject", help="The home, dwelling or workspace paid for.", type=ID)
@click.option("--month", help="Only this month of the subject (YYYY-MM).", type=MONTH)
@click.option(
    "--member", help="A member paying everything due in their name, oldest first.", type=ID
)
@click.option("--amount", required=True, help="Amount paid in EUR.", type=EUR_POSITIVE)
@click.option(
    "--date", "on", required=True, help="Date the payment arrived, YYYY-MM-DD.", type=DATE
)
@click.option("--ref", required=True, help="Payment reference.", type=TEXT)
@write_options
def contribution_pay(
    subject: str | None,
    month: str | None,
    member: str | None,
    amount: int,
    on: date,
    ref: str,
    w: WriteRequest,
) -> None:
    """Record a contribution payment (partial allowed; more than is due is refused)."""
    from ledger.rules.contributions import pay_contribution

    command = pay_contribution(
        amount,
        on,
        ref,
        subject=subject,
        month=month,
        member=member,
    )
    append(w, [command])


@contribution.command("workplaces")
@click.option("--member", "member_id", required=True, help="The business, e.g. B-1.", type=ID)
@click.option("--count", required=True, type=int, help="Its number of workplaces (0: none).")
@click.option("--district", required=True, help="The district it works in.", type=TEXT)
@click.option("--date", "on", required=True, help="The day the count applies from.", type=DATE)
@write_options
def contribution_workplaces(
    member_id: str, count: int, district: str, on: date, w: WriteRequest
) -> None:
    """Register or update a business's number of workplaces (charter version 2): the monthly
    contribution charges every workplace."""
    from ledger.rules.contributions import register_workplaces

    command = register_workplaces(member_id, district, count, on)
    append(
        w,
        [command],
        lambda _r: f"{member_id}: {count} workplaces in {district} from {on}",
    )


@contribution.command("debtor")
@click.option("--subject", required=True, help="The home (a levy-bound property).", type=ID)
@click.option(
    "--debtor", required=True, help="Who owes its contribution (the owner's id).", type=ID
)
@click.option("--date", "on", required=True, help="The day the debtor owes from.", type=DATE)
@write_options
def contribution_debtor(subject: str, debtor: str, on: date, w: WriteRequest) -> None:
    """Name who owes a home's contribution from a date on (charter version 2: every charge
    names its debtor)."""
    from ledger.rules.contributions import name_debtor

    command = name_debtor(subject, debtor, on)
    append(w, [command], lambda _r: f"home {subject}: contribution owed by {debtor} from {on}")


@contribution.command("arrears")
@click.option("--on", "on", help="Only months begun by this date (YYYY-MM-DD).", type=DATE)
@click.option(
    "--at", "at", help="The open charges at the end of this date (default: now).", type=DATE
)
@db_option
@json_option
def contribution_arrears(on: date | None, at: date | None, db: str, as_json: bool) -> None:
    """List every open contribution charge, per subject and month."""
    from ledger.reports import contribution_arrears_at
    from ledger.rules.contributions import arrears, month_start

    on_date = on
    at_date = at
    with reading(db) as tx:
        if at_date is None:
            rows = list(arrears(tx.state, on_date))
        else:
            rows = [
                r
                for r in contribution_arrears_at(tx, at_date)
                if on_date is None or month_start(r["month"]) <= on_date
            ]

    def text() -> None:
        for r in rows:
            click.echo(
                f"{r['subject']:<12} {r['subject_kind']:<10} {r['district']:<16} {r['month']}  "
                f"{_eur(r['due_cents']):>10}  {r['member'] or ''}"
            )
        when = f" at the end of {at_date}" if at_date is not None else ""
        click.echo(f"{len(rows)} open charges, {_eur(sum(r['due_cents'] for r in rows))} due{when}")

    emit(rows, as_json, text)
