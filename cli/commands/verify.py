"""`coopledger verify` and `coopledger bundle export`: the auditor's commands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from cli.app import db_option, echo, emit, log_key_option, reading


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal; nothing when output is piped."""
    if not sys.stderr.isatty() or total < 2000:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _count_lines(path: Path) -> int:
    """Lines of a bundle file, for the progress bar; a FIFO or a device is refused here."""
    from ledger.limits import open_regular

    if not path.exists():
        return 0
    with open_regular(path, "bundle file") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))


def _render(report: Any, as_json: bool, what: str) -> None:
    if as_json:
        emit(report.as_json(), True)
    else:
        for finding in report.findings:
            echo(finding.line(report.scope))
        if report.omitted:
            echo(f"... and {report.omitted} more findings, not shown")
        first = report.first_bad_seq
        where = "" if first is None else f", first at entry {first}"
        state = "OK" if report.ok else f"FAILED ({report.total_findings} findings{where})"
        click.echo(
            f"{what}: {report.entries} entries, {report.checkpoints} checkpoints checked, "
            f"tree size {report.tree_size}: {state}"
        )


@click.command()
@click.option(
    "--bundle",
    type=click.Path(file_okay=False, path_type=Path),
    help="Verify an exported bundle offline.",
)
@click.option(
    "--trust", help="The log's verifier key (required with --bundle; optional on a database)."
)
@click.option(
    "--since",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Saved checkpoint from the last audit: verify only what is new, then save the new one.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes to verify a bundle with: this one, plus workers - 1 that check signatures "
    "(the findings are the same).",
)
@log_key_option(
    "Optional, on a database: also check the projection's MACs and the head's state digest"
)
@db_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def verify(
    ctx: click.Context,
    bundle: Path | None,
    trust: str | None,
    since: Path | None,
    workers: int,
    log_key: Path | None,
    db: str,
    as_json: bool,
) -> None:
    """Check sequence, links, signatures, roles, rules and checkpoints. Exit 0 clean, 1 findings."""
    from ledger.errors import UsageError
    from ledger.note import parse_verifier_key

    trusted = parse_verifier_key(trust) if trust else None
    if bundle is not None:
        if trusted is None:
            raise UsageError("--trust VKEY is required with --bundle: the auditor pins the log key")
        from ledger.verify.bundle import ENTRIES, verify_bundle, verify_bundle_since

        total = _count_lines(bundle / ENTRIES)
        with _progress(total, "verifying") as progress:
            if since is not None:
                report = verify_bundle_since(bundle, trusted, since, progress)
            else:
                report = verify_bundle(bundle, trusted, progress, workers=workers)
        _render(report, as_json, f"bundle {bundle}")
        if since is not None and report.ok and not as_json:
            click.echo(f"saved the new checkpoint (tree size {report.tree_size}) to {since}")
    else:
        if since is not None:
            raise UsageError("--since works with --bundle")
        from ledger.checks import verify_store

        mac_key = None
        if log_key is not None and str(log_key):
            from cli.app import load_log_signer
            from ledger.derived_keys import PROJECTION_MAC, derive

            mac_key = derive(load_log_signer(log_key), PROJECTION_MAC)
        with reading(db) as tx:
            total = tx.head()[0]
            with _progress(total, "verifying") as progress:
                report = verify_store(tx, trusted, progress, mac_key)
        _render(report, as_json, f"ledger {db}")
    ctx.exit(0 if report.ok else 1)


@click.group()
def bundle() -> None:
    """Export an auditor bundle."""


@bundle.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@db_option
@click.option("--json", "as_json", is_flag=True)
def bundle_export(directory: Path, db: str, as_json: bool) -> None:
    """Write entries, checkpoints and a manifest to DIRECTORY for an offline audit."""
    from ledger.export.bundle import export_bundle

    with reading(db) as tx:
        out = export_bundle(tx, directory)
    data = {"directory": str(out.directory), "entries": out.entries, "checkpoints": out.checkpoints}
    emit(
        data,
        as_json,
        f"exported {out.entries} entries and {out.checkpoints} checkpoints to {out.directory}",
    )
