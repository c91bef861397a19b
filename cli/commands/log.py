"""`coopledger log`: read the log, entry by entry."""

from __future__ import annotations

import json

import click

from cli.app import COUNT, SEQ, db_option, emit, json_option, reading


@click.group(invoke_without_command=True)
@click.option(
    "--from", "start", type=SEQ, default=0, help="First sequence number."
)
@click.option(
    "--limit", type=COUNT, default=None, help="At most this many entries."
)
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
    from ledger.errors import NotFound

    with reading(db) as tx:
        data = tx.entry(seq)
    if data is None:
        raise NotFound(f"no entry {seq} in this ledger")
    value = loads(data)
    value_out = {"leaf_hash": merkle.leaf_hash(data).hex(), **value}
    emit(
        value_out, as_json, lambda: click.echo(json.dumps(value_out, indent=2, ensure_ascii=False))
    )
