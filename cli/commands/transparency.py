"""`coopledger checkpoint`, `proof` and `verify-receipt`: the transparency view of the ledger."""

from __future__ import annotations

from pathlib import Path

import click

from cli.app import COUNT, MAX_SEQ, SEQ, db_option, emit, json_option, reading


@click.command()
@click.option(
    "--size",
    type=SEQ,
    help="A past tree size that has a signed checkpoint (default: the latest).",
)
@click.option(
    "--vkey", "vkey_only", is_flag=True, help="Print the log's verifier key, which auditors pin."
)
@db_option
@json_option
def checkpoint(size: int | None, vkey_only: bool, db: str, as_json: bool) -> None:
    """Print the signed checkpoint (a C2SP tlog-checkpoint in a signed note)."""
    from ledger.note import b64encode
    from ledger.transparency import log_verifier, signed_checkpoint

    with reading(db) as tx:
        verifier = log_verifier(tx)
        if vkey_only:
            emit({"vkey": verifier.key_text()}, as_json, verifier.key_text())
            return
        cp_size, root, text = signed_checkpoint(tx, size)
    data = {
        "origin": verifier.name,
        "tree_size": cp_size,
        "root_hash": b64encode(root),
        "note": text,
    }
    emit(data, as_json, lambda: click.echo(text, nl=False))


@click.group()
def proof() -> None:
    """Inclusion and consistency proofs."""


@proof.command("inclusion")
@click.argument("seq", type=SEQ)
@click.option(
    "--size",
    type=COUNT,
    help="Tree size of a signed checkpoint (default: the latest).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the receipt to FILE."
)
@db_option
def proof_inclusion(seq: int, size: int | None, out: Path | None, db: str) -> None:
    """A C2SP tlog-proof@v1 receipt that entry SEQ is in the log."""
    from ledger.files import check_file, replace_file
    from ledger.transparency import inclusion_receipt

    if out is not None:
        check_file(out, "receipt", replace=True)
    with reading(db) as tx:
        text = inclusion_receipt(tx, seq, size)
    if out is None:
        click.echo(text, nl=False)
    else:
        replace_file(out, text.encode("utf-8"), "receipt")
        click.echo(f"wrote receipt for entry {seq} to {out}")


@proof.command("consistency")
@click.argument("old", type=SEQ)
@click.argument("new", type=SEQ)
@db_option
@json_option
def proof_consistency(old: int, new: int, db: str, as_json: bool) -> None:
    """The consistency proof from tree size OLD to NEW (base64 hashes, one a line)."""
    from ledger.transparency import consistency

    with reading(db) as tx:
        result = consistency(tx, old, new)
    emit(result.as_json(), as_json, lambda: click.echo(result.text(), nl=False))


@click.command("verify-receipt")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--vkey", required=True, help="The log's verifier key (what auditors pin).")
@click.option(
    "--entry",
    "entry",
    required=True,
    help="The entry: its sequence number (read from --db) or a file holding its leaf bytes "
    "(one line of a bundle's entries.jsonl).",
)
@db_option
@json_option
def verify_receipt(file: Path, vkey: str, entry: str, db: str, as_json: bool) -> None:
    """Check a receipt offline: the checkpoint's signature and the entry's inclusion proof."""
    from ledger import limits, merkle
    from ledger.errors import NotFoundError
    from ledger.note import parse_verifier_key
    from ledger.verify.receipts import check_receipt

    verifier = parse_verifier_key(vkey)
    text = limits.read_text(file, "receipt", limits.RECEIPT_BYTES)
    expected_index: int | None = None
    if entry.isascii() and entry.isdigit():  # '²' is a digit to str.isdigit, not to int()
        expected_index = int(entry)
        data = None
        if expected_index <= MAX_SEQ:
            with reading(db) as tx:
                data = tx.entry(expected_index)
        if data is None:
            raise NotFoundError(f"no entry {entry} in {db}")
    else:
        data = limits.read_bytes(Path(entry), "entry file", limits.ENTRY_LINE_BYTES)
        data = data.rstrip(b"\r\n")
    cp = check_receipt(
        text,
        merkle.leaf_hash(data),
        verifier,
        expected_index=expected_index,
        what=f"receipt {file}",
    )
    result = {"ok": True, "origin": cp.origin, "tree_size": cp.tree_size}
    emit(result, as_json, f"receipt OK: the entry is in {cp.origin} at tree size {cp.tree_size}")
