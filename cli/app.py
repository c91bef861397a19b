"""Shared CLI plumbing: options, key loading with passphrases, opening the ledger, output."""

from __future__ import annotations

import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from ledger.errors import KeyFileError, LedgerError, UsageError

F = TypeVar("F", bound=Callable[..., Any])

# Sequence numbers and tree sizes on the command line: what an entry's `seq` can hold
# (docs/FORMAT.md), so that a larger number is a usage error, not a database overflow.
MAX_SEQ = 2**53 - 1
SEQ = click.IntRange(0, MAX_SEQ)
COUNT = click.IntRange(1, MAX_SEQ)

PASSPHRASE_ENV = "COOPLEDGER_PASSPHRASE"
LOG_PASSPHRASE_ENV = "COOPLEDGER_LOG_PASSPHRASE"


def db_option(f: F) -> F:
    return click.option(
        "--db",
        envvar="COOPLEDGER_DB",
        default="coopledger.db",
        show_default=True,
        help="SQLite file, or postgresql://user@host/dbname (env COOPLEDGER_DB).",
    )(f)


FILE = click.Path(dir_okay=False, path_type=Path)


def key_option(help_text: str) -> Callable[[F], F]:
    """--key: a signing key file, from the option or COOPLEDGER_KEY."""
    return click.option(
        "--key", envvar="COOPLEDGER_KEY", type=FILE, help=f"{help_text} (env COOPLEDGER_KEY)."
    )


def log_key_option(help_text: str) -> Callable[[F], F]:
    """--log-key: the ledger's log key file, from the option or COOPLEDGER_LOG_KEY."""
    return click.option(
        "--log-key",
        envvar="COOPLEDGER_LOG_KEY",
        type=FILE,
        help=f"{help_text} (env COOPLEDGER_LOG_KEY).",
    )


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(f)


@dataclass(frozen=True)
class WriteRequest:
    """What every writing command is given besides its own options: where, who signs, the
    log key, idempotency, receipt and output form."""

    db: str
    as_json: bool
    key: Path | None
    log_key: Path | None
    request_id: str | None
    receipt: Path | None


_WRITE_FIELDS = ("db", "as_json", "key", "log_key", "request_id", "receipt")


def write_options(command: F) -> F:
    """The options every writing command takes, handed to it as one `w: WriteRequest`."""

    @functools.wraps(command)
    def with_request(*args: Any, **kwargs: Any) -> Any:
        w = WriteRequest(**{name: kwargs.pop(name) for name in _WRITE_FIELDS})
        return command(*args, w=w, **kwargs)

    f: Any = with_request
    f = click.option(
        "--receipt",
        type=FILE,
        help="Also write a C2SP tlog-proof receipt for the (last) new entry to this file.",
    )(f)
    f = click.option(
        "--request-id",
        help="Idempotency key: retrying with the same id returns the original receipt.",
    )(f)
    f = log_key_option("The ledger's log key, which signs the new checkpoint")(f)
    f = key_option("Your signing key file")(f)
    f = json_option(f)
    result: F = db_option(f)
    return result


def passphrase(env_names: Sequence[str], path: Path, confirm: bool = False) -> bytes:
    """From the environment, else a hidden prompt on a terminal; never from an argument."""
    for name in env_names:
        value = os.environ.get(name)
        if value is not None:
            return value.encode("utf-8")
    if sys.stdin.isatty():
        return click.prompt(
            f"Passphrase for {path}", hide_input=True, confirmation_prompt=confirm
        ).encode("utf-8")
    raise KeyFileError(f"no passphrase for {path}: set {env_names[0]} or run on a terminal")


def load_signer(path: Path | None, what: str = "--key") -> Any:
    from ledger.keys import read_key_file

    if path is None:
        raise UsageError(f"{what} is required (or set COOPLEDGER_KEY)")
    return read_key_file(path, passphrase([PASSPHRASE_ENV], path))


def load_log_signer(path: Path | None) -> Any:
    from ledger.keys import read_key_file

    if path is None:
        raise UsageError("--log-key is required for writing (or set COOPLEDGER_LOG_KEY)")
    return read_key_file(path, passphrase([LOG_PASSPHRASE_ENV, PASSPHRASE_ENV], path))


