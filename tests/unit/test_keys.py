"""Key files: encrypted PKCS#8, mode 0600, named, never overwritten; key ids and verifier keys."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from ledger.errors import InputError, KeyFileError
from ledger.keys import check_key_name, generate, read_key_file, write_key_file
from ledger.note import parse_verifier_key


def test_round_trip_and_mode(tmp_path: Path) -> None:
    signer = generate("coop-admin-1")
    path = tmp_path / "k.pem"
    write_key_file(path, signer, b"secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    loaded = read_key_file(path, b"secret")
    assert loaded.public_key == signer.public_key and loaded.name == "coop-admin-1"


def test_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    write_key_file(path, generate("a"), b"secret")
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        read_key_file(path, b"nope")


def test_a_wrong_passphrase_that_passes_the_padding_check_is_named_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """About one wrong passphrase in 256 decrypts to garbage with valid padding, and the error
    comes from parsing that garbage; it is still reported as a wrong passphrase."""
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / "k.key"
    write_key_file(path, generate("admin-1"), b"right")

    def garbage(data: bytes, password: bytes | None) -> None:
        raise ValueError("Could not deserialize key data. The data may be in an incorrect format")

    monkeypatch.setattr(serialization, "load_pem_private_key", garbage)
    with pytest.raises(KeyFileError, match="wrong passphrase for key file"):
        read_key_file(path, b"wrong")


def test_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    write_key_file(path, generate("a"), b"secret")
    with pytest.raises(InputError, match="already exists"):
        write_key_file(path, generate("b"), b"secret")


def test_not_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    path.write_text("hello\n")
    with pytest.raises(KeyFileError, match="not a coop-ledger key file"):
        read_key_file(path, b"x")


def test_key_id_and_vkey() -> None:
    signer = generate("pampus.example/coop")
    assert signer.key_id == hashlib.sha256(signer.public_key).hexdigest()
    verifier = parse_verifier_key(signer.vkey)
    assert verifier.public_key == signer.public_key and verifier.name == signer.name


@pytest.mark.parametrize("name", ["", "has space", "plus+sign", "x" * 200])
def test_bad_names(name: str) -> None:
    with pytest.raises(InputError):
        check_key_name(name)
