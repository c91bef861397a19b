"""Issue 11, defect 6 and the export half of defect 8: every file the ledger writes is written
safely (checked first, never through a symlink, complete or absent, a full disk named)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.charter import TEMPLATE
from ledger.demo import ORIGIN
from tests.conftest import drop_pg_schema, pg_schema_url
from tests.support import CliResult, CliRunner

ADMIT = ("member", "admit", "--id", "M-1", "--kind", "person", "--name", "Ada")
VICTIM_TEXT = "the symlink's target, which nothing may overwrite\n"


# -- fixtures -------------------------------------------------------------------------------------


def found_through_cli(cli: CliRunner, tmp_path: Path, db: str) -> Any:
    """A ledger founded through the CLI on `db`, a coop-admin key authorised; `cli.keys`."""
    (tmp_path / "charter.toml").write_text(TEMPLATE, encoding="utf-8")
    keys = {role: tmp_path / f"{role}.key" for role in ("governor", "coop-admin", "log")}
    for role, path in keys.items():
        cli.ok("key", "new", "--name", ORIGIN if role == "log" else f"t-{role}", "--out", str(path))
    cli.env.update({"COOPLEDGER_DB": db, "COOPLEDGER_LOG_KEY": str(keys["log"])})
    gov = ("--key", str(keys["governor"]))
    cli.ok("init", "--origin", ORIGIN, "--charter", "charter.toml", *gov, "--date", "2031-01-01")
    vkey = cli.ok("key", "show", str(keys["coop-admin"]), "--vkey").out.strip()
    cli.ok("key", "authorize", vkey, "--role", "coop-admin", *gov)
    cli.keys = keys  # type: ignore[attr-defined]
    return cli


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_cli(request: pytest.FixtureRequest, tmp_path: Path, cli: CliRunner) -> Iterator[Any]:
    """The CLI on a founded ledger, on each backend (a receipt failure must not double an entry)."""
    if request.param == "sqlite":
        yield found_through_cli(cli, tmp_path, str(tmp_path / "ledger.db"))
        return
    base = request.getfixturevalue("pg_database")
    url, schema = pg_schema_url(base)
    try:
        yield found_through_cli(cli, tmp_path, url)
    finally:
        drop_pg_schema(base, schema)


@pytest.fixture
def sqlite_cli(tmp_path: Path, cli: CliRunner) -> Any:
    return found_through_cli(cli, tmp_path, str(tmp_path / "ledger.db"))


def tree_size(cli: Any) -> int:
    return int(json.loads(cli.ok("checkpoint", "--json").out)["tree_size"])


def admit(cli: Any, *extra: str) -> CliResult:
    return cli(*ADMIT, "--key", str(cli.keys["coop-admin"]), *extra)


def victim(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "victim.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(VICTIM_TEXT)
    return path


def one_line_refusal(result: CliResult, *words: str) -> None:
    assert result.code == 1, (result.code, result.out, result.err)
    assert "Traceback" not in result.err and "internal error" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coopledger: error: "), result.err
    for word in words:
        assert word in lines[0], (word, lines[0])


# -- receipts: checked before the commit, a later failure is a warning ----------------------------


def test_a_receipt_in_a_missing_folder_is_refused_before_the_commit(ledger_cli: Any) -> None:
    cli = ledger_cli
    before = tree_size(cli)
    result = admit(cli, "--receipt", "no-such-folder/r.tlog-proof")
    one_line_refusal(result, "no-such-folder")
    assert tree_size(cli) == before


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "device"])
def test_a_receipt_at_a_symlink_or_special_file_is_refused_before_the_commit(
    sqlite_cli: Any, tmp_path: Path, kind: str
) -> None:
    cli = sqlite_cli
    target = victim(tmp_path)
    if kind == "device":
        path = Path("/dev/null")
    else:
        path = tmp_path / "r.tlog-proof"
        path.symlink_to(target if kind == "symlink" else tmp_path / "elsewhere" / "new.txt")
    before = tree_size(cli)
    result = admit(cli, "--receipt", str(path))
    one_line_refusal(result, str(path))
    assert tree_size(cli) == before
    assert target.read_text() == VICTIM_TEXT
    assert not (tmp_path / "elsewhere" / "new.txt").exists()


def test_proof_inclusion_out_never_writes_through_a_symlink(
    sqlite_cli: Any, tmp_path: Path
) -> None:
    target = victim(tmp_path)
    (tmp_path / "p.tlog-proof").symlink_to(target)
    one_line_refusal(
        sqlite_cli("proof", "inclusion", "1", "--out", "p.tlog-proof"), "symbolic link"
    )
    assert target.read_text() == VICTIM_TEXT
    sqlite_cli.ok("proof", "inclusion", "0", "--out", "q.tlog-proof")
    sqlite_cli.ok("proof", "inclusion", "1", "--out", "q.tlog-proof")  # a receipt is replaced
    assert (tmp_path / "q.tlog-proof").read_text() == sqlite_cli.ok("proof", "inclusion", "1").out


def test_a_receipt_replaces_an_earlier_receipt_file(sqlite_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "r.tlog-proof").write_text("an older receipt\n")
    seq = json.loads(admit(sqlite_cli, "--receipt", "r.tlog-proof", "--json").out)["entries"][0]
    assert seq["seq"] == tree_size(sqlite_cli) - 1
    assert (tmp_path / "r.tlog-proof").read_text().startswith("c2sp.org/tlog-proof@v1\n")


def assert_receipt_warning(result: CliResult, before: int, cli: Any, tmp_path: Path) -> None:
    seq = before
    assert result.code == 0, (result.out, result.err)
    assert f"entry {seq} member.admitted" in result.out
    assert result.err.strip().splitlines() == [
        f"coopledger: warning: entry {seq} committed; receipt not written: "
        + result.err.split("receipt not written: ", 1)[1].split("; run ", 1)[0]
        + f"; run coopledger proof inclusion {seq} --out FILE"
    ]
    assert tree_size(cli) == before + 1


def init_with_receipt(cli: CliRunner, tmp_path: Path, receipt: str) -> CliResult:
    (tmp_path / "charter.toml").write_text(TEMPLATE, encoding="utf-8")
    for name in ("gov", "log"):
        cli.ok("key", "new", "--name", ORIGIN if name == "log" else name, "--out", f"{name}.key")
    return cli(
        "init",
        "--origin",
        ORIGIN,
        "--charter",
        "charter.toml",
        "--key",
        "gov.key",
        "--log-key",
        "log.key",
        "--date",
        "2031-01-01",
        "--receipt",
        receipt,
    )


def test_init_checks_its_receipt_path_before_founding(cli: CliRunner, tmp_path: Path) -> None:
    one_line_refusal(init_with_receipt(cli, tmp_path, "no-such-folder/r"), "no-such-folder")
    assert not (tmp_path / "coopledger.db").exists()


def test_init_whose_receipt_fails_keeps_the_ledger_and_warns(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults(monkeypatch, "write", "rzz")
    result = init_with_receipt(cli, tmp_path, "rzz.tlog-proof")
    assert faults.hits >= 1 and result.code == 0, result.err
    assert result.err.startswith("coopledger: warning: entry 0 committed; receipt not written: ")
    assert result.err.rstrip().endswith("; run coopledger proof inclusion 0 --out FILE")
    assert "disk is full" in result.err
    assert tree_size(cli) == 1


# -- key files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "directory", "fifo"])
def test_key_new_refuses_a_symlink_directory_or_special_file(
    cli: CliRunner, tmp_path: Path, kind: str
) -> None:
    target = victim(tmp_path)
    path = tmp_path / "k.key"
    if kind == "symlink":
        path.symlink_to(target)
    elif kind == "dangling symlink":
        path.symlink_to(tmp_path / "elsewhere" / "new.key")
    elif kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    result = cli("key", "new", "--name", "k", "--out", str(path))
    if kind == "directory":  # click's own check, a usage error
        assert result.code == 2 and str(path) in result.err and "is a directory" in result.err
    else:
        word = "FIFO" if kind == "fifo" else "symbolic link"
        one_line_refusal(result, str(path), word)
    assert target.read_text() == VICTIM_TEXT
    assert not (tmp_path / "elsewhere" / "new.key").exists()


def test_key_new_never_overwrites_and_says_so(cli: CliRunner, tmp_path: Path) -> None:
    cli.ok("key", "new", "--name", "k", "--out", "k.key")
    before = (tmp_path / "k.key").read_bytes()
    one_line_refusal(cli("key", "new", "--name", "k", "--out", "k.key"), "k.key", "already exists")
    assert (tmp_path / "k.key").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key"]


# -- bundle and GEM folders: complete or absent, never through a symlink --------------------------

FOLDER_COMMANDS = {
    "bundle": ("bundle", "export"),
    "gem": ("gem", "export", "--period", "2031", "--out"),
}


def export(cli: Any, what: str, target: str) -> CliResult:
    return cli(*FOLDER_COMMANDS[what], target)  # type: ignore[no-any-return]


@pytest.mark.parametrize("what", sorted(FOLDER_COMMANDS))
def test_an_export_never_writes_through_a_symlinked_target(
    sqlite_cli: Any, tmp_path: Path, what: str
) -> None:
    elsewhere = tmp_path / "elsewhere-dir"
    elsewhere.mkdir()
    (tmp_path / "out").symlink_to(elsewhere)
    one_line_refusal(export(sqlite_cli, what, "out"), "out", "symbolic link")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("what", "planted"),
    [("bundle", "checkpoints.jsonl"), ("bundle", "manifest.json"), ("gem", "levy.csv")],
)
def test_an_export_never_writes_through_a_symlink_planted_inside(
    sqlite_cli: Any, tmp_path: Path, what: str, planted: str
) -> None:
    target = victim(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / planted).symlink_to(target)
    refusal = "already holds" if planted == "manifest.json" else "not empty"
    one_line_refusal(export(sqlite_cli, what, "out"), "out", refusal)
    assert target.read_text() == VICTIM_TEXT
    assert [p.name for p in (tmp_path / "out").iterdir()] == [planted]


@pytest.mark.parametrize("what", sorted(FOLDER_COMMANDS))
def test_an_export_fills_an_empty_folder_and_refuses_a_used_one(
    sqlite_cli: Any, tmp_path: Path, what: str
) -> None:
    (tmp_path / "empty").mkdir()
    sqlite_cli.ok(*FOLDER_COMMANDS[what], "empty")
    assert (tmp_path / "empty" / "manifest.json").is_file()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine\n")
    one_line_refusal(export(sqlite_cli, what, "used"), "used", "not empty")
    assert [p.name for p in (tmp_path / "used").iterdir()] == ["notes.txt"]
    sqlite_cli.ok(*FOLDER_COMMANDS[what], "deep/er/new")
    assert (tmp_path / "deep" / "er" / "new" / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# -- a full disk, by fault injection -------------------------------------------------------------


class Faults:
    """os.write / os.fsync on files whose path holds `token`, or os.replace / os.link onto such
    a path, raise ENOSPC: the disk fills while the ledger writes that output, and only then."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, op: str, token: str) -> None:
        self.op = op
        self.token = token
        self.fds: set[int] = set()
        self.hits = 0
        real_open = os.open

        def watching_open(path: Any, flags: int, *args: Any, **kw: Any) -> int:
            fd = real_open(path, flags, *args, **kw)
            if token in str(path):
                self.fds.add(fd)
            return fd

        monkeypatch.setattr(os, "open", watching_open)
        for name in ("write", "fsync"):
            monkeypatch.setattr(os, name, self.on_fd(getattr(os, name), name))
        for name in ("replace", "rename", "link"):
            monkeypatch.setattr(os, name, self.on_path(getattr(os, name), name))

    def full(self, path: object) -> OSError:
        self.hits += 1
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    def on_fd(self, real: Callable[..., Any], name: str) -> Callable[..., Any]:
        def fake(fd: int, *args: Any) -> Any:
            if self.op == name and fd in self.fds:
                raise self.full(fd)
            return real(fd, *args)

        return fake

    def on_path(self, real: Callable[..., Any], name: str) -> Callable[..., Any]:
        def fake(src: Any, dst: Any, *args: Any, **kw: Any) -> Any:
            if self.op in {name, "replace" if name in {"rename", "link"} else ""} and (
                self.token in os.fspath(dst)
            ):
                raise self.full(dst)
            return real(src, dst, *args, **kw)

        return fake


