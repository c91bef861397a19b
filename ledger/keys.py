"""Ed25519 keys: generation, passphrase-encrypted PKCS#8 files, key ids and signing."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger import limits
from ledger.errors import InputError, KeyFileError, VerificationError
from ledger.files import create_file

# The key's name rides along in a comment line before the PEM block: PEM readers
# (OpenSSL included) skip text before "-----BEGIN", and the name is needed for the
# C2SP verifier key string, which PKCS#8 has no field for.
_NAME_PREFIX = "coop-ledger key name: "
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$")


def check_key_name(name: str) -> str:
    """A key name must be usable in a C2SP note: no spaces, no '+', printable ASCII."""
    if not _NAME_RE.match(name):
        raise InputError(
            f"key name {name!r} is not valid: use letters, digits and . _ / : - (no spaces or '+')"
        )
    return name


def key_id(public_key: bytes) -> str:
    """The ledger's key id: hex SHA-256 of the raw 32-byte Ed25519 public key (unambiguous)."""
    return hashlib.sha256(public_key).hexdigest()


def public_key_b64(public_key: bytes) -> str:
    return base64.b64encode(public_key).decode("ascii")


def decode_public_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as e:
        raise InputError(f"public key {text!r} is not base64") from e
    if len(raw) != 32:
        raise InputError(f"public key {text!r} is {len(raw)} bytes, expected 32")
    return raw


@dataclass(frozen=True)
class Signer:
    """A named private key that signs; the only object in the library that holds one."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    @property
    def vkey(self) -> str:
        from ledger.note import verifier_key

        return verifier_key(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def generate(name: str) -> Signer:
    return Signer(check_key_name(name), Ed25519PrivateKey.generate())


def write_key_file(path: Path, signer: Signer, passphrase: bytes) -> None:
    """Write the key as passphrase-encrypted PKCS#8 PEM, mode 0600, refusing to overwrite."""
    if not passphrase:
        raise InputError("an empty passphrase is not allowed for a key file")
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    data = (_NAME_PREFIX + signer.name + "\n").encode("ascii") + pem
    create_file(path, data, "key file", mode=0o600)


def read_key_file(path: Path, passphrase: bytes) -> Signer:
    """Load a key file written by write_key_file; wrong passphrase or format -> KeyFileError."""
    data = limits.read_bytes(path, "key file", limits.KEY_FILE_BYTES, KeyFileError)
    first, _, _ = data.partition(b"\n")
    text = first.decode("utf-8", "replace")
    if not text.startswith(_NAME_PREFIX):
        raise KeyFileError(f"{path} is not a coop-ledger key file (no key name line)")
    name = text[len(_NAME_PREFIX) :].strip()
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in data:
        # Whatever the passphrase (an empty one included): a key file is always encrypted.
        raise KeyFileError(f"key file {path} is not encrypted: make keys with coopledger key new")
    try:
        key = serialization.load_pem_private_key(data, passphrase or None)
    except TypeError as e:
        raise KeyFileError(f"key file {path} is encrypted: a passphrase is needed") from e
    except ValueError as e:
        # A wrong passphrase usually fails the decryption's padding check, but about one time
        # in 256 the padding passes and what fails is parsing the garbage it decrypted to: for
        # an encrypted key, both mean the passphrase (or the file's ciphertext) is wrong.
        encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data
        if encrypted or "password" in str(e).lower() or "decrypt" in str(e).lower():
            raise KeyFileError(
                f"wrong passphrase for key file {path} (or its encrypted key is damaged)"
            ) from e
        raise KeyFileError(f"{path} is not a valid PKCS#8 PEM key file") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, expected an Ed25519 key")
    return Signer(check_key_name(name), key)


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> None:
    """Raise VerificationError unless `signature` is a valid Ed25519 signature of `message`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        raise VerificationError("signature does not verify") from None
    except ValueError as e:
        raise VerificationError(f"malformed public key or signature: {e}") from e
