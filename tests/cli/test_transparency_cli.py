"""Checkpoints, proofs, receipts and the incremental audit, end to end through the real CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import click
import pytest

from ledger import merkle, note
from ledger.keys import Signer, generate, read_key_file
from ledger.rules import members
from ledger.rules.members import PersonalData
from ledger.service import Ledger
from ledger.storage.store import Store
from tests.support import ORIGIN, CliResult

PASS = b"test-pass"  # the passphrase the CLI fixture gives every key file


# -- helpers --------------------------------------------------------------------------------------


def refused(result: CliResult, *words: str) -> str:
    """A refusal: non-zero exit, exactly one line on stderr, no traceback; returns the line."""
    assert result.code != 0, result.out
    assert "Traceback" not in result.out + result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def db_of(cli: Any) -> str:
    return str(cli.env["COOPLEDGER_DB"])


def leaf_of(cli: Any, seq: int) -> bytes:
    store = Store(db_of(cli))
    try:
        with store.reading() as tx:
            data = tx.entry(seq)
    finally:
        store.dispose()
    assert data is not None
    return data


def vkey_of(cli: Any) -> str:
    return str(cli.ok("checkpoint", "--vkey").out.strip())


def verifier_of(cli: Any) -> note.Verifier:
    return note.parse_verifier_key(vkey_of(cli))


def admit(cli: Any, member_id: str, *extra: str) -> CliResult:
    return cli.ok(
        "member", "admit", "--id", member_id, "--kind", "person", "--name", f"Name {member_id}",
        "--key", str(cli.keys["coop-admin"]), *extra,
    )  # fmt: skip


def append_batch(cli: Any, member_ids: list[str]) -> int:
    """Append several entries as ONE transaction (no CLI command batches members), so that
    the sizes inside the batch have no checkpoint. Returns the new size."""
    store = Store(db_of(cli))
    try:
        signer = read_key_file(cli.keys["coop-admin"], PASS)
        log_signer = read_key_file(cli.keys["log"], PASS)
        commands = [
            members.admit(m, "person", PersonalData(name=m), date(2031, 2, 1)) for m in member_ids
        ]
        return Ledger(store).append(commands, signer, log_signer).checkpoint_size
    finally:
        store.dispose()


def key_ref(vkey: str) -> str:
    """`name+keyid` of a verifier key (its base64 part may itself contain '+')."""
    return "+".join(vkey.split("+", 2)[:2])


def flip_base64(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 0x01
    return note.b64encode(bytes(raw))


def rehash_manifest(bundle: Path) -> None:
    """Make the manifest match the files again, so only the deeper check can notice a change."""
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    for name, info in manifest["files"].items():
        data = (bundle / name).read_bytes()
        info.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", "utf-8")


def entry_line_index(bundle: Path, seq: int) -> tuple[list[bytes], int]:
    lines = (bundle / "entries.jsonl").read_bytes().split(b"\n")
    assert json.loads(lines[seq])["entry"]["seq"] == seq
    return lines, seq


# -- checkpoint -----------------------------------------------------------------------------------


def test_checkpoint_prints_the_signed_note_latest_and_past(cli_ledger: Any) -> None:
    cli = cli_ledger
    vkey = vkey_of(cli)
    assert vkey == cli.ok("key", "show", str(cli.keys["log"]), "--vkey").out.strip()
    verifier = note.parse_verifier_key(vkey)
    assert verifier.name == ORIGIN
    assert json.loads(cli.ok("checkpoint", "--vkey", "--json").out) == {"vkey": vkey}

    latest = note.open_checkpoint(cli.ok("checkpoint").out, verifier)
    assert latest.tree_size == 4  # genesis, then three key authorisations
    store = Store(db_of(cli))
    try:
        with store.reading() as tx:
            leaves = [merkle.leaf_hash(d) for _, d in tx.entries()]
    finally:
        store.dispose()
    tree = merkle.MemoryTree(leaves)
    assert latest.root_hash == tree.root()
    for size in (1, 2, 3, 4):
        past = note.open_checkpoint(cli.ok("checkpoint", "--size", str(size)).out, verifier)
        assert (past.tree_size, past.root_hash) == (size, tree.root(size))
    data = json.loads(cli.ok("checkpoint", "--size", "2", "--json").out)
    assert data["tree_size"] == 2 and data["origin"] == ORIGIN
    assert data["root_hash"] == note.b64encode(tree.root(2))
    assert note.open_checkpoint(data["note"], verifier).tree_size == 2


def test_checkpoint_at_an_unsigned_size_names_the_nearest(cli_ledger: Any) -> None:
    cli = cli_ledger
    admit(cli, "M-1")  # size 5
    assert append_batch(cli, ["M-2", "M-3", "M-4"]) == 8  # sizes 6 and 7 are never signed
    line = refused(cli("checkpoint", "--size", "6"), "tree size 6", "nearest signed size is 5")
    assert line.startswith("coopledger: error:")
    refused(cli("checkpoint", "--size", "7"), "tree size 7", "nearest signed size is 8")
    refused(cli("checkpoint", "--size", "40"), "tree size 40", "nearest signed size is 8")
    refused(cli("checkpoint", "--size", "0"), "tree size 0", "nearest signed size is 1")
    assert cli("checkpoint", "--size", "-1").code == 2


# -- proofs ---------------------------------------------------------------------------------------


def test_proof_inclusion_writes_receipts_that_verify(cli_ledger: Any, tmp_path: Path) -> None:
    cli = cli_ledger
    admit(cli, "M-1")
    append_batch(cli, ["M-2", "M-3"])  # size 7, signed sizes 1..5 and 7
    vkey = vkey_of(cli)
    verifier = note.parse_verifier_key(vkey)
    for seq, size in ((0, None), (3, None), (6, None), (0, 1), (2, 3), (4, 5), (5, 7)):
        args = ["proof", "inclusion", str(seq)] + ([] if size is None else ["--size", str(size)])
        text = cli.ok(*args).out
        cp = note.verify_tlog_proof(
            text, merkle.leaf_hash(leaf_of(cli, seq)), verifier, expected_index=seq
        )
        assert cp.tree_size == (7 if size is None else size)
        out = tmp_path / f"r-{seq}-{size}.tlog-proof"
        assert "wrote receipt" in cli.ok(*args, "--out", str(out)).out
        assert out.read_text("utf-8") == text
        ok = cli.ok("verify-receipt", str(out), "--vkey", vkey, "--entry", str(seq)).out
        assert f"receipt OK: the entry is in {ORIGIN} at tree size {cp.tree_size}" in ok
        entry_file = tmp_path / f"entry-{seq}.json"
        entry_file.write_bytes(leaf_of(cli, seq) + b"\n")
        result = cli.ok("verify-receipt", str(out), "--vkey", vkey, "--entry", str(entry_file))
        assert "receipt OK" in result.out
    refused(cli("proof", "inclusion", "7"), "entry 7", "size 7")
    refused(cli("proof", "inclusion", "1", "--size", "6"), "nearest signed size")


def test_proof_consistency_verifies_against_the_signed_checkpoints(cli_ledger: Any) -> None:
    cli = cli_ledger
    admit(cli, "M-1")
    append_batch(cli, ["M-2", "M-3", "M-4"])
    admit(cli, "M-5")  # signed sizes 1, 2, 3, 4, 5, 8, 9
    verifier = verifier_of(cli)
    signed = {
        size: note.open_checkpoint(cli.ok("checkpoint", "--size", str(size)).out, verifier)
        for size in (1, 2, 3, 4, 5, 8, 9)
    }
    for old in signed:
        for new in signed:
            if old > new:
                continue
            data = json.loads(cli.ok("proof", "consistency", str(old), str(new), "--json").out)
            assert (data["size1"], data["size2"]) == (old, new)
            assert data["root1"] == note.b64encode(signed[old].root_hash)
            assert data["root2"] == note.b64encode(signed[new].root_hash)
            proof = [base64.b64decode(h) for h in data["proof"]]
            merkle.verify_consistency(old, new, proof, signed[old].root_hash, signed[new].root_hash)
            text = cli.ok("proof", "consistency", str(old), str(new)).out
            assert text.splitlines() == data["proof"]
    # From the empty tree: an empty proof.
    data = json.loads(cli.ok("proof", "consistency", "0", "9", "--json").out)
    assert data["proof"] == [] and data["root1"] == note.b64encode(merkle.EMPTY_ROOT)
    # A proof between two real checkpoints does not connect a checkpoint to another root.
    data = json.loads(cli.ok("proof", "consistency", "5", "9", "--json").out)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(
            5, 9, [base64.b64decode(h) for h in data["proof"]],
            signed[4].root_hash, signed[9].root_hash,
        )  # fmt: skip
    usage = cli("proof", "consistency", "9", "5")
    assert usage.code == 2 and "OLD <= NEW" in usage.err
    assert cli("proof", "consistency", "1", "99").code == 2


# -- receipts from writing commands ---------------------------------------------------------------


def _writing_commands() -> list[tuple[str, click.Command]]:
    from cli.main import cli as root

    ctx = click.Context(root)
    found: list[tuple[str, click.Command]] = []
    stack: list[tuple[str, click.Command]] = [
        (name, cmd)
        for name in root.list_commands(ctx)
        if (cmd := root.get_command(ctx, name)) is not None
    ]
    while stack:
        name, cmd = stack.pop()
        if isinstance(cmd, click.Group):
            stack.extend((f"{name} {sub}", c) for sub, c in cmd.commands.items())
        else:
            opts = {opt for p in cmd.params for opt in p.opts}
            # An author's key and the log key: it appends entries (gem export only signs a file).
            if {"--key", "--log-key"} <= opts:
                found.append((name, cmd))
    return sorted(found, key=lambda pair: pair[0])


def test_every_writing_command_offers_a_receipt_file() -> None:
    commands = _writing_commands()
    names = [name for name, _ in commands]
    assert "member admit" in names and "key authorize" in names
    for name, cmd in commands:
        opts = {opt for p in cmd.params for opt in p.opts}
        if name == "init":
            # entry 0 cannot be retried onto a founded ledger, so it needs no request id
            assert {"--receipt", "--json", "--key"} <= opts, name
            continue
        assert {"--receipt", "--json", "--request-id", "--key"} <= opts, name


def _reference(result: CliResult) -> tuple[int, str, int]:
    """(seq, leaf hash prefix, checkpoint size) from the receipt reference line."""
    lines = [line for line in result.out.splitlines() if line.startswith("entry ")]
    assert len(lines) == 1, result.out
    words = lines[0].split()
    assert words[0] == "entry" and words[3] == "leaf" and words[5] == "checkpoint"
    return int(words[1]), words[4], int(words[6])


def test_writing_commands_print_the_reference_and_write_receipts(
    cli_ledger: Any, tmp_path: Path
) -> None:
    cli = cli_ledger
    vkey = vkey_of(cli)
    gov = str(cli.keys["governor"])
    extra = generate("extra-admin")
    extra_vkey = extra.vkey
    runs = [
        ("member.admitted", ["member", "admit", "--id", "M-1", "--kind", "person", "--name", "A",
                             "--key", str(cli.keys["coop-admin"])]),
        ("key.authorized", ["key", "authorize", extra_vkey, "--role", "coop-admin", "--key", gov]),
        ("key.revoked", ["key", "revoke", extra.key_id[:16], "--reason", "left", "--key", gov]),
        ("charter.amended", ["charter", "amend", "charter.toml", "--reason", "annual meeting",
                             "--key", gov]),
        ("member.forgotten", ["member", "forget", "M-1", "--key", str(cli.keys["coop-admin"])]),
    ]  # fmt: skip
    expected_seq = 4
    for kind, args in runs:
        receipt = tmp_path / f"{kind}.tlog-proof"
        result = cli.ok(*args, "--receipt", str(receipt))
        seq, prefix, size = _reference(result)
        assert (seq, size) == (expected_seq, expected_seq + 1)
        assert f"entry {seq} {kind} leaf" in result.out
        data = leaf_of(cli, seq)
        assert merkle.leaf_hash(data).hex().startswith(prefix) and len(prefix) >= 16
        ok = cli.ok("verify-receipt", str(receipt), "--vkey", vkey, "--entry", str(seq))
        assert f"at tree size {size}" in ok.out
        note.verify_tlog_proof(
            receipt.read_text("utf-8"),
            merkle.leaf_hash(data),
            note.parse_verifier_key(vkey),
            expected_index=seq,
        )
        expected_seq += 1
    # --json carries the full leaf hash and the checkpoint size.
    receipt = tmp_path / "json.tlog-proof"
    out = admit(cli, "M-2", "--json", "--receipt", str(receipt)).out
    data = json.loads(out)
    [entry] = data["entries"]
    assert entry["seq"] == 9 and data["checkpoint_size"] == 10
    assert entry["leaf_hash"] == merkle.leaf_hash(leaf_of(cli, 9)).hex()
    cli.ok("verify-receipt", str(receipt), "--vkey", vkey, "--entry", "9")


# -- refused receipts -----------------------------------------------------------------------------


@pytest.fixture
def receipt_case(cli_ledger: Any, tmp_path: Path) -> tuple[Any, str, Path, Path]:
    """A ledger of 6 entries, a receipt for entry 2 at size 6, and entry 2's leaf bytes."""
    cli = cli_ledger
    admit(cli, "M-1")
    admit(cli, "M-2")
    receipt = tmp_path / "r2.tlog-proof"
    cli.ok("proof", "inclusion", "2", "--out", str(receipt))
    entry = tmp_path / "entry-2.json"
    entry.write_bytes(leaf_of(cli, 2))
    return cli, vkey_of(cli), receipt, entry


