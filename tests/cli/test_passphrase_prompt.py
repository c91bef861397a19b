"""On a terminal, a missing COOPLEDGER_PASSPHRASE becomes a hidden prompt (checked through a pty)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path


def _run_on_pty(args: list[str], answers: list[bytes], cwd: Path) -> tuple[int, bytes]:
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPLEDGER_")}
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env)
    os.close(slave)
    seen = b""
    for answer in answers:
        deadline = time.monotonic() + 30
        # wait for a prompt: a last line ending in ": " (passphrase, or its confirmation)
        while not seen.split(b"\n")[-1].rstrip().endswith(b":") and time.monotonic() < deadline:
            seen += os.read(master, 1024)
        os.write(master, answer + b"\n")
        seen += b"\n"
    code = proc.wait(timeout=60)
    try:
        while True:
            chunk = os.read(master, 1024)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    os.close(master)
    return code, seen


def test_key_new_prompts_twice_and_hides_the_passphrase(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "cli.main", "key", "new", "--name", "tty-key", "--out", "t.key"]
    code, seen = _run_on_pty(cmd, [b"s3cret-phrase", b"s3cret-phrase"], tmp_path)
    assert code == 0, seen
    assert b"s3cret-phrase" not in seen  # hidden input is not echoed
    assert (tmp_path / "t.key").exists()
    code, seen = _run_on_pty(
        [sys.executable, "-m", "cli.main", "key", "show", "t.key", "--vkey"],
        [b"s3cret-phrase"],
        tmp_path,
    )
    assert code == 0 and b"tty-key+" in seen
