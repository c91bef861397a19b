"""Offline verification is a pure reader (issue 13 point 5): ledger.verify and `coopledger
verify --bundle` load no database library and leave no file behind, even when a large replay
spills to disk or the verifier is killed in the middle of it.

Each check runs in a fresh interpreter, so that what it imports and writes is its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "vectors" / "ledgers" / "edition-1-demo"
VKEY = "pampus.example/coop+0c5351b2+AQ/HCnXbKK9CuNZnJQSvwRk+bVk3DlTplqVsnjxhtC37"
VERIFY = ["verify", "--bundle", str(DEMO), "--trust", VKEY]

# The child runs `coopledger verify --bundle` in-process and prints one JSON line of facts
# about itself: its exit code, the database modules it loaded, the files it opened to write.
CHILD = """
import json, os, sys

written = []

def hook(event, args):
    if event == "open" and isinstance(args[2], int):
        if args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC):
            written.append(str(args[0]))
    elif event == "sqlite3.connect":
        written.append("sqlite3:" + str(args[0]))

sys.addaudithook(hook)
{setup}
from cli.main import main
try:
    main({argv!r})
    code = 0
except SystemExit as e:
    code = e.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel"))
print(json.dumps({{"code": code, "loaded": loaded[:5], "written": written}}))
"""

# Spill after 5 changed records (the demo changes many more) into a file with a page cache of
# one page, so that SQLite writes the file at once; at the first flush after which the file is
# there, show where it is: open by this process, in TMPDIR, with no name there.
SPILL = """
import signal
import ledger.verify.spill as spill

spill.PENDING_RECORDS = 5
real_flush = spill.SpillState.flush

def open_fds():
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the descriptor listdir itself used
            pass
    return links

def flush(self):
    self._file().execute("PRAGMA cache_size = 1")
    real_flush(self)
    tmp = os.environ["TMPDIR"]
    spilled = [link for link in open_fds() if link.startswith(tmp)]
    if spilled and not getattr(flush, "shown", False):
        flush.shown = True
        print(json.dumps({"spilled": spilled, "listed": os.listdir(tmp)}), flush=True)
        if os.environ.get("KILL_AT_SPILL"):
            os.kill(os.getpid(), signal.SIGKILL)

spill.SpillState.flush = flush
"""


def run_child(
    tmp_path: Path, setup: str = "", kill: bool = False
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the child with an empty TMPDIR and an empty working folder; no bytecode written."""
    tmpdir, cwd = tmp_path / "tmp", tmp_path / "cwd"
    tmpdir.mkdir()
    cwd.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("SQLITE_TMPDIR", None)
    if kill:
        env["KILL_AT_SPILL"] = "1"
    script = CHILD.format(setup=setup, argv=VERIFY)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert list(cwd.iterdir()) == []
    return done, tmpdir


def facts(done: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_importing_ledger_verify_loads_no_database_library() -> None:
    script = (
        "import importlib, pkgutil, sys, ledger.verify\n"
        "for m in pkgutil.iter_modules(ledger.verify.__path__, 'ledger.verify.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel')))\n"
        "print(sorted(m for m in sys.modules if m.startswith('ledger.verify.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded, modules = done.stdout.splitlines()
    assert loaded == "[]"
    assert "ledger.verify.bundle" in modules and "ledger.verify.audit" in modules


def test_verify_bundle_loads_no_database_library_and_writes_no_file(tmp_path: Path) -> None:
    done, tmpdir = run_child(tmp_path)
    assert done.returncode == 0, done.stderr
    [result] = facts(done)
    assert result["code"] == 0  # the demo verifies
    assert "tree size 60: OK" in done.stdout
    assert result["loaded"] == []
    assert result["written"] == []  # no file opened to write, no SQLite database
    assert list(tmpdir.iterdir()) == []


needs_proc = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="shows the open spill file through /proc"
)


@needs_proc
def test_a_spilled_verification_gives_the_same_result_and_leaves_no_file(tmp_path: Path) -> None:
    done, tmpdir = run_child(tmp_path, SPILL)
    assert done.returncode == 0, done.stderr
    spilled, result = facts(done)
    # The spill file existed, open in TMPDIR, but with no name there: nothing to leave behind.
    paths = spilled["spilled"]
    assert isinstance(paths, list) and paths
    assert all(str(path).endswith(" (deleted)") for path in paths)
    assert spilled["listed"] == []
    assert result["code"] == 0 and "tree size 60: OK" in done.stdout
    assert result["loaded"] == []
    assert result["written"] == ["sqlite3:"]  # SQLite's private temporary database only
    assert list(tmpdir.iterdir()) == []


@needs_proc
def test_a_verifier_killed_while_spilling_leaves_no_file(tmp_path: Path) -> None:
    done, tmpdir = run_child(tmp_path, SPILL, kill=True)
    assert done.returncode == -signal.SIGKILL
    [spilled] = facts(done)
    assert spilled["spilled"]  # it was killed with its spill file open
    assert list(tmpdir.iterdir()) == []