def test_receipt_with_a_flipped_proof_hash_is_refused(
    receipt_case: tuple[Any, str, Path, Path], tmp_path: Path
) -> None:
    cli, vkey, receipt, entry = receipt_case
    lines = receipt.read_text("utf-8").split("\n")
    assert lines[1] == "index 2" and len(base64.b64decode(lines[2])) == 32
    for position in range(2, 5):
        tampered = list(lines)
        tampered[position] = flip_base64(lines[position])
        bad = tmp_path / f"flipped-{position}.tlog-proof"
        bad.write_text("\n".join(tampered), "utf-8")
        for by in ("2", str(entry)):
            refused(
                cli("verify-receipt", str(bad), "--vkey", vkey, "--entry", by),
                f"receipt {bad}",
                "inclusion proof does not hold",
            )


def test_receipt_with_a_changed_index_is_refused(
    receipt_case: tuple[Any, str, Path, Path], tmp_path: Path
) -> None:
    cli, vkey, receipt, entry = receipt_case
    bad = tmp_path / "index.tlog-proof"
    bad.write_text(receipt.read_text("utf-8").replace("index 2\n", "index 3\n", 1), "utf-8")
    refused(
        cli("verify-receipt", str(bad), "--vkey", vkey, "--entry", "2"),
        "is for entry 3, not entry 2",
    )
    # Given the entry's bytes instead of its number, the proof no longer leads to the root.
    refused(
        cli("verify-receipt", str(bad), "--vkey", vkey, "--entry", str(entry)),
        "inclusion proof does not hold",
    )
    # The right receipt for another entry's bytes is refused too.
    other = tmp_path / "entry-3.json"
    other.write_bytes(leaf_of(cli, 3))
    refused(
        cli("verify-receipt", str(receipt), "--vkey", vkey, "--entry", str(other)),
        "inclusion proof does not hold",
    )
    garbled = tmp_path / "garbled.tlog-proof"
    garbled.write_text(receipt.read_text("utf-8").replace("index 2\n", "index two\n"), "utf-8")
    refused(cli("verify-receipt", str(garbled), "--vkey", vkey, "--entry", "2"), "malformed")


