"""Fixtures for the integrity tests: a CLI-founded ledger and the demo ledger, on each backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.demo import DEMO_PASSPHRASE, build_demo
from ledger.keys import Signer, read_key_file
from tests.support import CliRunner, found_through_cli


@pytest.fixture
def cli_any(tmp_path: Path, store_target: str) -> CliRunner:
    """A ledger founded through the CLI on each backend, the administrators authorised;
    COOPLEDGER_DB and COOPLEDGER_LOG_KEY set, `keys` maps role -> key file, `db` the target."""
    cli = CliRunner(tmp_path)
    keys = found_through_cli(cli, tmp_path, store_target, roles=("coop-admin", "levy-admin"))
    cli.keys = keys  # type: ignore[attr-defined]
    cli.db = store_target  # type: ignore[attr-defined]
    return cli


@dataclass
class Demo:
    target: str
    signers: dict[str, Signer]


@pytest.fixture
def demo_any(tmp_path: Path, store_target: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    """The README's demo ledger on each backend, with its signers (the demo writes its GEM
    exports beside the database, or in the working directory for PostgreSQL)."""
    monkeypatch.chdir(tmp_path)
    keys = tmp_path / "demo.keys"
    result = build_demo(store_target, keys, tmp_path / "demo.bundle", lambda _line: None)
    assert result.ok and result.bundle_ok
    signers = {
        label: read_key_file(keys / f"{label}.key", DEMO_PASSPHRASE.encode())
        for label in ("governor", "coop-admin", "werk-admin", "levy-admin", "log")
    }
    yield Demo(store_target, signers)


Runner = Callable[..., Any]
