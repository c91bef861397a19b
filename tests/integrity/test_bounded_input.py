"""Untrusted input is read within bounds: special files are refused at once, every file and
line has a size limit, JSON nesting is bounded, and each refusal names its limit (issue 11,
defect 8, reading half; "What to build" point 5).

Each hostile case runs the CLI as a subprocess under a memory limit and a timeout: the
timeout guards the test run against a hang (it is not a timing assertion)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger import note
from ledger.charter import TEMPLATE
from ledger.export.bundle import export_bundle
from ledger.keys import Signer, write_key_file
from tests.support import found_ledger

MEMORY = 1 << 30  # RLIMIT_AS of each run: 1 GiB
HANG_GUARD = 20.0  # seconds before a run counts as hung
ROOT = Path(__file__).resolve().parents[2]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COOPLEDGER_")}
    base["PYTHONPATH"] = str(ROOT)
    base.update(env or {})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            capture_output=True,
            timeout=HANG_GUARD,
            preexec_fn=_limit_memory,
            env=base,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"coopledger {' '.join(args)} hung (killed after {HANG_GUARD:.0f} s)")
    return (
        done.returncode,
        done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"),
    )


def assert_refused(result: tuple[int, str, str], *words: str) -> str:
    """Exit 1, no traceback, and one line on stderr that holds every word."""
    code, out, err = result
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    assert code == 1, (code, out[-500:], err[-500:])
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, signers: dict[str, Signer]) -> Path:
    """A small exported bundle; tests copy it before spoiling it."""
    where = tmp_path_factory.mktemp("bounded")
    f = found_ledger(str(where / "l.db"), signers)
    with f.store.reading() as tx:
        export_bundle(tx, where / "bundle")
    f.store.dispose()
    return where / "bundle"


@pytest.fixture
def bundle(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(pristine, copy)
    return copy


@pytest.fixture
def trust(signers: dict[str, Signer]) -> str:
    log = signers["log"]
    return note.Verifier.from_public_key(log.name, log.public_key).key_text()


def verify(bundle: Path, trust: str, *extra: str) -> tuple[int, str, str]:
    return run_cli("verify", "--bundle", str(bundle), "--trust", trust, *extra, cwd=bundle.parent)


def replace(path: Path, make: Callable[[Path], None]) -> None:
    path.unlink()
    make(path)


# -- the acceptance cases -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["entries.jsonl", "checkpoints.jsonl", "checkpoint", "manifest.json"]
)
def test_a_bundle_file_linked_to_dev_zero_is_refused(bundle: Path, trust: str, name: str) -> None:
    replace(bundle / name, lambda p: p.symlink_to("/dev/zero"))
    line = assert_refused(verify(bundle, trust), name, "character device", "not a regular file")
    assert "/dev/zero" in line or str(bundle / name) in line


def test_a_100_mb_line_is_refused_naming_the_limit(bundle: Path, trust: str) -> None:
    with open(bundle / "entries.jsonl", "r+b") as f:
        f.seek(0, os.SEEK_END)
        f.write(b'{"entry":')
        f.seek(100_000_000, os.SEEK_CUR)  # sparse: 100 MB of NUL bytes on no disk
        f.write(b"}\n")
    assert_refused(
        verify(bundle, trust),
        "entries.jsonl line 5",
        "longer than 4 MiB",
        "the limit for one entry",
    )


def test_100_000_nested_arrays_are_refused_naming_the_limit(bundle: Path, trust: str) -> None:
    with open(bundle / "entries.jsonl", "ab") as f:
        f.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    code, out, err = verify(bundle, trust)
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    assert code == 1
    assert any(
        "entry 4: malformed" in line and "nested deeper than 1024 levels" in line
        for line in out.splitlines()
    ), out


@pytest.mark.parametrize(
    "name", ["entries.jsonl", "checkpoints.jsonl", "checkpoint", "manifest.json"]
)
def test_a_fifo_in_a_bundle_is_refused_at_once(bundle: Path, trust: str, name: str) -> None:
    replace(bundle / name, lambda p: os.mkfifo(p))
    assert_refused(verify(bundle, trust), name, "is a FIFO", "not a regular file")


def test_a_directory_in_place_of_a_bundle_file_is_refused(bundle: Path, trust: str) -> None:
    replace(bundle / "checkpoint", lambda p: p.mkdir())
    assert_refused(verify(bundle, trust), "checkpoint", "is a directory", "not a regular file")


# -- structured bundles that hung or exhausted memory ---------------------------------------


def test_a_200_mb_checkpoint_line_is_refused_naming_the_limit(bundle: Path, trust: str) -> None:
    with open(bundle / "checkpoints.jsonl", "ab") as f:
        f.write(b'{"size":5,"note":"' + b"A" * 200_000_000 + b'"}\n')
    assert_refused(
        verify(bundle, trust),
        "checkpoints.jsonl line 3",
        "longer than 128 KiB",
        "the limit for one checkpoint",
    )


def test_a_huge_manifest_is_refused_naming_the_limit(bundle: Path, trust: str) -> None:
    with open(bundle / "manifest.json", "r+b") as f:
        f.truncate(300_000_000)  # sparse
    assert_refused(
        verify(bundle, trust), "manifest.json", "larger than 1 MiB", "the limit for a manifest"
    )


def test_a_huge_checkpoint_file_is_refused_naming_the_limit(bundle: Path, trust: str) -> None:
    with open(bundle / "checkpoint", "r+b") as f:
        f.truncate(300_000_000)
    assert_refused(
        verify(bundle, trust), "checkpoint", "larger than 64 KiB", "the limit for a checkpoint"
    )


def test_a_manifest_tree_size_beyond_the_entries_is_a_finding(bundle: Path, trust: str) -> None:
    import json

    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    manifest["tree_size"] = 2**63 - 1
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, out, err = verify(bundle, trust)
    assert code == 1, (out, err)
    assert "manifest: tree_size is 9223372036854775807, but the bundle holds 4 entries" in out


def test_a_fifo_as_the_saved_checkpoint_of_since_is_refused(
    bundle: Path, trust: str, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "saved")
    assert_refused(verify(bundle, trust, "--since", str(tmp_path / "saved")), "saved", "is a FIFO")


# -- key files, charters, receipts ------------------------------------------------------------


def test_a_fifo_as_key_file_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "gov.key")
    result = run_cli("key", "show", "gov.key", cwd=tmp_path, env={"COOPLEDGER_PASSPHRASE": "pw"})
    assert_refused(result, "gov.key", "is a FIFO", "not a regular file")


def test_a_key_file_larger_than_its_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.key").write_bytes(b"coop-ledger key name: x\n" + b"A" * 100_000)
    result = run_cli("key", "show", "big.key", cwd=tmp_path, env={"COOPLEDGER_PASSPHRASE": "pw"})
    assert_refused(result, "big.key", "larger than 16 KiB", "the limit for a key file")


def _key_files(tmp_path: Path, signers: dict[str, Signer]) -> dict[str, str]:
    write_key_file(tmp_path / "gov.key", signers["governor"], b"pw")
    write_key_file(tmp_path / "log.key", signers["log"], b"pw")
    return {"COOPLEDGER_PASSPHRASE": "pw", "COOPLEDGER_DB": str(tmp_path / "l.db")}


def test_a_fifo_as_charter_of_init_is_refused_at_once(
    tmp_path: Path, signers: dict[str, Signer]
) -> None:
    env = _key_files(tmp_path, signers)
    os.mkfifo(tmp_path / "charter.toml")
    result = run_cli(
        "init", "--origin", signers["log"].name, "--charter", "charter.toml",
        "--key", "gov.key", "--log-key", "log.key", "--date", "2031-01-01",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert_refused(result, "charter.toml", "is a FIFO")


def test_a_fifo_as_charter_amendment_is_refused_at_once(
    tmp_path: Path, signers: dict[str, Signer]
) -> None:
    env = _key_files(tmp_path, signers)
    found_ledger(str(tmp_path / "l.db"), signers).store.dispose()
    os.mkfifo(tmp_path / "amended.toml")
    result = run_cli(
        "charter", "amend", "amended.toml", "--reason", "r",
        "--key", "gov.key", "--log-key", "log.key", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert_refused(result, "amended.toml", "is a FIFO")


def test_a_charter_larger_than_its_limit_is_refused(
    tmp_path: Path, signers: dict[str, Signer]
) -> None:
    env = _key_files(tmp_path, signers)
    (tmp_path / "charter.toml").write_text(TEMPLATE + "#" * (2 << 20) + "\n", encoding="utf-8")
    result = run_cli(
        "init", "--origin", signers["log"].name, "--charter", "charter.toml",
        "--key", "gov.key", "--log-key", "log.key", "--date", "2031-01-01",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert_refused(result, "charter.toml", "larger than 1 MiB", "the limit for a charter")


def test_a_deeply_nested_charter_is_refused_naming_the_limit(
    tmp_path: Path, signers: dict[str, Signer]
) -> None:
    env = _key_files(tmp_path, signers)
    (tmp_path / "charter.toml").write_text(
        TEMPLATE + "x = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8"
    )
    result = run_cli(
        "init", "--origin", signers["log"].name, "--charter", "charter.toml",
        "--key", "gov.key", "--log-key", "log.key", "--date", "2031-01-01",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert_refused(result, "charter.toml", "nested deeper than", "the limit for TOML")


@pytest.mark.parametrize("what", ["receipt", "entry"])
def test_verify_receipt_refuses_special_files(bundle: Path, trust: str, what: str) -> None:
    tmp = bundle.parent
    os.mkfifo(tmp / "fifo")
    (tmp / "receipt").write_text("c2sp.org/tlog-proof@v1\nindex 0\n\nx\n", encoding="utf-8")
    receipt, entry = (
        ("fifo", str(bundle / "entries.jsonl")) if what == "receipt" else ("receipt", "fifo")
    )
    result = run_cli("verify-receipt", receipt, "--vkey", trust, "--entry", entry, cwd=tmp)
    assert_refused(result, "fifo", "is a FIFO")


def test_a_receipt_larger_than_its_limit_is_refused(bundle: Path, trust: str) -> None:
    tmp = bundle.parent
    with open(tmp / "receipt", "wb") as f:
        f.write(b"c2sp.org/tlog-proof@v1\nindex 0\n")
        f.write(b"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n" * 1_000_000)
        f.write(b"\nx\n")
    result = run_cli(
        "verify-receipt", "receipt", "--vkey", trust, "--entry", str(bundle / "entries.jsonl"),
        cwd=tmp,
    )  # fmt: skip
    assert_refused(result, "receipt", "larger than 1 MiB", "the limit for a receipt")


def test_gem_verify_refuses_a_manifest_linked_to_dev_zero(bundle: Path, trust: str) -> None:
    gem = bundle.parent / "gem"
    gem.mkdir()
    (gem / "manifest.json").symlink_to("/dev/zero")
    result = run_cli(
        "gem", "verify", str(gem), "--bundle", str(bundle), "--trust", trust, cwd=bundle.parent
    )
    assert_refused(result, "manifest.json", "character device")


def test_findings_beyond_the_cap_are_counted_not_kept(bundle: Path, trust: str) -> None:
    from ledger.verify.audit import MAX_FINDINGS

    junk = MAX_FINDINGS + 2_000
    (bundle / "entries.jsonl").write_bytes(b"not json\n" * junk)
    code, out, err = verify(bundle, trust)
    assert code == 1 and "Traceback" not in err, err
    lines = out.splitlines()
    kept = [line for line in lines if line.startswith(("entry ", "bundle: "))]
    assert len(kept) == MAX_FINDINGS
    more = next(line for line in lines if line.startswith("... and "))
    omitted = int(more.split()[2])
    assert omitted >= junk - MAX_FINDINGS
    assert f"FAILED ({MAX_FINDINGS + omitted} findings" in out
