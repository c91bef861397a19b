"""The log key's own memory: the writer refuses to sign a checkpoint that forks from the last one it signed (defect 3)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from ledger import merkle, note
from ledger.keys import Signer
from ledger.log_memory import LogMemory
from tests.integrity.insider import (
    ORIGIN,
    Office,
    admissions,
    backup,
    covering,
    grown_ledger,
    insider,
    office,
    restore,
    rows,
    run,
    sizes,
)
from tests.support import CliResult, CliRunner

NO_MEMORY = "the log key has no memory of the checkpoints it signed"


def memory_of(o: Office) -> Path:
    return Path(str(o.keys["log"]) + ".checkpoint")


def remembered(path: Path, signers: dict[str, Signer]) -> note.Checkpoint:
    log = signers["log"]
    return note.open_checkpoint(
        path.read_text(encoding="utf-8"), note.Verifier.from_public_key(log.name, log.public_key)
    )


@pytest.fixture
def office59(tmp_path: Path, store_target: str, signers: dict[str, Signer]) -> Office:
    """59 entries made through the library, then entry 59 appended by the office through the CLI
    (so the log key has signed checkpoint 60 and remembers it)."""
    o = office(tmp_path, store_target, signers, 59)
    o.cli.ok("member", "admit", "--id", "M-59", "--kind", "person", "--name", "Real Person",
             "--date", "2031-02-01", "--key", str(o.keys["coop-admin"]))  # fmt: skip
    assert sizes(store_target) == (60, 60, 60)
    return o


def forged_entry_59(tmp_path: Path, signers: dict[str, Signer]) -> dict[str, object]:
    """What an insider with the coop-admin key can make: another entry 59 on the same 59 entries
    (a second ledger fed the same calls holds the same bytes up to entry 58), with the Merkle
    nodes over it, the projection and the member data that go with it."""
    other = grown_ledger(str(tmp_path / "forged.db"), signers, 59)
    other.append("coop-admin", admissions(59, 59, name="Forged Person"))
    with other.store.reading() as tx:
        data = tx.entry(59)
        nodes = tx.get_nodes(covering(59, 60))
        projection = [(ns, key, value) for (ns, key), value in sorted(tx.state.snapshot().items())]
        personal = tx.member_data("M-59")
    other.store.dispose()
    assert data is not None and personal is not None
    return {"data": data, "nodes": nodes, "projection": projection, "personal": personal}


def test_defect3_rewritten_entry_59_with_checkpoint_60_dropped_is_not_signed_over(
    office59: Office, tmp_path: Path, signers: dict[str, Signer]
) -> None:
    forged = forged_entry_59(tmp_path, signers)
    data = forged["data"]
    assert isinstance(data, bytes)
    leaf = merkle.leaf_hash(data)
    with insider(office59.target) as conn:
        run(conn, "UPDATE entries SET data = ?, leaf_hash = ? WHERE seq = 59", (data, leaf))
        run(conn, "DELETE FROM checkpoints WHERE size = 60")
        for (level, idx), digest in forged["nodes"].items():  # type: ignore[attr-defined]
            run(conn, "DELETE FROM merkle_nodes WHERE level = ? AND idx = ?", (level, idx))
            run(conn, "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
                (level, idx, digest))  # fmt: skip
        run(conn, "UPDATE head SET last_leaf_hash = ? WHERE id = 1", (leaf,))
        run(conn, "DELETE FROM projection")
        for ns, key, value in forged["projection"]:  # type: ignore[attr-defined]
            run(conn, "INSERT INTO projection (ns, key, value) VALUES (?, ?, ?)", (ns, key, value))
        salt, personal, _ = forged["personal"]  # type: ignore[misc]
        run(conn, "UPDATE member_data SET salt = ?, data = ? WHERE member_id = 'M-59'",
            (salt, personal))  # fmt: skip
    result = office59.admit("M-60", "Next Person")
    assert result.code == 1, result.out
    # The head row's MAC (decision 0014) is the first line of defence; rebuilding the
    # projection on the rewritten history is refused by the log key's memory (0015), and so,
    # with the projection authentic again, would be the next append.
    assert "head row fails its authentication" in result.err, result.err
    assert sizes(office59.target) == (60, 60, 59)
    rebuilt = office59.cli("rebuild")
    assert rebuilt.code == 1, rebuilt.out
    assert "refusing to sign" in rebuilt.err and "behind checkpoint 60" in rebuilt.err, rebuilt.err
    assert sizes(office59.target) == (60, 60, 59)


def refused_and_not_rebuilt(o: Office, member_id: str, *needles: str) -> None:
    """An insider who also rewrote the head row is stopped twice: the next append by the head
    row's MAC (decision 0014), and `rebuild`, which would authenticate the rewritten state
    afresh, by the log key's memory and the head checks (0015)."""
    result = o.admit(member_id, "Next Person")
    assert result.code == 1, result.out
    assert "head row fails its authentication" in result.err, result.err
    rebuilt = o.cli("rebuild")
    assert rebuilt.code == 1, rebuilt.out
    assert "refusing to sign" in rebuilt.err, rebuilt.err
    assert all(n in rebuilt.err for n in needles), rebuilt.err


