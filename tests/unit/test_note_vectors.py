"""Signed-note and checkpoint vectors from Go and transparency-dev, and the strict parsers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import InputError, NoteError, ProofError
from ledger.merkle import MemoryTree, leaf_hash
from ledger.note import (
    MAX_SIGNATURES,
    TLOG_PROOF_HEADER,
    Checkpoint,
    Verifier,
    b64decode,
    b64encode,
    format_tlog_proof,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_signer_key,
    parse_tlog_proof,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    signer_key,
    verifier_key,
    verify_tlog_proof,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "signed_note.json").read_text("utf-8")
)
PN = VECTORS["peter_neumann"]
CP = VECTORS["checkpoint"]


def fresh_verifier(name: str) -> tuple[Ed25519PrivateKey, Verifier]:
    key = Ed25519PrivateKey.generate()
    return key, Verifier.from_public_key(name, key.public_key().public_bytes_raw())


# --- keys -------------------------------------------------------------------


def test_peter_neumann_keys() -> None:
    signer = parse_signer_key(PN["signer_key"])
    verifier = parse_verifier_key(PN["verifier_key"])
    assert signer.name == verifier.name == "PeterNeumann"
    assert signer.key_id.hex() == verifier.key_id.hex() == "c74f20a3"
    assert signer.verifier() == verifier
    assert verifier.key_text() == PN["verifier_key"]
    assert verifier_key(verifier.name, verifier.public_key) == PN["verifier_key"]
    assert key_id(verifier.name, verifier.public_key) == verifier.key_id
    assert signer_key(signer.name, signer.private_key) == PN["signer_key"]


def test_verifier_key_splits_on_first_two_plus_only() -> None:
    # The checkpoint vector's key data contains a '+' of its own.
    verifier = parse_verifier_key(CP["verifier_key"])
    assert verifier.name == "Log"
    assert "+" in CP["verifier_key"].split("+", 2)[2]
    assert verifier.key_text() == CP["verifier_key"]
    assert parse_signer_key(CP["signer_key"]).verifier() == verifier


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PeterNeumann+c74f20a3", "must look like"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "gives c74f20a3"),
        ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hex digits"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name is empty"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "contains a space"),
        ("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "type 0x02"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy", "1 \\+ 32 bytes"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW", "base64"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=", "base64"),
    ],
)
def test_malformed_verifier_keys(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_verifier_key(text)


def test_malformed_signer_keys() -> None:
    with pytest.raises(InputError, match="PRIVATE\\+KEY"):
        parse_signer_key(PN["verifier_key"])
    with pytest.raises(InputError, match="gives"):
        parse_signer_key(PN["signer_key"].replace("c74f20a3", "c74f20a4"))


# --- signed notes -----------------------------------------------------------


def test_peter_neumann_signature_is_exact_and_verifies() -> None:
    signer = parse_signer_key(PN["signer_key"])
    verifier = parse_verifier_key(PN["verifier_key"])
    signed = sign_note(PN["text"], signer.name, signer.private_key)
    assert signed == PN["text"] + "\n" + PN["signature_line"]
    note = open_note(signed, [verifier])
    assert note.text == PN["text"]
    assert [s.line() for s in note.signatures] == [PN["signature_line"]]
    assert note.unverified == ()
    # bytes in, same result
    assert open_note(signed.encode("utf-8"), [verifier]) == note


def test_checkpoint_vector_is_exact_and_verifies() -> None:
    signer = parse_signer_key(CP["signer_key"])
    verifier = parse_verifier_key(CP["verifier_key"])
    checkpoint = Checkpoint(CP["origin"], CP["tree_size"], bytes.fromhex(CP["root_hex"]))
    assert sign_checkpoint(checkpoint, signer.private_key) == CP["note"]
    assert open_checkpoint(CP["note"], verifier) == checkpoint
    assert parse_checkpoint(checkpoint.text()) == checkpoint


def test_every_changed_character_fails() -> None:
    verifier = parse_verifier_key(CP["verifier_key"])
    note: str = CP["note"]
    for position, original in enumerate(note):
        replacement = "B" if original != "B" else "C"
        tampered = note[:position] + replacement + note[position + 1 :]
        with pytest.raises(NoteError):
            open_checkpoint(tampered, verifier)


def test_changed_text_byte_names_the_bad_signature() -> None:
    verifier = parse_verifier_key(CP["verifier_key"])
    with pytest.raises(NoteError, match="signature by key Log\\+2271c621 does not verify"):
        open_checkpoint(CP["note"].replace("\n8\n", "\n9\n"), verifier)


def test_signature_by_another_key_is_ignored_then_unsigned() -> None:
    verifier = parse_verifier_key(CP["verifier_key"])
    text = CP["note"].split("\n\n")[0] + "\n"
    for other_name in ("Log", "Witness"):  # same name, other id; other name
        other_key, _ = fresh_verifier(other_name)
        signed = sign_note(text, other_name, other_key)
        with pytest.raises(NoteError, match="note is not signed by Log"):
            open_checkpoint(signed, verifier)
        # Alongside the real signature, the foreign one is kept but not trusted.
        both = CP["note"] + signed.split("\n\n")[1]
        note = open_note(both, [verifier])
        assert len(note.signatures) == 1
        assert [s.name for s in note.unverified] == [other_name]


def test_bad_signature_by_a_known_key_rejects_even_beside_a_good_one() -> None:
    key_a, a = fresh_verifier("a.example")
    key_b, b = fresh_verifier("b.example")
    text = "hello\n"
    good_a = sign_note(text, "a.example", key_a)
    bad_b = sign_note("other\n", "b.example", key_b).split("\n\n")[1]
    with pytest.raises(NoteError, match=r"b\.example\+[0-9a-f]{8} does not verify"):
        open_note(good_a + bad_b, [a, b])
    # Without b trusted, b's line is just an unknown signature.
    assert open_note(good_a + bad_b, [a]).text == text


def test_one_signature_per_key() -> None:
    key, verifier = fresh_verifier("log.example")
    signed = sign_note("x\n", "log.example", key)
    doubled = signed + signed.split("\n\n")[1]
    with pytest.raises(NoteError, match=r"more than one signature by key log\.example"):
        open_note(doubled, [verifier])


def test_signature_count_limit() -> None:
    key, verifier = fresh_verifier("log.example")
    signed = sign_note("x\n", "log.example", key)
    foreign = [
        sign_note("x\n", f"w{i}.example", Ed25519PrivateKey.generate()).split("\n\n")[1]
        for i in range(MAX_SIGNATURES)
    ]
    assert open_note(signed + "".join(foreign[:-1]), [verifier]).text == "x\n"
    with pytest.raises(NoteError, match=f"101 signature lines, more than {MAX_SIGNATURES}"):
        open_note(signed + "".join(foreign), [verifier])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n[:-1], "does not end with a newline"),
        (lambda n: n + "\n", "no signature lines"),
        (lambda n: n.replace("\u2014 ", "- "), "em dash"),
        (lambda n: n.replace("\u2014 Log ", "\u2014 Log"), "no space"),
        (lambda n: n.replace("\u2014 Log ", "\u2014 L+g "), "contains '\\+'"),
        (lambda n: n.replace("Log\n8", "Log\r\n8"), "control character U\\+000D"),
        (lambda n: n.replace("\u2014 Log ", "\u2014 Log AAAA\n\u2014 Log "), "holds 3 bytes"),
        (lambda n: n.replace("=\n", "\n"), "standard padded base64"),
    ],
)
def test_malformed_notes(mutate: Any, message: str) -> None:
    verifier = parse_verifier_key(CP["verifier_key"])
    with pytest.raises(NoteError, match=message):
        open_note(mutate(CP["note"]), [verifier])


def test_note_must_be_utf8() -> None:
    verifier = parse_verifier_key(CP["verifier_key"])
    with pytest.raises(NoteError, match="not valid UTF-8"):
        open_note(CP["note"].encode("utf-8").replace(b"Log\n8", b"L\xffg\n8"), [verifier])
    with pytest.raises(NoteError, match="not valid UTF-8"):
        open_note("Log\ud800\n8\n", [verifier])


def test_text_may_contain_blank_lines() -> None:
    key, verifier = fresh_verifier("poet.example")
    text = "Ognuno sta solo sul cuor della terra\n\ned \u00e8 subito sera.\n"
    assert open_note(sign_note(text, "poet.example", key), [verifier]).text == text


def test_signing_refuses_bad_text_and_names() -> None:
    key = Ed25519PrivateKey.generate()
    with pytest.raises(InputError, match="end with a newline"):
        sign_note("no newline", "n", key)
    with pytest.raises(InputError, match="control character U\\+0009"):
        sign_note("tab\there\n", "n", key)
    with pytest.raises(InputError, match="contains a space"):
        sign_note("x\n", "a b", key)
    with pytest.raises(InputError, match="contains '\\+'"):
        sign_note("x\n", "a+b", key)


# --- checkpoints ------------------------------------------------------------


def test_checkpoint_extensions_round_trip() -> None:
    key, verifier = fresh_verifier("example.com/log")
    checkpoint = Checkpoint("example.com/log", 0, bytes(32), ("ext one", "ext two"))
    assert checkpoint.text() == (
        "example.com/log\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\next two\n"
    )
    assert open_checkpoint(sign_checkpoint(checkpoint, key), verifier) == checkpoint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Log\n8\n", "2 lines, expected at least 3"),
        ("Log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "end with a newline"),
        ("\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "origin is empty"),
        ("Log\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "leading zeros"),
        ("Log\n+8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "leading zeros"),
        ("Log\n-1\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "leading zeros"),
        ("Log\n\u0668\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "leading zeros"),
        ("Log\n 8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "leading zeros"),
        ("Log\n9223372036854775808\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "2\\*\\*63"),
        ("Log\n" + "9" * 5000 + "\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "2\\*\\*63"),
        ("Log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=\n", "standard padded base64"),
        ("Log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n", "standard padded base64"),
        ("Log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n", "canonical"),
        ("Log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/Rg\n", "32 bytes, found 30"),
        ("Log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n", "extension line 1 is empty"),
    ],
)
def test_malformed_checkpoints(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_checkpoint(text)


def test_largest_tree_size_is_accepted() -> None:
    text = "Log\n9223372036854775807\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    assert parse_checkpoint(text).tree_size == 2**63 - 1


def test_checkpoint_construction_is_checked() -> None:
    with pytest.raises(InputError, match="32 bytes"):
        Checkpoint("Log", 1, b"short")
    with pytest.raises(InputError, match="origin is empty"):
        Checkpoint("", 1, bytes(32))
    with pytest.raises(InputError, match="tree size"):
        Checkpoint("Log", -1, bytes(32))


def test_checkpoint_origin_must_match_key_name() -> None:
    key, verifier = fresh_verifier("other.example")
    checkpoint = Checkpoint("log.example", 3, bytes(32))
    signed = sign_note(checkpoint.text(), "other.example", key)
    with pytest.raises(NoteError, match=r"origin 'log\.example' does not match"):
        open_checkpoint(signed, verifier)


# --- base64 -----------------------------------------------------------------


def test_base64_is_standard_with_padding() -> None:
    # 0xfb 0xff 0xbf encodes to "+/+/" in the standard alphabet ("-_-_" in the URL one).
    assert b64encode(b"\xfb\xff\xbf") == "+/+/"
    assert b64encode(b"\xff") == "/w=="
    assert b64encode(b"\xff\xff") == "//8="
    assert b64decode("+/+/", "x") == b"\xfb\xff\xbf"
    assert b64decode("", "x") == b""
    for bad in ("-_-_", "/w", "/w=", "//8", "/w==\n", " /w==", "/w==/w==", "/x==", "=", "A==="):
        with pytest.raises(NoteError):
            b64decode(bad, "x")
    # Agrees with the standard library (RFC 4648 §4) on every length 0..40.
    for n in range(41):
        data = bytes(range(256 - n, 256))
        assert b64encode(data) == base64.standard_b64encode(data).decode("ascii")
        assert b64decode(b64encode(data), "x") == data


# --- tlog-proof receipts ----------------------------------------------------


def _receipt_fixture() -> tuple[MemoryTree, Ed25519PrivateKey, Verifier, str]:
    key, verifier = fresh_verifier("example.com/coop")
    tree = MemoryTree(leaf_hash(f"entry {i}".encode()) for i in range(13))
    checkpoint = Checkpoint("example.com/coop", tree.tree_size, tree.root())
    return tree, key, verifier, sign_checkpoint(checkpoint, key)


def test_tlog_proof_round_trip_and_layout() -> None:
    tree, _, verifier, signed = _receipt_fixture()
    proof = tree.inclusion_proof(7)
    text = format_tlog_proof(7, proof, signed)
    lines = text.split("\n")
    assert lines[0] == TLOG_PROOF_HEADER
    assert lines[1] == "index 7"
    assert lines[2 : 2 + len(proof)] == [b64encode(h) for h in proof]
    assert lines[2 + len(proof)] == ""
    assert text.endswith("\n\n" + signed)
    parsed = parse_tlog_proof(text)
    assert (parsed.index, list(parsed.proof), parsed.checkpoint_note, parsed.extra) == (
        7,
        proof,
        signed,
        None,
    )
    checkpoint = verify_tlog_proof(text, leaf_hash(b"entry 7"), verifier, expected_index=7)
    assert checkpoint.tree_size == 13


def test_tlog_proof_extra_data() -> None:
    tree, _, verifier, signed = _receipt_fixture()
    text = format_tlog_proof(3, tree.inclusion_proof(3), signed, extra=b"\xfb\xff context")
    assert text.split("\n")[1] == "extra " + b64encode(b"\xfb\xff context")
    assert parse_tlog_proof(text).extra == b"\xfb\xff context"
    assert parse_tlog_proof(format_tlog_proof(3, [], signed, extra=b"")).extra == b""
    verify_tlog_proof(text, leaf_hash(b"entry 3"), verifier)


def test_tlog_proof_without_hashes() -> None:
    key, verifier = fresh_verifier("one.example")
    signed = sign_checkpoint(Checkpoint("one.example", 1, leaf_hash(b"only")), key)
    text = format_tlog_proof(0, [], signed)
    assert text.startswith(TLOG_PROOF_HEADER + "\nindex 0\n\none.example\n1\n")
    verify_tlog_proof(text, leaf_hash(b"only"), verifier)


def test_tlog_proof_rejections() -> None:
    tree, _, verifier, signed = _receipt_fixture()
    proof = tree.inclusion_proof(7)
    text = format_tlog_proof(7, proof, signed)
    with pytest.raises(ProofError, match="leads to root"):
        verify_tlog_proof(text, leaf_hash(b"entry 8"), verifier)
    with pytest.raises(ProofError, match="receipt is for leaf 7, expected leaf 8"):
        verify_tlog_proof(text, leaf_hash(b"entry 7"), verifier, expected_index=8)
    flipped = bytearray(proof[1])
    flipped[0] ^= 1
    with pytest.raises(ProofError):
        verify_tlog_proof(
            format_tlog_proof(7, [proof[0], bytes(flipped), *proof[2:]], signed),
            leaf_hash(b"entry 7"),
            verifier,
        )
    with pytest.raises(ProofError, match="must have 4 hashes, found 3"):
        verify_tlog_proof(format_tlog_proof(7, proof[:3], signed), leaf_hash(b"entry 7"), verifier)
    _, stranger = fresh_verifier("example.com/coop")
    with pytest.raises(NoteError, match=r"not signed by example\.com/coop"):
        verify_tlog_proof(text, leaf_hash(b"entry 7"), stranger)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"), "must start"),
        (lambda t: t.replace("index 7", "index 07"), "leading zeros"),
        (lambda t: t.replace("index 7", "index -7"), "leading zeros"),
        (lambda t: t.replace("index 7", "idx 7"), "no 'index <n>' line"),
        (lambda t: t.replace("index 7\n", "extra !!\nindex 7\n"), "extra data"),
        (lambda t: t.replace("index 7\n", "index 7\nAAAA\n"), "must be 32 bytes, found 3"),
        (lambda t: t.replace("=\n\n", "\n\n", 1), "standard padded base64"),
        (lambda t: t.split("\n\n")[0], "no blank line"),
        (lambda t: t.split("\n\n")[0] + "\n\n", "no checkpoint"),
    ],
)
def test_malformed_tlog_proofs(mutate: Any, message: str) -> None:
    tree, _, _, signed = _receipt_fixture()
    text = format_tlog_proof(7, tree.inclusion_proof(7), signed)
    with pytest.raises(InputError, match=message):
        parse_tlog_proof(mutate(text))


def test_format_tlog_proof_checks_its_inputs() -> None:
    _, _, _, signed = _receipt_fixture()
    with pytest.raises(InputError, match="32 bytes"):
        format_tlog_proof(0, [b"x"], signed)
    with pytest.raises(InputError, match="leaf index"):
        format_tlog_proof(-1, [], signed)
    with pytest.raises(InputError, match="signed note"):
        format_tlog_proof(0, [], "Log\n1\n")
