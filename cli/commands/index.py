"""`coopledger index`: publish, correct and show the values of index series (CPI, HPI)."""

from __future__ import annotations

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
from cli.params import ID, MONTH, RATE, TEXT


def _eur(cents: int | None) -> str:
    from ledger.money import format_eur

    return "-" if cents is None else format_eur(cents)


@click.group()
def index() -> None:
    """Publish, correct and show index series values (by calendar month)."""


@index.command("publish")
@click.option("--series", required=True, help="Series id, e.g. CPI.", type=ID)
@click.option("--month", required=True, help="YYYY-MM.", type=MONTH)
@click.option(
    "--value", required=True, help="The published value as a decimal, e.g. 131.42.", type=RATE
)
@click.option("--source", required=True, help="Where the value comes from.", type=TEXT)
@click.option(
    "--reason",
    help="Publish as a governor's exception, for this reason (a governor key signs it): a "
    "value more than the charter's plausibility.index_monthly_change a month from a published "
    "month (charter version 2).",
    type=TEXT,
)
@write_options
def index_publish(
    series: str,
    month: str,
    value: str,
    source: str,
    reason: str | None,
    w: WriteRequest,
) -> None:
    """Publish one month's value of a series (coop-admin); it is never changed afterwards."""
    from ledger.rules.index_series import publish_index

    append(
        w,
        [publish_index(series, month, value, source, reason)],
    )


@index.command("correct")
@click.option("--series", required=True, type=ID)
@click.option("--month", required=True, help="YYYY-MM.", type=MONTH)
@click.option("--value", required=True, help="The correct value.", type=RATE)
@click.option("--source", required=True, help="Where the correct value comes from.", type=TEXT)
@click.option("--reason", required=True, type=TEXT)
@write_options
def index_correct(
    series: str,
    month: str,
    value: str,
    source: str,
    reason: str,
    w: WriteRequest,
) -> None:
    """Replace a published value (governor); both values stay visible."""
    from ledger.rules.index_series import correct_index

    append(
        w,
        [correct_index(series, month, value, source, reason)],
    )


@index.command("show")
@click.option("--series", help="Only this series.", type=ID)
@db_option
@json_option
def index_show(series: str | None, db: str, as_json: bool) -> None:
    """Every published month: the value in force, its source, and any earlier value."""
    from ledger.rules.index_series import index_rows

    with reading(db) as tx:
        rows = index_rows(tx.state, series)

    def text() -> None:
        if not rows:
            click.echo("no index values published" + (f" for {series}" if series else ""))
        for r in rows:
            click.echo(
                f"{r['series']:<8} {r['month']}  {r['value']:>14}  {r['source']}  "
                f"(entry {r['published_seq']})"
            )
            first = r["history"][0]
            if first["kind"] == "index.exception-published":
                click.echo(f"{'':<17}published by a governor, beyond the bound: {first['reason']}")
            for h in r["history"][1:]:
                click.echo(
                    f"{'':<17}corrected at entry {h['seq']} from "
                    f"{_previous(r['history'], h)} to {h['value']}: {h['reason']}"
                )

    emit(rows, as_json, text)


def _previous(history: list[dict[str, Any]], row: dict[str, Any]) -> str:
    i = history.index(row)
    return str(history[i - 1]["value"])