def test_defect3_history_cut_back_below_a_signed_checkpoint_is_not_signed_over(
    office59: Office,
) -> None:
    with insider(office59.target) as conn:
        (last,) = run(conn, "SELECT leaf_hash FROM entries WHERE seq = 58")[0]
        run(conn, "DELETE FROM entries WHERE seq = 59")
        run(conn, "DELETE FROM checkpoints WHERE size = 60")
        for level, idx in covering(59, 60):
            run(conn, "DELETE FROM merkle_nodes WHERE level = ? AND idx = ?", (level, idx))
        run(conn, "UPDATE head SET size = 59, last_leaf_hash = ? WHERE id = 1", (last,))
    refused_and_not_rebuilt(office59, "M-60", "behind checkpoint 60")
    assert sizes(office59.target) == (59, 59, 59)


def test_defect3_entry_without_checkpoint_is_not_signed_over(office59: Office) -> None:
    # An insider's validly signed entry 60 with no checkpoint row: made here through the library
    # (which needs no key file and so no memory), whose checkpoint row is then dropped.
    office59.founded.append("coop-admin", admissions(60, 60))
    with insider(office59.target) as conn:
        run(conn, "DELETE FROM checkpoints WHERE size = 61")
    result = office59.admit("M-61", "Next Person")
    assert result.code == 1, result.out
    assert "refusing to sign" in result.err and "61" in result.err and "60" in result.err
    assert sizes(office59.target) == (61, 61, 60)


def test_head_that_does_not_point_at_the_last_entry_is_not_signed_over(
    tmp_path: Path, store_target: str, signers: dict[str, Signer]
) -> None:
    o = office(tmp_path, store_target, signers, 5)
    o.cli.ok("member", "admit", "--id", "M-5", "--kind", "person", "--name", "A", "--date",
             "2031-02-01", "--key", str(o.keys["coop-admin"]))  # fmt: skip
    with insider(store_target) as conn:
        run(conn, "UPDATE head SET last_leaf_hash = ? WHERE id = 1", (bytes(32),))
    refused_and_not_rebuilt(o, "M-6", "entry 5")
    assert sizes(store_target) == (6, 6, 6)


def test_init_creates_the_memory(cli_ledger, signers) -> None:  # type: ignore[no-untyped-def]
    memory = Path(str(cli_ledger.keys["log"]) + ".checkpoint")
    assert memory.exists() and (memory.stat().st_mode & 0o777) == 0o600
    text = memory.read_text(encoding="utf-8")
    assert text.startswith(ORIGIN + "\n4\n")  # genesis and three authorisations
    result = cli_ledger.ok("verify")
    assert NO_MEMORY not in result.err


def test_a_lagging_memory_second_copy_of_the_log_key_works(
    tmp_path: Path, store_target: str, signers: dict[str, Signer]
) -> None:
    o = office(tmp_path, store_target, signers, 5, remember=False)
    desk = tmp_path / "desk.checkpoint"
    laptop = {"COOPLEDGER_LOG_STATE": str(tmp_path / "laptop.checkpoint")}
    o.cli.env["COOPLEDGER_LOG_STATE"] = str(desk)
    o.cli.ok("log", "adopt", "--size", "5")
    assert o.admit("M-5", "A").code == 0
    # The laptop's copy of the key is given its memory the same way, once.
    o.cli.ok("log", "adopt", "--size", "6", env=laptop)
    assert o.cli("member", "admit", "--id", "M-6", "--kind", "person", "--name", "B", "--date",
                 "2031-02-01", "--key", str(o.keys["coop-admin"]), env=laptop).code == 0  # fmt: skip
    assert remembered(desk, signers).tree_size == 6
    for n in (7, 8):  # the desk's memory lags behind the laptop's append: safe
        assert o.admit(f"M-{n}", "C").code == 0
    assert remembered(desk, signers).tree_size == 9
    assert not memory_of(o).exists()
    assert o.cli("member", "admit", "--id", "M-9", "--kind", "person", "--name", "D", "--date",
                 "2031-02-01", "--key", str(o.keys["coop-admin"]), env=laptop).code == 0  # fmt: skip
    assert remembered(tmp_path / "laptop.checkpoint", signers).tree_size == 10
    assert o.cli.ok("verify").code == 0


