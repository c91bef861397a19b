"""The CLI path from founding to verification, through the real entry point."""

from __future__ import annotations


def test_founded_ledger_verifies(cli_ledger) -> None:  # type: ignore[no-untyped-def]
    cli = cli_ledger
    cli.ok(
        "member",
        "admit",
        "--id",
        "M-1",
        "--kind",
        "person",
        "--name",
        "A. Jansen",
        "--key",
        str(cli.keys["coop-admin"]),
    )
    out = cli.ok("verify").out
    assert "OK" in out
    assert "entry 5" not in out