OPS = ["write", "fsync", "replace"]


def only_names(folder: Path, *names: str) -> None:
    """Exactly these names, besides a SQLite database's own -wal/-shm files (a reader may
    leave them; they are the database's, not an output)."""
    sidecar = ("-wal", "-shm")
    found = [p.name for p in folder.iterdir() if not p.name.endswith(sidecar)]
    assert sorted(found) == sorted(n for n in names if not n.endswith(sidecar))


@pytest.mark.parametrize("op", OPS)
def test_key_new_on_a_full_disk_leaves_no_key_file(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, op: str
) -> None:
    faults = Faults(monkeypatch, op, "kzz")
    result = cli("key", "new", "--name", "k", "--out", "kzz.key")
    one_line_refusal(result, "kzz.key", "disk is full")
    assert faults.hits >= 1
    only_names(tmp_path)


@pytest.mark.parametrize("op", OPS)
def test_a_receipt_failing_after_the_commit_is_a_warning_not_an_error(
    ledger_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, op: str
) -> None:
    cli = ledger_cli
    before = tree_size(cli)
    faults = Faults(monkeypatch, op, "rzz")
    result = admit(cli, "--receipt", "rzz.tlog-proof", "--request-id", "adm-1")
    assert faults.hits >= 1
    assert_receipt_warning(result, before, cli, tmp_path)
    assert "disk is full" in result.err
    assert not [p for p in tmp_path.iterdir() if "rzz" in p.name]