def test_receipt_whose_checkpoint_another_key_signed_is_refused(
    receipt_case: tuple[Any, str, Path, Path], tmp_path: Path
) -> None:
    cli, vkey, receipt, entry = receipt_case
    text = receipt.read_text("utf-8")
    head, checkpoint_note = text.split("\n\n", 1)
    checkpoint = note.parse_checkpoint(checkpoint_note.split("\n\n")[0] + "\n")
    impostor: Signer = generate(ORIGIN)  # same name, another key
    forged = tmp_path / "forged.tlog-proof"
    forged.write_text(
        head + "\n\n" + note.sign_checkpoint(checkpoint, impostor.private_key), "utf-8"
    )
    line = refused(
        cli("verify-receipt", str(forged), "--vkey", vkey, "--entry", "2"),
        "checkpoint is not signed by the trusted log key",
        key_ref(vkey),
        "another key",
    )
    assert key_ref(impostor.vkey) in line  # says which key did sign
    # The genuine receipt checked against another key is refused the same way.
    refused(
        cli("verify-receipt", str(receipt), "--vkey", impostor.vkey, "--entry", str(entry)),
        "not signed by the trusted log key",
    )
    # A tampered checkpoint body under the real signature: the signature no longer verifies.
    root = note.b64encode(checkpoint.root_hash)
    broken = tmp_path / "broken.tlog-proof"
    broken.write_text(text.replace(f"\n{root}\n", f"\n{flip_base64(root)}\n"), "utf-8")
    refused(
        cli("verify-receipt", str(broken), "--vkey", vkey, "--entry", "2"),
        "checkpoint",
        "does not verify",
    )


