"""`coopledger rebuild`: repair the projection (or upgrade a schema-1 or schema-2 database) from the verified log."""

from __future__ import annotations

from pathlib import Path

import click

from cli.app import (
    db_option,
    emit,
    json_option,
    load_log_signer,
    log_key_option,
    log_memory,
    open_store,
)


@click.command()
@log_key_option("The ledger's log key: the only key the replay trusts")
@db_option
@json_option
def rebuild(log_key: Path | None, db: str, as_json: bool) -> None:
    """Verify every entry, then recompute every projection record from the log and
    authenticate it. Refused, changing nothing, if the log does not verify."""
    from ledger.rebuild import rebuild as rebuild_store

    signer = load_log_signer(log_key)
    store = open_store(db)
    try:
        done = rebuild_store(store, signer, log_memory(log_key))
    finally:
        store.dispose()
    data = {
        "entries": done.entries,
        "records": done.records,
        "added": done.added,
        "changed": done.changed,
        "removed": done.removed,
        "upgraded_from": done.upgraded_from,
        "schema_version": done.schema_version,
    }
    text = (
        f"replayed {done.entries} entries: {done.records} projection records, "
        f"{done.added} added, {done.changed} changed, {done.removed} removed; all authenticated"
    )
    if done.upgraded_from is not None:
        text += f"\nupgraded the schema from version {done.upgraded_from} to {done.schema_version}"
    emit(data, as_json, text)