@pytest.mark.parametrize("tamper", ["root", "other key", "garbage"])
def test_a_tampered_memory_is_refused(
    tmp_path: Path, store_target: str, signers: dict[str, Signer], tamper: str
) -> None:
    o = office(tmp_path, store_target, signers, 5)
    assert o.admit("M-5", "A").code == 0
    memory = memory_of(o)
    checkpoint = remembered(memory, signers)
    if tamper == "root":
        lines = memory.read_text(encoding="utf-8").split("\n")
        lines[2] = note.b64encode(bytes(32))
        memory.write_text("\n".join(lines), encoding="utf-8")
    elif tamper == "other key":
        other = note.Checkpoint(ORIGIN, 4, checkpoint.root_hash)
        memory.write_text(note.sign_checkpoint(other, signers["stranger"].private_key))
    else:
        memory.write_bytes(os.urandom(200))
    result = o.admit("M-6", "B")
    assert result.code == 1, result.out
    assert str(memory) in result.err, result.err
    assert sizes(store_target) == (6, 6, 6)


def test_memory_that_cannot_be_written_after_the_commit_is_a_warning(
    tmp_path: Path, store_target: str, signers: dict[str, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    o = office(tmp_path, store_target, signers, 5)

    def full(_self: LogMemory, _text: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(LogMemory, "_write", full)
    result = o.admit("M-5", "A")
    assert result.code == 0, result.err
    assert "warning" in result.err and "entry 5" in result.out
    assert sizes(store_target) == (6, 6, 6)
    assert rows(store_target, "SELECT COUNT(*) FROM checkpoints WHERE size = 6") == [(1,)]


def test_stored_merkle_nodes_that_give_another_tree_make_the_next_checkpoint_a_fork(
    tmp_path: Path, store_target: str, signers: dict[str, Signer]
) -> None:
    o = office(tmp_path, store_target, signers, 5)
    assert o.admit("M-5", "A").code == 0
    with insider(store_target) as conn:
        for level, idx in covering(5, 6):
            run(conn, "UPDATE merkle_nodes SET hash = ? WHERE level = ? AND idx = ?",
                (bytes(32), level, idx))  # fmt: skip
    result = o.admit("M-6", "B")
    assert result.code == 1
    assert "checkpoint 7 would fork from checkpoint 6 this log key signed" in result.err
    assert sizes(store_target) == (6, 6, 6)


def test_a_log_key_that_remembers_a_checkpoint_does_not_found_a_second_ledger(cli_ledger) -> None:  # type: ignore[no-untyped-def]
    result = cli_ledger("init", "--origin", ORIGIN, "--charter", "charter.toml",
                        "--key", str(cli_ledger.keys["governor"]), "--db", "second.db")  # fmt: skip
    assert result.code == 1 and "already signed checkpoint 4" in result.err, result.err
    assert not (cli_ledger.cwd / "second.db").exists()
    assert (
        Path(str(cli_ledger.keys["log"]) + ".checkpoint").read_text().startswith(ORIGIN + "\n4\n")
    )


# -- a log key without memory signs nothing; `coopledger log adopt` gives it one ----------------


def admit(cli: CliRunner, n: int) -> CliResult:
    return cli("member", "admit", "--id", f"M-{n}", "--kind", "person", "--name", f"Person {n}",
               "--date", "2031-02-01", "--key", str(cli.keys["coop-admin"]))  # type: ignore[attr-defined]  # fmt: skip


def cli_memory(cli: CliRunner) -> Path:
    return Path(str(cli.keys["log"]) + ".checkpoint")  # type: ignore[attr-defined]


def checkpoints(target: str) -> list[tuple[int]]:
    return [(int(s),) for (s,) in rows(target, "SELECT size FROM checkpoints ORDER BY size")]


def test_restored_older_database_with_the_memory_deleted_is_not_signed_over(
    cli_any: CliRunner,
) -> None:
    """An insider deletes the memory file and restores an older copy of the database: the log
    key would sign checkpoint 6 over 5 entries after it already signed checkpoint 7 over 7."""
    db = cli_any.db  # type: ignore[attr-defined]
    for n in (1, 2):
        assert admit(cli_any, n).code == 0
    old = backup(db)
    for n in (3, 4):
        assert admit(cli_any, n).code == 0
    assert sizes(db) == (7, 7, 7)
    memory = cli_memory(cli_any)
    memory.unlink()
    restore(db, old)
    signed = checkpoints(db)
    result = admit(cli_any, 5)
    assert result.code == 1, result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("coopledger: error: refusing to sign: " + NO_MEMORY), result.err
    assert f"(expected at {memory})" in lines[0]
    assert "if checkpoint 5 (root " in lines[0]
    assert lines[0].endswith("run coopledger log adopt --log-key FILE --size 5"), result.err
    assert sizes(db) == (5, 5, 5) and checkpoints(db) == signed
    assert not memory.exists()


def test_adopt_with_another_size_than_the_latest_checkpoint_is_refused(cli_any: CliRunner) -> None:
    assert admit(cli_any, 1).code == 0
    memory = cli_memory(cli_any)
    memory.unlink()
    result = cli_any("log", "adopt", "--size", "3")
    assert result.code == 1, result.out
    assert result.err.count("\n") == 1, result.err
    assert "you named checkpoint 3, but the database's latest checkpoint is 4 (root " in result.err
    assert not memory.exists()
    assert admit(cli_any, 2).code == 1


@pytest.mark.parametrize("tamper", ["merkle node", "middle checkpoint", "entry bytes"])
def test_adopt_on_a_database_that_does_not_verify_is_refused(
    cli_any: CliRunner, tamper: str
) -> None:
    db = cli_any.db  # type: ignore[attr-defined]
    for n in (1, 2):
        assert admit(cli_any, n).code == 0
    memory = cli_memory(cli_any)
    memory.unlink()
    with insider(db) as conn:
        if tamper == "merkle node":
            run(conn, "UPDATE merkle_nodes SET hash = ? WHERE level = 0 AND idx = 1", (bytes(32),))
        elif tamper == "middle checkpoint":
            run(conn, "DELETE FROM checkpoints WHERE size = 4")
        else:
            (data,) = run(conn, "SELECT data FROM entries WHERE seq = 3")[0]
            forged = bytes(data).replace(b'"effective":"2031-02-01"', b'"effective":"2031-02-02"')
            assert forged != bytes(data)
            run(conn, "UPDATE entries SET data = ? WHERE seq = 3", (forged,))
    result = cli_any("log", "adopt", "--size", "5")
    assert result.code == 1, result.out
    assert result.err.count("\n") == 1, result.err
    assert "refusing to adopt: the log does not verify" in result.err, result.err
    assert not memory.exists()


def test_adopt_remembers_the_latest_checkpoint_and_the_writer_signs_again(
    cli_any: CliRunner,
) -> None:
    db = cli_any.db  # type: ignore[attr-defined]
    assert admit(cli_any, 1).code == 0
    memory = cli_memory(cli_any)
    kept = memory.read_text(encoding="utf-8")
    memory.unlink()
    assert admit(cli_any, 2).code == 1
    result = cli_any.ok("log", "adopt", "--size", "4")
    (root,) = rows(db, "SELECT root_hash FROM checkpoints WHERE size = 4")[0]
    (recorded,) = rows(db, "SELECT recorded_at FROM entries WHERE seq = 3")[0]
    assert result.out.startswith(
        f"adopted checkpoint 4 (root {note.b64encode(bytes(root))}, recorded at {recorded})"
    ), result.out
    assert str(memory) in result.out
    assert memory.read_text(encoding="utf-8") == kept
    assert (memory.stat().st_mode & 0o777) == 0o600
    assert admit(cli_any, 2).code == 0
    assert memory.read_text(encoding="utf-8").startswith(ORIGIN + "\n5\n")
    cli_any.ok("verify")


def test_adopt_refuses_when_the_log_key_remembers_a_checkpoint(cli_any: CliRunner) -> None:
    assert admit(cli_any, 1).code == 0
    before = cli_memory(cli_any).read_text(encoding="utf-8")
    result = cli_any("log", "adopt", "--size", "4")
    assert result.code == 1, result.out
    assert "already remembers checkpoint 4" in result.err and "nothing to adopt" in result.err
    assert cli_memory(cli_any).read_text(encoding="utf-8") == before


def test_adopt_with_another_log_key_is_refused(cli_any: CliRunner, tmp_path: Path) -> None:
    cli_memory(cli_any).unlink()
    cli_any.ok("key", "new", "--name", ORIGIN, "--out", str(tmp_path / "other-log.key"))
    result = cli_any("log", "adopt", "--size", "3", "--log-key", str(tmp_path / "other-log.key"))
    assert result.code == 1, result.out
    assert "checkpoint 3 is not signed by this log key" in result.err, result.err
    assert not (tmp_path / "other-log.key.checkpoint").exists()