# -- the ledger refuses to sign an inconsistent checkpoint ----------------------------------------


def test_append_is_refused_when_stored_nodes_were_tampered(cli_ledger: Any) -> None:
    cli = cli_ledger
    admit(cli, "M-1")  # size 5: the root folds (2, 0) and (0, 4)
    before = cli.ok("log", "--json").out
    conn = sqlite3.connect(db_of(cli))
    try:
        conn.execute("DROP TRIGGER merkle_nodes_no_update")
        conn.execute("UPDATE merkle_nodes SET hash = ? WHERE level = 2 AND idx = 0", (bytes(32),))
        conn.commit()
    finally:
        conn.close()
    result = cli(
        "member", "admit", "--id", "M-2", "--kind", "person", "--name", "B",
        "--key", str(cli.keys["coop-admin"]),
    )  # fmt: skip
    refused(result, "checkpoint 6 would fork from checkpoint 5")
    assert cli.ok("log", "--json").out == before
    assert note.parse_checkpoint(cli.ok("checkpoint").out.split("\n\n")[0] + "\n").tree_size == 5


# -- bundles: full and incremental audit ----------------------------------------------------------


def test_incremental_audit_end_to_end(cli_ledger: Any, tmp_path: Path) -> None:
    cli = cli_ledger
    vkey = vkey_of(cli)
    b1, b2 = tmp_path / "b1", tmp_path / "b2"
    cli.ok("bundle", "export", str(b1))
    out = cli.ok("verify", "--bundle", str(b1), "--trust", vkey).out
    assert "tree size 4: OK" in out
    saved = tmp_path / "audited.checkpoint"
    shutil.copyfile(b1 / "checkpoint", saved)
    first_saved = saved.read_text("utf-8")

    admit(cli, "M-1")
    append_batch(cli, ["M-2", "M-3", "M-4"])
    admit(cli, "M-5")
    cli.ok("bundle", "export", str(b2))
    out = cli.ok("verify", "--bundle", str(b2), "--trust", vkey, "--since", str(saved)).out
    assert "9 entries" in out and "tree size 9: OK" in out
    assert "saved the new checkpoint (tree size 9)" in out
    assert saved.read_text("utf-8") == (b2 / "checkpoint").read_text("utf-8")
    assert (
        note.open_checkpoint(saved.read_text("utf-8"), note.parse_verifier_key(vkey)).tree_size == 9
    )
    # Nothing new since: still OK, and the saved checkpoint stays.
    cli.ok("verify", "--bundle", str(b2), "--trust", vkey, "--since", str(saved))
    # --json reports the same.
    report = json.loads(
        cli.ok("verify", "--bundle", str(b2), "--trust", vkey, "--since", str(saved), "--json").out
    )
    assert report["ok"] is True and report["tree_size"] == 9

    # A tampered NEW entry (seq 6) in a copy of bundle 2 is reported with its seq.
    tampered = tmp_path / "b2-tampered"
    shutil.copytree(b2, tampered)
    lines, seq = entry_line_index(tampered, 6)
    assert b'"member_id":"M-3"' in lines[seq]
    lines[seq] = lines[seq].replace(b'"member_id":"M-3"', b'"member_id":"M-7"')
    (tampered / "entries.jsonl").write_bytes(b"\n".join(lines))
    saved.write_text(first_saved, "utf-8")
    result = cli("verify", "--bundle", str(tampered), "--trust", vkey, "--since", str(saved))
    assert result.code == 1 and "Traceback" not in result.out + result.err
    assert "entry 6: signature:" in result.out
    assert "bundle: manifest: entries.jsonl" in result.out
    assert "first at entry 6" in result.out
    assert saved.read_text("utf-8") == first_saved  # a failed audit never moves the pin
    # The same with the manifest fixed up: the entry checks alone still catch it.
    rehash_manifest(tampered)
    result = cli("verify", "--bundle", str(tampered), "--trust", vkey, "--since", str(saved))
    assert result.code == 1 and "entry 6: signature:" in result.out
    assert "manifest" not in result.out
    assert saved.read_text("utf-8") == first_saved

    # A tampered OLD entry (covered by the saved checkpoint) cannot give the saved root.
    old = tmp_path / "b2-old-tampered"
    shutil.copytree(b2, old)
    lines, seq = entry_line_index(old, 2)
    lines[seq] = lines[seq].replace(b'"roles":["', b'"roles":["governor","', 1)
    (old / "entries.jsonl").write_bytes(b"\n".join(lines))
    rehash_manifest(old)
    refused(
        cli("verify", "--bundle", str(old), "--trust", vkey, "--since", str(saved)),
        "do not give the saved checkpoint's root",
        "entries were altered",
    )
    assert saved.read_text("utf-8") == first_saved


