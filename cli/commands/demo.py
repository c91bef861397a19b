"""`coopledger demo`: build a small, realistic ledger and verify it."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--db",
    default="coopledger-demo.db",
    show_default=True,
    help="Where to build the demo ledger (must not exist).",
)
@click.pass_context
def demo(ctx: click.Context, db: str) -> None:
    """Build a demo ledger (keys, charter, members, ...), export a bundle and verify both."""
    from ledger.demo import build_demo
    from ledger.errors import UsageError
    from ledger.storage.store import sqlite_path

    path = sqlite_path(db)
    base = Path(str(path) if path is not None else "coopledger-demo")
    if path is not None and path.exists():
        raise UsageError(f"{db} already exists; give --db a new file")
    keys_dir = base.with_name(base.name + ".keys")
    bundle_dir = base.with_name(base.name + ".bundle")
    for p in (keys_dir, bundle_dir):
        if p.exists():
            raise UsageError(f"{p} already exists; remove it or give --db another name")
    result = build_demo(db, keys_dir, bundle_dir, lambda line: click.echo(f"- {line}"))
    click.echo(f"log verifier key: {result.vkey}")
    click.echo(f"try: coopledger log --db {db}")
    click.echo(f"     coopledger verify --bundle {bundle_dir} --trust '{result.vkey}'")
    ctx.exit(0 if result.ok and result.bundle_ok else 1)