@pytest.mark.parametrize("what", sorted(FOLDER_COMMANDS))
@pytest.mark.parametrize("op", OPS)
def test_an_export_on_a_full_disk_leaves_no_partial_folder(
    sqlite_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, op: str, what: str
) -> None:
    present = sorted(p.name for p in tmp_path.iterdir())
    faults = Faults(monkeypatch, op, "xzz")
    one_line_refusal(export(sqlite_cli, what, "xzz"), "xzz", "disk is full")
    assert faults.hits >= 1
    only_names(tmp_path, *present)


# -- a full disk, for real: a 200 KiB tmpfs ------------------------------------------------------


class SmallDisk:
    def __init__(self, root: Path) -> None:
        self.root = root

    def fill(self, leave: int = 0) -> None:
        """Fill the disk with one file, then give back `leave` bytes (whole 4 KiB pages)."""
        filler = self.root / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
        finally:
            os.close(fd)
        size = filler.stat().st_size
        os.truncate(filler, size - size % 4096 - leave)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if os.geteuid() != 0:
        pytest.skip(
            "a real full disk needs root to mount a 200 KiB tmpfs; fault injection covers it"
        )
    root = tmp_path / "small"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(root)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def test_key_new_on_a_real_full_disk(cli: CliRunner, small_disk: SmallDisk) -> None:
    small_disk.fill()
    path = small_disk.root / "k.key"
    one_line_refusal(
        cli("key", "new", "--name", "k", "--out", str(path)), str(path), "disk is full"
    )
    only_names(small_disk.root, "filler")