def _second_ledger(cli: Any, tmp_path: Path, grants: int) -> Path:
    """Another ledger with the SAME log key file (so its checkpoints are validly signed) and
    a different history; returns the file holding its latest checkpoint. The second ledger's
    log key memory is kept apart, or the key would refuse to found it (decision 0015)."""
    other = {
        "COOPLEDGER_DB": str(tmp_path / f"other-{grants}.db"),
        "COOPLEDGER_LOG_STATE": str(tmp_path / f"other-{grants}.log-state"),
    }
    cli.ok(
        "init", "--origin", ORIGIN, "--charter", "charter.toml",
        "--key", str(cli.keys["governor"]), "--date", "2031-01-02", env=other,
    )  # fmt: skip
    for role in ("coop-admin", "werk-admin", "levy-admin")[:grants]:
        vkey = cli.ok("key", "show", str(cli.keys[role]), "--vkey").out.strip()
        cli.ok(
            "key", "authorize", vkey, "--role", role, "--key", str(cli.keys["governor"]), env=other
        )
    path = tmp_path / f"other-{grants}.checkpoint"
    path.write_text(cli.ok("checkpoint", env=other).out, "utf-8")
    return path


@pytest.mark.parametrize("grants", [0, 1, 3])
def test_fork_from_a_saved_checkpoint_is_refused(
    cli_ledger: Any, tmp_path: Path, grants: int
) -> None:
    cli = cli_ledger
    vkey = vkey_of(cli)
    admit(cli, "M-1")
    bundle = tmp_path / "bundle"
    cli.ok("bundle", "export", str(bundle))
    cli.ok("verify", "--bundle", str(bundle), "--trust", vkey)
    saved = _second_ledger(cli, tmp_path, grants)
    pinned = saved.read_text("utf-8")
    # The other history's checkpoint is genuinely signed by the same log key.
    assert note.open_checkpoint(pinned, note.parse_verifier_key(vkey)).tree_size == 1 + grants
    result = cli("verify", "--bundle", str(bundle), "--trust", vkey, "--since", str(saved))
    refused(result, "fork", "does not extend the saved checkpoint", f"size {1 + grants}")
    assert saved.read_text("utf-8") == pinned


