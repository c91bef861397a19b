"""Plain OpenSSL verifies a real entry's Ed25519 signature from the bytes FORMAT.md describes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger import model
from ledger.rules import members
from ledger.rules.members import PersonalData
from tests.support import Founded

pytestmark = pytest.mark.interop

# The context string exactly as docs/FORMAT.md spells it (tests/unit/test_format_doc.py keeps
# the document and model.ENTRY_CONTEXT equal).
CONTEXT = b"coop-ledger/entry/v1\n"


@pytest.fixture(scope="module")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("OpenSSL interop must run in CI, but openssl is not installed")
        pytest.skip("openssl is not installed")
    version = subprocess.run([path, "version"], capture_output=True, text=True).stdout
    if not version.startswith("OpenSSL 3"):
        pytest.skip(f"pkeyutl -rawin needs OpenSSL 3, found {version.strip()}")
    return path


def _pem(public_key_b64: str) -> bytes:
    """SubjectPublicKeyInfo PEM of a raw Ed25519 public key as the ledger stores it (base64)."""
    raw = base64.b64decode(public_key_b64)
    return Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )


def _documented_message(leaf: bytes) -> bytes:
    """FORMAT.md: the signature covers CONTEXT || RFC 8785 bytes of the leaf's `entry` object.

    Computed with the `rfc8785` reference package from the parsed leaf, not with our encoder."""
    entry = json.loads(leaf)["entry"]
    return CONTEXT + bytes(rfc8785.dumps(entry))


def _verify(openssl: str, directory: Path, pem: bytes, message: bytes, signature: bytes) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pub.pem").write_bytes(pem)
    (directory / "msg.bin").write_bytes(message)
    (directory / "sig.bin").write_bytes(signature)
    result = subprocess.run(
        [
            openssl,
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-rawin",
            "-in",
            "msg.bin",
            "-sigfile",
            "sig.bin",
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "ok" if result.returncode == 0 else (result.stdout + result.stderr).strip()


def _flip(data: bytes, position: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 0x01
    return bytes(out)


def test_context_string_is_the_models(openssl: str) -> None:
    assert model.ENTRY_CONTEXT == CONTEXT


def test_openssl_verifies_a_real_entry_and_refuses_a_flipped_byte(
    openssl: str, founded: Founded, tmp_path: Path
) -> None:
    founded.append(
        "coop-admin",
        [members.admit("M-42", "person", PersonalData(name="A. Jansen"), date(2031, 5, 1))],
    )
    with founded.store.reading() as tx:
        leaves = [data for _, data in tx.entries()]
    genesis, admitted = json.loads(leaves[0]), json.loads(leaves[-1])
    assert admitted["entry"]["kind"] == "member.admitted"
    # The author's public key comes from the ledger itself: the key.authorized entry naming it.
    author = admitted["entry"]["key_id"]
    grants = [
        json.loads(leaf)["entry"]["body"]["key"]
        for leaf in leaves[1:]
        if json.loads(leaf)["entry"]["kind"] == "key.authorized"
    ]
    # FORMAT.md: a key id is the hex SHA-256 of the raw 32-byte public key.
    [grant] = [
        g for g in grants if hashlib.sha256(base64.b64decode(g["public_key"])).hexdigest() == author
    ]
    message = _documented_message(leaves[-1])
    assert message == model.signing_message(
        model.SignedEntry.model_validate(admitted).entry.canonical_bytes()
    )
    signature = base64.b64decode(admitted["signatures"][0]["sig"])
    pem = _pem(grant["public_key"])
    assert _verify(openssl, tmp_path / "good", pem, message, signature) == "ok"
    # A flipped byte anywhere (context, entry, or signature) fails.
    for position in (0, len(CONTEXT) - 1, len(CONTEXT) + 10, len(message) - 1):
        failed = _verify(
            openssl, tmp_path / f"m{position}", pem, _flip(message, position), signature
        )
        assert failed != "ok" and "Verif" in failed, failed
    failed = _verify(openssl, tmp_path / "sig", pem, message, _flip(signature, 5))
    assert failed != "ok"
    # Without the context string the signature does not verify: it is domain-separated.
    assert _verify(openssl, tmp_path / "bare", pem, message[len(CONTEXT) :], signature) != "ok"

    # Genesis carries two signatures over the same message: the governor's, then the log key's,
    # both public keys named in its body.
    message0 = _documented_message(leaves[0])
    body = genesis["entry"]["body"]
    keys = [body["governor"]["public_key"], body["log_key"]["public_key"]]
    assert len(genesis["signatures"]) == 2
    for number, (key, sig) in enumerate(zip(keys, genesis["signatures"], strict=True)):
        raw_sig = base64.b64decode(sig["sig"])
        assert _verify(openssl, tmp_path / f"g{number}", _pem(key), message0, raw_sig) == "ok"
    swapped = base64.b64decode(genesis["signatures"][1]["sig"])
    assert _verify(openssl, tmp_path / "swap", _pem(keys[0]), message0, swapped) != "ok"
