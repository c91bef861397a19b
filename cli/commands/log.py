"""`coopledger log`: read the log, entry by entry; give the log key its memory (`log adopt`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.app import (
    COUNT,
    SEQ,
    db_option,
    emit,
    json_option,
    load_log_signer,
    log_key_option,
    log_memory,
    open_store,
    reading,
)


@click.group(invoke_without_command=True)
@click.option("--from", "start", type=SEQ, default=0, help="First sequence number.")
@click.option("--limit", type=COUNT, default=None, help="At most this many entries.")
@click.option("--kind", "kinds", multiple=True, help="Only entries of this kind (repeatable).")
@db_option
@json_option
@click.pass_context
def log(
    ctx: click.Context,
    start: int,
    limit: int | None,
    kinds: tuple[str, ...],
    db: str,
    as_json: bool,
) -> None:
    """List entries: sequence number, date, kind, author key and a summary."""
    if ctx.invoked_subcommand is not None:
        return
    from ledger.encoding import loads
    from ledger.reports import summarize

    rows = []
    with reading(db) as tx:
        keys = {k: r["name"] for k, r in tx.state.scan("key")}
        for seq, data in tx.entries(start, None, list(kinds) or None):
            entry = loads(data)["entry"]
            rows.append(
                {
                    "seq": seq,
                    "kind": entry["kind"],
                    "effective": entry["effective"],
                    "recorded_at": entry["recorded_at"],
                    "key": keys.get(entry["key_id"], entry["key_id"][:16]),
                    "body": entry["body"],
                }
            )
            if limit is not None and len(rows) >= limit:
                break

    def text() -> None:
        for r in rows:
            click.echo(
                f"{r['seq']:>7}  {r['effective']}  {r['kind']:<22} {r['key']:<20} {summarize(r['body'])}"
            )

    emit(rows, as_json, text)


@log.command("show")
@click.argument("seq", type=SEQ)
@db_option
@json_option
def log_show(seq: int, db: str, as_json: bool) -> None:
    """Show one entry in full: the signed JSON, its leaf hash and signatures."""
    from ledger import merkle
    from ledger.encoding import loads
    from ledger.errors import NotFoundError

    with reading(db) as tx:
        data = tx.entry(seq)
    if data is None:
        raise NotFoundError(f"no entry {seq} in this ledger")
    value = loads(data)
    value_out = {"leaf_hash": merkle.leaf_hash(data).hex(), **value}
    emit(
        value_out, as_json, lambda: click.echo(json.dumps(value_out, indent=2, ensure_ascii=False))
    )


@log.command("adopt")
@click.option(
    "--size",
    required=True,
    type=COUNT,
    help="The size of the last checkpoint this log key signed, as you know it from outside "
    "the database (the checkpoint you published last, an auditor's saved file, a receipt).",
)
@log_key_option("The ledger's log key, whose memory is missing")
@db_option
@json_option
def log_adopt(size: int, log_key: Path | None, db: str, as_json: bool) -> None:
    """Give a log key without memory (a ledger from before the memory existed, a lost file)
    the database's latest checkpoint as the last one it signed: only if every entry,
    checkpoint and Merkle node verifies with the key and that checkpoint is of SIZE."""
    from ledger.log_adopt import adopt
    from ledger.note import b64encode

    signer = load_log_signer(log_key)
    store = open_store(db)
    try:
        done = adopt(store, signer, log_memory(log_key), size)
    finally:
        store.dispose()
    data = {
        "size": done.size,
        "root": b64encode(done.root),
        "recorded_at": done.recorded_at,
        "memory": str(done.memory),
    }
    when = "" if done.recorded_at is None else f", recorded at {done.recorded_at}"
    emit(
        data,
        as_json,
        f"adopted checkpoint {done.size} (root {data['root']}{when}) as the last one log key "
        f"{signer.name} signed; remembered in {done.memory}",
    )