def log_memory(log_key: Path | None) -> Any:
    """The log key's memory of its last checkpoint: beside the key file, or $COOPLEDGER_LOG_STATE."""
    from ledger.log_memory import LogMemory

    assert log_key is not None  # load_log_signer refused a missing --log-key already
    return LogMemory.beside(log_key, notice=lambda message: click.echo(message, err=True))


def open_store(db: str, create: bool = False) -> Any:
    from ledger.storage.store import Store

    return Store(db, create=create)


@contextmanager
def reading(db: str) -> Iterator[Any]:
    store = open_store(db)
    try:
        with store.reading() as tx:
            yield tx
    finally:
        store.dispose()


def emit(data: Any, as_json: bool, text: Callable[[], None] | str | None = None) -> None:
    """Print JSON or text; what came from a ledger or a bundle may hold control characters,
    so everything printed goes through ledger.types.printable (escaped, never raw)."""
    if as_json:
        echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, default=str))
    elif callable(text):
        from ledger.types import printable

        captured = io.StringIO()
        with redirect_stdout(captured):
            text()
        click.echo(printable(captured.getvalue()), nl=False)
    elif text is not None:
        echo(text)


def echo(text: str) -> None:
    """One line (or lines) of output, control characters escaped."""
    from ledger.types import printable

    click.echo(printable(text))


def append(
    w: WriteRequest, commands: Sequence[Any], describe: Callable[[Any], str] | None = None
) -> Any:
    """Sign and append the commands as one transaction, then print the receipt reference."""
    from ledger.files import check_file
    from ledger.service import Ledger

    if w.receipt is not None:
        check_file(
            w.receipt, "receipt", replace=True
        )  # before the commit: a bad path appends nothing
    signer = load_signer(w.key)
    log_signer = load_log_signer(w.log_key)
    store = open_store(w.db)
    try:
        memory = log_memory(w.log_key)
        result = Ledger(store).append(commands, signer, log_signer, w.request_id, memory)
        if w.receipt is not None:
            save_receipt(store, result, w.receipt)
    finally:
        store.dispose()
    print_receipt(result, w.as_json, describe)
    return result


def save_receipt(store: Any, result: Any, path: Path) -> None:
    """Write the receipt of the last new entry. The entry is committed by now, so a failure is
    a warning that says how to get the receipt, never an error that invites a retry."""
    seq = result.entries[-1].seq
    try:
        write_receipt(store, seq, result.checkpoint_size, path)
    except Exception as e:  # whatever failed, the entry stands
        reason = str(e) if isinstance(e, LedgerError) else f"{type(e).__name__}: {e}"
        click.echo(
            f"coopledger: warning: entry {seq} committed; receipt not written: {reason}; "
            f"run coopledger proof inclusion {seq} --out FILE",
            err=True,
        )


def write_receipt(store: Any, seq: int, size: int, path: Path) -> None:
    from ledger.files import replace_file
    from ledger.transparency import inclusion_receipt

    with store.reading() as tx:
        text = inclusion_receipt(tx, seq, size)
    replace_file(path, text.encode("utf-8"), "receipt")


def receipt_json(result: Any) -> dict[str, Any]:
    return {
        "entries": [
            {
                "seq": a.seq,
                "kind": a.kind,
                "leaf_hash": a.leaf_hash.hex(),
                "effective": a.effective.isoformat(),
            }
            for a in result.entries
        ],
        "checkpoint_size": result.checkpoint_size,
        "replayed": result.replayed,
    }


def print_receipt(result: Any, as_json: bool, describe: Callable[[Any], str] | None = None) -> None:
    if as_json:
        emit(receipt_json(result), True)
        return
    if describe is not None and result.facts:
        echo(describe(result))
    for a in result.entries:
        click.echo(
            f"entry {a.seq} {a.kind} leaf {a.leaf_hash.hex()[:16]} checkpoint {result.checkpoint_size}"
        )
    if result.replayed:
        click.echo("(request already processed: this is the original receipt)")