def test_a_receipt_on_a_real_full_disk(
    sqlite_cli: Any, tmp_path: Path, small_disk: SmallDisk
) -> None:
    small_disk.fill()
    before = tree_size(sqlite_cli)
    result = admit(sqlite_cli, "--receipt", str(small_disk.root / "r.tlog-proof"))
    assert_receipt_warning(result, before, sqlite_cli, tmp_path)
    assert "disk is full" in result.err
    only_names(small_disk.root, "filler")


@pytest.mark.parametrize("what", sorted(FOLDER_COMMANDS))
def test_an_export_on_a_real_full_disk(sqlite_cli: Any, small_disk: SmallDisk, what: str) -> None:
    small_disk.fill(leave=4096)
    out = small_disk.root / "out"
    one_line_refusal(export(sqlite_cli, what, str(out)), str(out), "disk is full")
    only_names(small_disk.root, "filler")


# -- the module itself ----------------------------------------------------------------------------


def test_a_key_file_on_a_filesystem_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.errors import InputError
    from ledger.files import create_file

    def no_links(src: Any, dst: Any) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), str(dst))

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "k.key"
    create_file(path, b"secret\n", "key file", mode=0o600)
    assert path.read_bytes() == b"secret\n" and path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(InputError, match="already exists; not overwriting it"):
        create_file(path, b"other\n", "key file")
    assert path.read_bytes() == b"secret\n"
    only_names(tmp_path, "k.key")


def test_the_saved_checkpoint_of_verify_since_is_never_replaced_through_a_symlink(
    sqlite_cli: Any, tmp_path: Path
) -> None:
    cli = sqlite_cli
    vkey = cli.ok("checkpoint", "--vkey").out.strip()
    saved = tmp_path / "elsewhere" / "saved.checkpoint"
    saved.parent.mkdir()
    saved.write_text(cli.ok("checkpoint").out)
    (tmp_path / "saved").symlink_to(saved)
    before = saved.read_text()
    admit(cli)
    cli.ok("bundle", "export", "audit")
    result = cli("verify", "--bundle", "audit", "--trust", vkey, "--since", "saved")
    one_line_refusal(result, "saved", "symbolic link")
    assert saved.read_text() == before
