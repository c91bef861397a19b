"""`coopledger charter`: the template, the charter in force, amendments."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.app import WriteRequest, append, db_option, emit, json_option, reading, write_options
from cli.params import TEXT


@click.group()
def charter() -> None:
    """Print the charter template, show or amend the charter in force."""


@charter.command("template")
def charter_template() -> None:
    """Print a complete, commented charter with the placeholder values."""
    from ledger.charter import TEMPLATE

    click.echo(TEMPLATE, nl=False)


@charter.command("show")
@click.option("--at", "at_seq", type=int, help="The version adopted at this entry.")
@db_option
@json_option
def charter_show(at_seq: int | None, db: str, as_json: bool) -> None:
    """Show the charter in force (or an earlier version)."""
    from ledger.state import charter_at

    with reading(db) as tx:
        seq, current = charter_at(tx.state, at_seq)
    data = {"adopted_at": seq, "charter": current.model_dump(mode="json")}
    emit(
        data,
        as_json,
        lambda: click.echo(
            f"charter adopted at entry {seq}\n"
            + json.dumps(data["charter"], indent=2, ensure_ascii=False)
        ),
    )


@charter.command("amend")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reason", required=True, type=TEXT)
@write_options
def charter_amend(
    file: Path,
    reason: str,
    w: WriteRequest,
) -> None:
    """Adopt an amended charter (governor); contracts made before keep their version."""
    from ledger.charter import load_charter
    from ledger.rules.governance import amend_charter

    append(w, [amend_charter(load_charter(file), reason)])
