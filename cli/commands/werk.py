"""`coopledger workspace` and `coopledger lease`: the Werkcorporatie's workspaces and leases."""

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
from cli.params import DATE, EUR, ID, TEXT, or_today
from ledger.money import format_eur as _eur


def _fact_body(result: Any) -> Any:
    return result.facts[-1].body


# -- workspace ---------------------------------------------------------------------------------


@click.group()
def workspace() -> None:
    """Register and list Werkcorporatie workspaces; report occupancy."""


@workspace.command("register")
@click.option("--id", "workspace_id", required=True, help="Stable workspace id, e.g. W-3.", type=ID)
@click.option("--district", required=True, help="One of the charter's districts.", type=TEXT)
@click.option("--area-m2", "area_m2", required=True, type=int, help="Floor area in whole m2.")
@click.option(
    "--market-rent",
    required=True,
    help="Market rent reference in EUR per m2 per year, e.g. 240 or 237.50.",
    type=EUR,
)
@click.option("--date", "on", help="Registration date (default: today).", type=DATE)
@write_options
def workspace_register(
    workspace_id: str,
    district: str,
    area_m2: int,
    market_rent: int,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Register a workspace (werk-admin)."""
    from ledger.rules.werk import register_workspace

    command = register_workspace(workspace_id, district, area_m2, market_rent, or_today(on))

    def describe(result: Any) -> str:
        body = _fact_body(result)
        return (
            f"registered workspace {body.workspace_id} in {body.district}: {body.area_m2} m2, "
            f"market rent {_eur(body.market_rent_cents_per_m2_year)} per m2 per year"
        )

    append(w, [command], describe)


@workspace.command("revalue")
@click.option("--id", "workspace_id", required=True, help="The workspace, e.g. W-3.", type=ID)
@click.option(
    "--market-rent",
    required=True,
    help="The new market rent reference in EUR per m2 per year, e.g. 300 or 287.50.",
    type=EUR,
)
@click.option(
    "--date", "on", required=True, help="The day the new market rent applies from.", type=DATE
)
@click.option(
    "--source", required=True, help="Where the value comes from (appraisal, survey).", type=TEXT
)
@write_options
def workspace_revalue(
    workspace_id: str, market_rent: int, on: date, source: str, w: WriteRequest
) -> None:
    """Revalue a workspace's market rent (werk-admin, charter version 2): the rent cap of
    later grants and indexations follows it."""
    from ledger.rules.werk import revalue_workspace

    command = revalue_workspace(workspace_id, market_rent, on, source)

    def describe(result: Any) -> str:
        body = _fact_body(result)
        return (
            f"workspace {body.workspace_id}: market rent "
            f"{_eur(body.market_rent_cents_per_m2_year)} per m2 per year from {on} "
            f"({body.source})"
        )

    append(w, [command], describe)


@workspace.command("list")
@click.option("--at", help="Show the tenant on this date (default: today).", type=DATE)
@db_option
@json_option
def workspace_list(at: date | None, db: str, as_json: bool) -> None:
    """List workspaces: district, area, market rent, rent cap and tenant on a date."""
    from ledger.rules.werk import workspace_rows

    on = or_today(at)
    with reading(db) as tx:
        rows = workspace_rows(tx.state, on)

    def text() -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(
            "workspace", "district", "m2", "market/m2/yr", "rent cap/month", f"tenant {on}"
        )
        for r in rows:
            tenant = f"{r['member_id']} ({r['lease_id']})" if r["lease_id"] else "vacant"
            table.add_row(
                r["workspace_id"],
                r["district"],
                str(r["area_m2"]),
                _eur(r["market_rent_cents_per_m2_year"]),
                _eur(r["rent_cap_cents_per_month"]),
                tenant,
            )
        Console(width=120).print(table)

    emit(rows, as_json, text)


@workspace.command("occupancy")
@click.option("--at", help="Report date (default: today).", type=DATE)
@click.option(
    "--total-m2",
    type=click.IntRange(min=1),
    help="The area's whole workspace floor area, market-rent space included "
    "(default: the registered workspaces' area).",
)
@db_option
@json_option
def workspace_occupancy(at: date | None, total_m2: int | None, db: str, as_json: bool) -> None:
    """Occupied and vacant floor area, and the affordable share against the charter's target."""
    from ledger.rules.werk import occupancy

    on = or_today(at)
    with reading(db) as tx:
        data = occupancy(tx.state, on, total_m2)

    def text() -> None:
        share = float(data["affordable_share"]) * 100
        target = float(data["target"]) * 100
        verdict = "meets" if data["meets_target"] else "below"
        click.echo(f"occupancy on {data['at']} ({data['workspaces']} workspaces)")
        click.echo(f"  occupied: {data['occupied_m2']} m2")
        click.echo(f"  vacant:   {data['vacant_m2']} m2 {' '.join(data['vacant_workspaces'])}")
        click.echo(
            f"  affordable share: {share:.2f}% of {data['total_m2']} m2, "
            f"target {target:.2f}%: {verdict} the target"
        )

    emit(data, as_json, text)


# -- lease -------------------------------------------------------------------------------------


@click.group()
def lease() -> None:
    """The waiting list and affordable leases: apply, grant, index, end, report."""


@lease.command("apply")
@click.option(
    "--member", "member_id", required=True, help="The business member, e.g. B-1.", type=ID
)
@click.option("--min-m2", "min_m2", required=True, type=int, help="Smallest floor area needed.")
@click.option("--max-m2", "max_m2", required=True, type=int, help="Largest floor area wanted.")
@click.option("--date", "on", help="Application date (default: today).", type=DATE)
@write_options
def lease_apply(
    member_id: str,
    min_m2: int,
    max_m2: int,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Put a business member on the waiting list (werk-admin)."""
    from ledger.rules.werk import apply

    command = apply(member_id, min_m2, max_m2, or_today(on))

    def describe(result: Any) -> str:
        return (
            f"{member_id} joined the waiting list as application {result.entries[-1].seq} "
            f"({min_m2} to {max_m2} m2)"
        )

    append(w, [command], describe)


@lease.command("withdraw")
@click.option(
    "--member", "member_id", required=True, help="The member whose application ends.", type=ID
)
@click.option("--date", "on", help="Withdrawal date (default: today).", type=DATE)
@click.option("--reason", help="Why (optional).", type=TEXT)
@write_options
def lease_withdraw(
    member_id: str,
    on: date | None,
    reason: str | None,
    w: WriteRequest,
) -> None:
    """Take a member's open application off the waiting list (werk-admin)."""
    from ledger.rules.werk import withdraw

    command = withdraw(member_id, or_today(on), reason)

    def describe(result: Any) -> str:
        return f"withdrew application {_fact_body(result).application_seq} of {member_id}"

    append(w, [command], describe)


@lease.command("queue")
@db_option
@json_option
def lease_queue(db: str, as_json: bool) -> None:
    """The waiting list in queue order (order of application)."""
    from ledger.rules.werk import queue_rows

    with reading(db) as tx:
        rows = queue_rows(tx.state)

    def text() -> None:
        if not rows:
            click.echo("the waiting list is empty")
        for r in rows:
            click.echo(
                f"{r['position']:>3}. {r['member_id']:<12} {r['min_m2']:>5} to {r['max_m2']:>5} m2"
                f"  applied {r['applied_on']} (entry {r['application_seq']})"
            )

    emit(rows, as_json, text)


@lease.command("grant")
@click.option(
    "--workspace", "workspace_id", required=True, help="The workspace, e.g. W-3.", type=ID
)
@click.option("--member", "member_id", required=True, help="The tenant, e.g. B-1.", type=ID)
@click.option("--start", required=True, help="First day of the lease (YYYY-MM-DD).", type=DATE)
@click.option(
    "--end",
    "end_",
    required=True,
    help="First day after the lease (exclusive, YYYY-MM-DD).",
    type=DATE,
)
@click.option("--rent", required=True, help="Monthly rent in EUR, e.g. 900 or 912.50.", type=EUR)
@click.option(
    "--exception",
    "exception_reason",
    help="Grant out of waiting-list order, for this reason (needs the charter's "
    "lease.exception_role, by default governor).",
    type=TEXT,
)
@click.option(
    "--type",
    "lease_type",
    type=click.Choice(["7:230a", "7:290"]),
    default="7:230a",
    show_default=True,
    help="Lease type under Dutch law (charter version 2): 7:230a other business space (the "
    "charter's maximum term), 7:290 premises open to the public (at most 2 years, or 5 years "
    "renewed by law to 10).",
)
@click.option("--date", "on", help="Decision date (default: today).", type=DATE)
@write_options
def lease_grant(
    workspace_id: str,
    member_id: str,
    start: date,
    end_: date,
    rent: int,
    exception_reason: str | None,
    lease_type: str,
    on: date | None,
    w: WriteRequest,
) -> None:
    """Grant a lease to the first fitting eligible applicant, or record an exception."""
    from ledger.rules.werk import grant

    command = grant(
        workspace_id,
        member_id,
        start,
        end_,
        rent,
        or_today(on),
        exception_reason,
        lease_type,
    )

    def describe(result: Any) -> str:
        body = _fact_body(result)
        line = (
            f"granted lease {body.lease_id}: {body.workspace_id} to {body.member_id} from "
            f"{body.start} to {body.end} (exclusive) at {_eur(body.rent_cents_per_month)} a month"
        )
        if body.lease_type is not None:
            line += f", type {body.lease_type}"
        if body.exception is not None:
            line += (
                f"; queue exception passing over {body.exception.passed_over_member_id}: "
                f"{body.exception.reason}"
            )
        return line

    append(w, [command], describe)


@lease.command("index")
@click.option("--lease", "lease_id", required=True, help="The lease, e.g. L-12.", type=ID)
@click.option("--date", "on", required=True, help="The day the new rent applies from.", type=DATE)
@click.option(
    "--rent",
    help="The new monthly rent in EUR. Charter version 2: optional, at most the ROZ formula's "
    "result (default: that result, capped); version 1: required.",
    type=EUR,
)
@write_options
def lease_index(
    lease_id: str,
    on: date,
    rent: int | None,
    w: WriteRequest,
) -> None:
    """Index a lease's rent. Charter version 2: yearly, by the ROZ formula rent x CPI(4 months
    before) / CPI(16 months before), capped by the charter's yearly maximum and the rent cap
    on the market rent in force. Version 1: a typed rent, capped."""
    from ledger.rules.werk import index

    command = index(lease_id, rent, on)

    def describe(result: Any) -> str:
        body = _fact_body(result)
        line = (
            f"lease {lease_id}: rent {_eur(body.previous_rent_cents_per_month)} -> "
            f"{_eur(body.rent_cents_per_month)} a month from {on}"
        )
        if body.formula_cents is not None:
            line += (
                f" (ROZ: {body.index_series} {body.index_month} {body.index_value} / "
                f"{body.base_month} {body.base_index_value} gives {_eur(body.formula_cents)}; "
                f"yearly ceiling {_eur(body.ceiling_cents)}, rent cap {_eur(body.cap_cents)})"
            )
        return line

    append(w, [command], describe)


@lease.command("end")
@click.option("--lease", "lease_id", required=True, help="The lease, e.g. L-12.", type=ID)
@click.option(
    "--date", "on", required=True, help="First day the workspace is no longer leased.", type=DATE
)
@click.option("--reason", required=True, help="Why the lease ends.", type=TEXT)
@write_options
def lease_end(
    lease_id: str,
    on: date,
    reason: str,
    w: WriteRequest,
) -> None:
    """End a lease (werk-admin); the date is the first day no longer leased."""
    from ledger.rules.werk import end

    command = end(lease_id, on, reason)
    append(
        w,
        [command],
        lambda _result: f"lease {lease_id} ends on {on} (first free day): {reason.strip()}",
    )


@lease.command("roll")
@click.option("--at", help="Report date (default: today).", type=DATE)
@db_option
@json_option
def lease_roll_cmd(at: date | None, db: str, as_json: bool) -> None:
    """The rent roll: leases in force on a date, rent then, its cap and the charter version."""
    from ledger.rules.werk import lease_roll

    with reading(db) as tx:
        data = lease_roll(tx.state, or_today(at))

    def text() -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(
            "lease",
            "workspace",
            "district",
            "m2",
            "tenant",
            "start",
            "end (excl.)",
            "rent/month",
            "cap",
            "charter",
            "exception",
            title=f"rent roll on {data['at']}",
        )
        for r in data["leases"]:
            exception = (
                f"{r['exception']} (passed over {r['passed_over']})" if r["exception"] else ""
            )
            table.add_row(
                r["lease_id"],
                r["workspace_id"],
                r["district"],
                str(r["area_m2"]),
                r["member_id"],
                r["start"],
                r["end"],
                _eur(r["rent_cents_per_month"]),
                _eur(r["rent_cap_cents_per_month"]),
                f"entry {r['charter_seq']}",
                exception,
            )
        Console(width=160).print(table)
        click.echo(
            f"{len(data['leases'])} leases, total rent "
            f"{_eur(data['total_rent_cents_per_month'])} a month"
        )

    emit(data, as_json, text)
