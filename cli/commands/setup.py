"""`coopledger init`: found a ledger with its genesis entry."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from cli.app import (
    db_option,
    json_option,
    load_log_signer,
    load_signer,
    log_memory,
    open_store,
    print_receipt,
    save_receipt,
)
from cli.params import DATE, TEXT, or_today


@click.command()
@click.option(
    "--origin", required=True, help="The log's name, e.g. pampus.example/coop.", type=TEXT
)
@click.option(
    "--charter", "charter_file", required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--key",
    envvar="COOPLEDGER_KEY",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The founding governor's key.",
)
@click.option(
    "--log-key",
    envvar="COOPLEDGER_LOG_KEY",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The log key, named after the origin.",
)
@click.option("--date", "on", help="Founding date (default: today, UTC).", type=DATE)
@click.option(
    "--receipt",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a C2SP tlog-proof receipt for entry 0 to this file.",
)
@db_option
@json_option
def init(
    origin: str,
    charter_file: Path,
    key: Path | None,
    log_key: Path | None,
    on: date | None,
    receipt: Path | None,
    db: str,
    as_json: bool,
) -> None:
    """Found a new ledger: entry 0 with the charter, the governor's key and the log key."""
    from ledger.charter import load_charter
    from ledger.errors import StorageError
    from ledger.files import check_file
    from ledger.service import Ledger, genesis
    from ledger.storage.store import sqlite_path

    if receipt is not None:
        check_file(receipt, "receipt", replace=True)  # before the genesis entry is committed
    charter = load_charter(charter_file)
    governor = load_signer(key)
    log_signer = load_log_signer(log_key)
    effective = or_today(on)
    command = genesis(origin, charter, governor, log_signer, effective)
    path = sqlite_path(db)
    fresh = path is not None and not path.exists()
    memory = log_memory(log_key)
    remembered = memory.exists()
    store = open_store(db, create=True)
    try:
        if store.is_initialized():
            with store.reading() as tx:
                if tx.head()[0] > 0:
                    raise StorageError(f"{db} already holds a ledger ({tx.head()[0]} entries)")
        store.create_schema()
        result = Ledger(store).found(command, governor, log_signer, memory)
        if receipt is not None:
            save_receipt(store, result, receipt)
    except BaseException:
        store.dispose()
        if fresh and not remembered:
            memory.discard()
        if fresh and path is not None:
            # A failed init leaves no half-made database behind.
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        raise
    store.dispose()
    print_receipt(result, as_json)
    if not as_json:
        click.echo(f"log verifier key (give it to auditors): {log_signer.vkey}")
