"""`coopledger key`: make and show key files; authorise and revoke keys in the ledger."""

from __future__ import annotations

from pathlib import Path

import click

from cli.app import PASSPHRASE_ENV, WriteRequest, append, emit, passphrase, write_options
from cli.params import TEXT


@click.group()
def key() -> None:
    """Make, show, authorise and revoke signing keys."""


@key.command("new")
@click.option("--name", required=True, help="Key name (for a log key: the ledger's origin).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def key_new(name: str, out: Path) -> None:
    """Make an Ed25519 key, encrypted with a passphrase (COOPLEDGER_PASSPHRASE or a prompt)."""
    from ledger.files import check_file
    from ledger.keys import check_key_name, generate, write_key_file

    check_key_name(name)
    check_file(out, "key file", replace=False)
    secret = passphrase([PASSPHRASE_ENV], out, confirm=True)
    signer = generate(name)
    write_key_file(out, signer, secret)
    click.echo(f"wrote {out} (mode 0600)")
    click.echo(f"key id: {signer.key_id}")
    click.echo(f"vkey:   {signer.vkey}")


@key.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--vkey", "vkey_only", is_flag=True, help="Print only the C2SP verifier key string.")
@click.option("--json", "as_json", is_flag=True)
def key_show(file: Path, vkey_only: bool, as_json: bool) -> None:
    """Show a key file's public key, key id and verifier key."""
    from ledger.keys import public_key_b64, read_key_file

    signer = read_key_file(file, passphrase([PASSPHRASE_ENV], file))
    if vkey_only:
        click.echo(signer.vkey)
        return
    data = {
        "name": signer.name,
        "public_key": public_key_b64(signer.public_key),
        "key_id": signer.key_id,
        "vkey": signer.vkey,
    }
    emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))


@key.command("authorize")
@click.argument("vkey")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["governor", "coop-admin", "werk-admin", "levy-admin"]),
)
@write_options
def key_authorize(
    vkey: str,
    roles: tuple[str, ...],
    w: WriteRequest,
) -> None:
    """Authorise the key VKEY (its C2SP verifier key string) for roles (governor signs)."""
    from ledger.note import parse_verifier_key
    from ledger.rules.governance import authorize_key

    verifier = parse_verifier_key(vkey)
    command = authorize_key(verifier.name, verifier.public_key, roles)  # type: ignore[arg-type]
    append(w, [command])


@key.command("revoke")
@click.argument("keyid")
@click.option("--reason", required=True, type=TEXT)
@write_options
def key_revoke(
    keyid: str,
    reason: str,
    w: WriteRequest,
) -> None:
    """Revoke a key (by key id or an 8+ digit prefix); its earlier entries stay valid."""
    from ledger.rules.governance import revoke_key

    append(w, [revoke_key(keyid, reason)])


@key.command("list")
@click.option("--db", envvar="COOPLEDGER_DB", default="coopledger.db", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def key_list(db: str, as_json: bool) -> None:
    """List the keys the ledger knows, with roles and status."""
    from cli.app import reading

    with reading(db) as tx:
        rows = [{"key_id": k, **r} for k, r in tx.state.scan("key")]
    rows.sort(key=lambda r: r["authorized_seq"])

    def text() -> None:
        for r in rows:
            status = (
                "active"
                if r["revoked_seq"] is None
                else f"revoked at {r['revoked_seq']}: {r['revoked_reason']}"
            )
            click.echo(
                f"{r['key_id'][:16]}  {r['name']:<24} {','.join(r['roles']):<28} since {r['authorized_seq']}  {status}"
            )

    emit(rows, as_json, text)