def test_fork_at_the_same_size_is_refused(cli_ledger: Any, tmp_path: Path) -> None:
    cli = cli_ledger
    vkey = vkey_of(cli)
    bundle = tmp_path / "bundle"
    cli.ok("bundle", "export", str(bundle))  # size 4
    saved = _second_ledger(cli, tmp_path, 3)  # also size 4, another root
    result = cli("verify", "--bundle", str(bundle), "--trust", vkey, "--since", str(saved))
    refused(result, "fork", "two checkpoints of size 4 with different roots")


def test_since_refuses_foreign_and_newer_saved_checkpoints(cli_ledger: Any, tmp_path: Path) -> None:
    cli = cli_ledger
    vkey = vkey_of(cli)
    b1, b2 = tmp_path / "b1", tmp_path / "b2"
    cli.ok("bundle", "export", str(b1))
    admit(cli, "M-1")
    cli.ok("bundle", "export", str(b2))
    # A saved checkpoint signed by another key of the same name.
    impostor = generate(ORIGIN)
    cp = note.parse_checkpoint(cli.ok("checkpoint").out.split("\n\n")[0] + "\n")
    foreign = tmp_path / "foreign.checkpoint"
    foreign.write_text(note.sign_checkpoint(cp, impostor.private_key), "utf-8")
    refused(
        cli("verify", "--bundle", str(b2), "--trust", vkey, "--since", str(foreign)),
        f"saved checkpoint {foreign} is not signed by the trusted log key",
    )
    # The bundle's own checkpoint file signed by another key.
    swapped = tmp_path / "b2-swapped"
    shutil.copytree(b2, swapped)
    (swapped / "checkpoint").write_text(foreign.read_text("utf-8"), "utf-8")
    saved = tmp_path / "saved.checkpoint"
    shutil.copyfile(b1 / "checkpoint", saved)
    refused(
        cli("verify", "--bundle", str(swapped), "--trust", vkey, "--since", str(saved)),
        "the bundle's checkpoint file is not signed by the trusted log key",
    )
    # An older bundle than the saved checkpoint: refused, the pin stays.
    shutil.copyfile(b2 / "checkpoint", saved)
    refused(
        cli("verify", "--bundle", str(b1), "--trust", vkey, "--since", str(saved)),
        "less than the saved checkpoint's 5",
    )
    assert saved.read_text("utf-8") == (b2 / "checkpoint").read_text("utf-8")
    # --since needs a bundle, and a readable file.
    assert cli("verify", "--since", str(saved)).code == 2
    refused(
        cli("verify", "--bundle", str(b2), "--trust", vkey, "--since", str(tmp_path / "none")),
        "cannot read",
    )


