"""Commands run as a fresh process import only what they need: rules that read registries
filled by other parts (the monthly contribution's sources) must still see every part."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from ledger.keys import write_key_file
from ledger.rules import members, shares
from ledger.rules.members import PersonalData
from tests.support import found_ledger


def test_contribution_run_in_a_fresh_process_charges_dwellings(tmp_path: Path, signers) -> None:  # type: ignore[no-untyped-def]
    f = found_ledger(str(tmp_path / "l.db"), signers)
    f.append(
        "coop-admin", [members.admit("M-1", "household", PersonalData(name="A"), date(2031, 2, 1))]
    )
    f.append(
        "coop-admin",
        [
            shares.register_dwelling(
                "D-1",
                "Pampus-Haven",
                date(2031, 1, 1),
                20_000_000,
                date(2031, 1, 1),
                rule="nominal",
            ),
            shares.sell_share("D-1", "M-1", date(2031, 3, 1)),
        ],
    )
    f.store.dispose()
    for role in ("levy-admin", "log"):
        write_key_file(tmp_path / f"{role}.key", signers[role], b"pw")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPLEDGER_")}
    env.update(
        {
            "COOPLEDGER_PASSPHRASE": "pw",
            "COOPLEDGER_DB": str(tmp_path / "l.db"),
            "COOPLEDGER_LOG_KEY": str(tmp_path / "log.key"),
        }
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "contribution",
            "run",
            "--month",
            "2031-04",
            "--date",
            "2031-04-01",
            "--key",
            str(tmp_path / "levy-admin.key"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "charged 1 homes, workspaces and workplaces for 2031-04: 10.00" in result.stdout