def test_full_bundle_verification_checks_every_stored_checkpoint(
    cli_ledger: Any, tmp_path: Path
) -> None:
    cli = cli_ledger
    vkey = vkey_of(cli)
    admit(cli, "M-1")
    append_batch(cli, ["M-2", "M-3", "M-4"])
    admit(cli, "M-5")  # checkpoints at 1, 2, 3, 4, 5, 8, 9
    bundle = tmp_path / "bundle"
    cli.ok("bundle", "export", str(bundle))
    out = cli.ok("verify", "--bundle", str(bundle), "--trust", vkey).out
    assert "9 entries, 7 checkpoints checked, tree size 9: OK" in out
    records = [json.loads(line) for line in (bundle / "checkpoints.jsonl").read_text().splitlines()]
    assert [r["size"] for r in records] == [1, 2, 3, 4, 5, 8, 9]
    log_key = read_key_file(cli.keys["log"], PASS)

    def variant(name: str, size: int, new_note: str) -> CliResult:
        copy = tmp_path / name
        shutil.copytree(bundle, copy)
        lines = []
        for r in records:
            n = new_note if r["size"] == size else r["note"]
            lines.append(json.dumps({"note": n, "size": r["size"]}, separators=(",", ":")))
        (copy / "checkpoints.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
        rehash_manifest(copy)  # the checkpoint check itself must notice
        return cli("verify", "--bundle", str(copy), "--trust", vkey)

    text = records[4]["note"]  # size 5
    cp = note.parse_checkpoint(text.split("\n\n")[0] + "\n")
    root = note.b64encode(cp.root_hash)
    # 1. The root changed under the original signature: the signature does not verify.
    result = variant("root", 5, text.replace(f"\n{root}\n", f"\n{flip_base64(root)}\n"))
    assert result.code == 1
    assert "checkpoint 5:" in result.out and "does not verify" in result.out
    # 2. The signature changed.
    sig_line = text.rstrip("\n").split("\n")[-1]
    name, b64 = sig_line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 0x01
    result = variant("sig", 5, text.replace(sig_line, f"{name} {note.b64encode(bytes(raw))}"))
    assert result.code == 1 and "checkpoint 5:" in result.out
    # 3. The log key itself signed a wrong root: the recomputed root tells.
    wrong = note.Checkpoint(ORIGIN, 5, bytes(32))
    result = variant("resigned", 5, note.sign_checkpoint(wrong, log_key.private_key))
    assert result.code == 1
    assert "checkpoint 5: root" in result.out and "differs from the recomputed" in result.out
    # 4. Another key signed it.
    result = variant("foreign", 8, note.sign_checkpoint(cp, generate(ORIGIN).private_key))
    assert result.code == 1 and "checkpoint 8:" in result.out
    # 5. Unchanged files but a stale manifest: reported too.
    stale = tmp_path / "stale"
    shutil.copytree(bundle, stale)
    (stale / "checkpoint").write_text(records[5]["note"], "utf-8")
    result = cli("verify", "--bundle", str(stale), "--trust", vkey)
    assert result.code == 1 and "bundle: manifest: checkpoint" in result.out


# -- the log key as docs/OPERATIONS.md deploys it -------------------------------------------------


def test_a_log_key_other_than_the_genesis_one_is_refused(cli_ledger: Any, tmp_path: Path) -> None:
    cli = cli_ledger
    impostor = tmp_path / "impostor-log.key"
    cli.ok("key", "new", "--name", ORIGIN, "--out", str(impostor))  # same name, another key
    before = cli.ok("checkpoint").out
    result = cli(
        "member", "admit", "--id", "M-1", "--kind", "person", "--name", "A",
        "--key", str(cli.keys["coop-admin"]), "--log-key", str(impostor),
    )  # fmt: skip
    refused(result, "is not this ledger's log key")
    assert cli.ok("checkpoint").out == before
    # The log key cannot be authorised to sign entries either.
    vkey = cli.ok("key", "show", str(cli.keys["log"]), "--vkey").out.strip()
    refused(
        cli("key", "authorize", vkey, "--role", "coop-admin", "--key", str(cli.keys["governor"])),
        "log key signs checkpoints only",
    )


def test_the_log_key_has_its_own_passphrase(cli: Any, tmp_path: Path) -> None:
    """COOPLEDGER_LOG_KEY + COOPLEDGER_LOG_PASSPHRASE, separate from the administrator's."""
    from ledger.charter import TEMPLATE

    (tmp_path / "charter.toml").write_text(TEMPLATE, encoding="utf-8")
    cli.ok("key", "new", "--name", "gov", "--out", "gov.key")
    cli.ok("key", "new", "--name", ORIGIN, "--out", "log.key", env={"COOPLEDGER_PASSPHRASE": "log"})
    assert (tmp_path / "log.key").stat().st_mode & 0o777 == 0o600
    cli.env.update({"COOPLEDGER_DB": str(tmp_path / "l.db"), "COOPLEDGER_LOG_KEY": "log.key"})
    log_env = {"COOPLEDGER_LOG_PASSPHRASE": "log"}
    refused(
        cli("init", "--origin", ORIGIN, "--charter", "charter.toml", "--key", "gov.key"),
        "wrong passphrase",
        "log.key",
    )
    out = cli.ok(
        "init", "--origin", ORIGIN, "--charter", "charter.toml", "--key", "gov.key", env=log_env
    ).out
    vkey = vkey_of(cli)
    assert f"log verifier key (give it to auditors): {vkey}" in out
    cli.ok("key", "new", "--name", "admin", "--out", "admin.key")
    admin_vkey = cli.ok("key", "show", "admin.key", "--vkey").out.strip()
    grant = ["key", "authorize", admin_vkey, "--role", "coop-admin", "--key", "gov.key"]
    refused(cli(*grant), "wrong passphrase", "log.key")
    result = cli.ok(*grant, "--receipt", "r.tlog-proof", env=log_env)
    assert _reference(result)[0] == 1
    cli.ok("verify-receipt", "r.tlog-proof", "--vkey", vkey, "--entry", "1")
