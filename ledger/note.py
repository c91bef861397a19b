"""C2SP signed notes, tlog checkpoints and tlog-proof receipts, with Ed25519 keys only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from ledger import limits, merkle
from ledger.errors import InputError, LedgerError, NoteError, ProofError

# Signature type byte of Ed25519 in C2SP signed-note; the only one we accept.
ALG_ED25519 = 0x01
KEY_ID_SIZE = 4
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
# The spec says verifiers MUST accept at least 16 and SHOULD cap the count;
# 100 is the cap Go's sumdb/note uses, so both sides agree on what is too many.
MAX_SIGNATURES = 100
# tree sizes travel as Go int64 in the reference implementation.
MAX_TREE_SIZE = 2**63 - 1

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
_SIG_PREFIX = "\u2014 "  # em dash, space
_PRIVATE_PREFIX = "PRIVATE+KEY+"
# 19 digits bound the value below 10**19 before int() runs, which keeps
# hostile input away from int()'s quadratic path and its digit limit.
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


# --- encodings --------------------------------------------------------------


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 §4), as every C2SP format uses."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str, error: type[LedgerError] = NoteError) -> bytes:
    """Decode standard padded base64, refusing the URL alphabet, missing padding,
    whitespace and non-canonical trailing bits, so one value has one encoding."""
    if not _BASE64.fullmatch(text):
        raise error(f"{what} is not standard padded base64: {text!r}")
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as e:  # unreachable after the pattern; translated anyway
        raise error(f"{what} is not standard padded base64: {text!r}") from e
    if b64encode(data) != text:
        raise error(f"{what} is not canonical base64 (stray bits in the last character): {text!r}")
    return data


def _has_control(text: str) -> int | None:
    """Offset of the first ASCII control character other than newline, if any."""
    for offset, ch in enumerate(text):
        if ch < " " and ch != "\n":
            return offset
    return None


def _name_problem(name: str) -> str | None:
    if not name:
        return "key name is empty"
    if "+" in name:
        return f"key name {name!r} contains '+'"
    if any(ch.isspace() for ch in name):
        return f"key name {name!r} contains a space"
    if _has_control(name) is not None:
        return f"key name {name!r} contains a control character"
    return None


def _check_name(name: str, error: type[LedgerError]) -> None:
    problem = _name_problem(name)
    if problem:
        raise error(problem)


# --- keys -------------------------------------------------------------------


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key id: SHA-256(name || "\\n" || 0x01 || public key)[:4]."""
    _check_name(name, InputError)
    if len(public_key) != ED25519_KEY_SIZE:
        raise InputError(
            f"Ed25519 public key must be {ED25519_KEY_SIZE} bytes, found {len(public_key)}"
        )
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key)
    return digest.digest()[:KEY_ID_SIZE]


def verifier_key(name: str, public_key: bytes) -> str:
    """The verifier key string `<name>+<8 hex>+<base64(0x01 || public key)>`."""
    kid = key_id(name, public_key)
    return f"{name}+{kid.hex()}+{b64encode(bytes([ALG_ED25519]) + public_key)}"


def _public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A trusted note-signing key: name, key id and Ed25519 public key."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Verifier:
        """Build from a name and a raw 32-byte public key (the key id is derived)."""
        return cls(name, key_id(name, public_key), public_key)

    def key_text(self) -> str:
        """The verifier key string for this key."""
        return verifier_key(self.name, self.public_key)

    def _accepts(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != ED25519_SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A note-signing key: name, key id and Ed25519 private key."""

    name: str
    key_id: bytes
    private_key: Ed25519PrivateKey

    def verifier(self) -> Verifier:
        """The matching verifier."""
        return Verifier(self.name, self.key_id, _public_bytes(self.private_key))


def _split_key(text: str, what: str) -> tuple[str, str, bytes]:
    """Split `<name>+<hex>+<base64>` on the first two '+' (base64 itself may contain '+')."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise InputError(f"{what} must look like <name>+<8 hex digits>+<base64>, found {text!r}")
    name, hex_id, b64 = parts
    _check_name(name, InputError)
    if not _HEX8.fullmatch(hex_id):
        raise InputError(f"{what} key id must be 8 hex digits, found {hex_id!r}")
    raw = b64decode(b64, f"{what} data", InputError)
    if len(raw) != 1 + ED25519_KEY_SIZE:
        raise InputError(
            f"{what} data must be 1 + {ED25519_KEY_SIZE} bytes, found {len(raw)} bytes"
        )
    if raw[0] != ALG_ED25519:
        raise InputError(f"{what} has signature type 0x{raw[0]:02x}, expected 0x01 (Ed25519)")
    return name, hex_id.lower(), raw[1:]


def parse_verifier_key(text: str) -> Verifier:
    """Parse and check `<name>+<hex key id>+<base64(0x01 || public key)>`."""
    name, hex_id, public_key = _split_key(text, "verifier key")
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as e:
        raise InputError(f"verifier key {name!r} holds an invalid Ed25519 public key") from e
    kid = key_id(name, public_key)
    if kid.hex() != hex_id:
        raise InputError(
            f"verifier key {name!r} has key id {hex_id}, but its public key gives {kid.hex()}"
        )
    return Verifier(name, kid, public_key)


def parse_signer_key(text: str) -> Signer:
    """Parse `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>`."""
    if not text.startswith(_PRIVATE_PREFIX):
        raise InputError("signer key must start with PRIVATE+KEY+")
    name, hex_id, seed = _split_key(text[len(_PRIVATE_PREFIX) :], "signer key")
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    kid = key_id(name, _public_bytes(private_key))
    if kid.hex() != hex_id:
        raise InputError(
            f"signer key {name!r} has key id {hex_id}, but its public key gives {kid.hex()}"
        )
    return Signer(name, kid, private_key)


def signer_key(name: str, private_key: Ed25519PrivateKey) -> str:
    """The signer key string `PRIVATE+KEY+<name>+<hex>+<base64(0x01 || seed)>` (secret!)."""
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    kid = key_id(name, _public_bytes(private_key))
    return f"{_PRIVATE_PREFIX}{name}+{kid.hex()}+{b64encode(bytes([ALG_ED25519]) + seed)}"


# --- signed notes -----------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature line of a note: key name, key id, raw signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The signature line, newline included."""
        return f"{_SIG_PREFIX}{self.name} {b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the verified signatures, and the ignored unknown-key ones."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...] = ()


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise InputError("note text must end with a newline")
    offset = _has_control(text)
    if offset is not None:
        raise InputError(
            f"note text contains control character U+{ord(text[offset]):04X} at offset {offset}"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError("note text is not valid UTF-8 (lone surrogate)") from e


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign text (which must end in a newline) and return the signed note."""
    _check_text(text)
    _check_name(name, InputError)
    kid = key_id(name, _public_bytes(private_key))
    signature = private_key.sign(text.encode("utf-8"))
    return text + "\n" + Signature(name, kid, signature).line()


def _decode_note(note: str | bytes) -> str:
    if isinstance(note, bytes):
        try:
            return note.decode("utf-8")
        except UnicodeDecodeError as e:
            raise NoteError(f"note is not valid UTF-8 (byte offset {e.start})") from e
    try:
        note.encode("utf-8")
    except UnicodeEncodeError as e:
        raise NoteError(f"note is not valid UTF-8 (lone surrogate at offset {e.start})") from e
    return note


def open_note(note: str | bytes, verifiers: Sequence[Verifier]) -> Note:
    """Parse a signed note and verify it against trusted keys; raise NoteError unless it
    carries at least one good signature by a trusted key and no bad one.

    Signatures whose (name, key id) match no verifier are ignored (kept in
    Note.unverified). A trusted key signing twice is refused rather than
    de-duplicated, so the signature block has one reading.
    """
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        other = known.setdefault((v.name, v.key_id), v)
        if other.public_key != v.public_key:
            raise InputError(
                f"two verifier keys share the name {v.name!r} and key id {v.key_id.hex()}"
            )
    text_all = _decode_note(note)
    offset = _has_control(text_all)
    if offset is not None:
        raise NoteError(
            f"note contains control character U+{ord(text_all[offset]):04X} at offset {offset}"
        )
    split = text_all.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line between its text and its signatures")
    text, block = text_all[: split + 1], text_all[split + 2 :]
    if not block:
        raise NoteError("note has no signature lines after the blank line")
    if not block.endswith("\n"):
        raise NoteError("note's last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signature lines, more than {MAX_SIGNATURES}")
    message = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, bytes]] = set()
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_SIG_PREFIX):
            raise NoteError(
                f"signature line {number} does not start with an em dash and a space: {line[:40]!r}"
            )
        name, space, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not space:
            raise NoteError(f"signature line {number} has no space between key name and signature")
        problem = _name_problem(name)
        if problem:
            raise NoteError(f"signature line {number}: {problem}")
        raw = b64decode(b64, f"signature line {number}")
        if len(raw) <= KEY_ID_SIZE:
            raise NoteError(
                f"signature line {number} holds {len(raw)} bytes, expected a 4-byte key id "
                "and a signature"
            )
        sig = Signature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])
        verifier = known.get((name, sig.key_id))
        if verifier is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if (name, sig.key_id) in seen:
            raise NoteError(f"note has more than one signature by key {name}+{sig.key_id.hex()}")
        seen.add((name, sig.key_id))
        if not verifier._accepts(message, sig.signature):
            raise NoteError(f"signature by key {name}+{sig.key_id.hex()} does not verify")
        verified.append(sig)
    if not verified:
        names = " or ".join(sorted({v.name for v in verifiers})) or "any trusted key"
        raise NoteError(f"note is not signed by {names}")
    return Note(text, tuple(verified), tuple(unverified))


# --- checkpoints ------------------------------------------------------------


def _checkpoint_problem(
    origin: str, tree_size: int, root_hash: bytes, extensions: tuple[str, ...]
) -> str | None:
    if not origin:
        return "checkpoint origin is empty"
    if "\n" in origin or _has_control(origin) is not None:
        return f"checkpoint origin {origin!r} contains a control character"
    if not 0 <= tree_size <= MAX_TREE_SIZE:
        return f"checkpoint tree size must be in [0, 2**63), found {tree_size}"
    if len(root_hash) != merkle.HASH_SIZE:
        return f"checkpoint root hash must be {merkle.HASH_SIZE} bytes, found {len(root_hash)}"
    for number, line in enumerate(extensions, start=1):
        if not line:
            return f"checkpoint extension line {number} is empty"
        if "\n" in line or _has_control(line) is not None:
            return f"checkpoint extension line {number} contains a control character"
    return None


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint: origin, tree size, root hash and optional extension lines."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = _checkpoint_problem(self.origin, self.tree_size, self.root_hash, self.extensions)
        if problem:
            raise InputError(problem)

    def text(self) -> str:
        """The note text: one line each for origin, size, base64 root, then extensions."""
        lines = [self.origin, str(self.tree_size), b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text strictly (decimal size without leading zeros, 32-byte root)."""
    if not text.endswith("\n"):
        raise NoteError("checkpoint text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError(
            f"checkpoint has {len(lines)} lines, expected at least 3 (origin, tree size, root hash)"
        )
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text):
        raise NoteError(
            f"checkpoint tree size must be a decimal below 2**63 without leading zeros, "
            f"found {size_text!r}"
        )
    root = b64decode(root_text, "checkpoint root hash")
    problem = _checkpoint_problem(origin, int(size_text), root, tuple(extensions))
    if problem:
        raise NoteError(problem)
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> str:
    """Sign a checkpoint as a note, with the origin as key name."""
    return sign_note(checkpoint.text(), checkpoint.origin, private_key)


def open_checkpoint(note_text: str | bytes, verifier: Verifier) -> Checkpoint:
    """Verify a signed checkpoint against the log's key and parse it.

    The origin must equal the key name: the spec only says SHOULD, but a
    ledger's checkpoint signed under another name is not this ledger's.
    """
    note = open_note(note_text, [verifier])
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != verifier.name:
        raise NoteError(
            f"checkpoint origin {checkpoint.origin!r} does not match the log key name "
            f"{verifier.name!r}"
        )
    return checkpoint


# --- tlog-proof receipts ----------------------------------------------------


@dataclass(frozen=True)
class TlogProof:
    """A parsed c2sp.org/tlog-proof@v1 receipt; the checkpoint note is kept verbatim."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None


def format_tlog_proof(
    index: int,
    proof_hashes: Sequence[bytes],
    signed_checkpoint_note: str,
    extra: bytes | None = None,
) -> str:
    """Write a tlog-proof@v1 receipt. extra (unauthenticated) is omitted when None."""
    if not 0 <= index <= MAX_TREE_SIZE:
        raise InputError(f"leaf index must be in [0, 2**63), found {index}")
    for position, h in enumerate(proof_hashes):
        if len(h) != merkle.HASH_SIZE:
            raise InputError(
                f"proof hash {position} must be {merkle.HASH_SIZE} bytes, found {len(h)}"
            )
    if not signed_checkpoint_note.endswith("\n") or "\n\n" not in signed_checkpoint_note:
        raise InputError("the checkpoint must be a signed note (text, blank line, signatures)")
    lines = [TLOG_PROOF_HEADER]
    if extra is not None:
        lines.append(f"extra {b64encode(extra)}")
    lines.append(f"index {index}")
    lines.extend(b64encode(h) for h in proof_hashes)
    return "\n".join(lines) + "\n\n" + signed_checkpoint_note


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a tlog-proof@v1 receipt strictly; raise InputError naming what is malformed.

    Nothing is verified here: see verify_tlog_proof.
    """
    split = text.find("\n\n")
    if split < 0:
        raise InputError("receipt has no blank line before its checkpoint")
    head, checkpoint_note = text[:split].split("\n"), text[split + 2 :]
    if head[0] != TLOG_PROOF_HEADER:
        raise InputError(f"receipt must start with {TLOG_PROOF_HEADER!r}, found {head[0]!r}")
    position = 1
    extra: bytes | None = None
    if position < len(head) and head[position].startswith("extra "):
        extra = b64decode(head[position][len("extra ") :], "receipt extra data", InputError)
        position += 1
    if position >= len(head) or not head[position].startswith("index "):
        raise InputError("receipt has no 'index <n>' line after its header")
    index_text = head[position][len("index ") :]
    if not _DECIMAL.fullmatch(index_text) or int(index_text) > MAX_TREE_SIZE:
        raise InputError(
            f"receipt index must be a decimal below 2**63 without leading zeros, "
            f"found {index_text!r}"
        )
    if len(head) - position - 1 > limits.PROOF_HASHES:
        raise InputError(
            f"receipt has {len(head) - position - 1} proof hashes, more than "
            f"{limits.PROOF_HASHES} (the limit for a tree of fewer than 2**63 entries)"
        )
    proof: list[bytes] = []
    for number, line in enumerate(head[position + 1 :]):
        h = b64decode(line, f"receipt proof hash {number}", InputError)
        if len(h) != merkle.HASH_SIZE:
            raise InputError(
                f"receipt proof hash {number} must be {merkle.HASH_SIZE} bytes, found {len(h)}"
            )
        proof.append(h)
    if not checkpoint_note:
        raise InputError("receipt has no checkpoint after the blank line")
    return TlogProof(int(index_text), tuple(proof), checkpoint_note, extra)


def verify_tlog_proof(
    text: str, leaf_hash: bytes, verifier: Verifier, *, expected_index: int | None = None
) -> Checkpoint:
    """Verify a receipt: the log's signature on its checkpoint, then the inclusion of
    leaf_hash (hash leaf data with merkle.leaf_hash first) at the receipt's index.

    Returns the checkpoint. Raises InputError (malformed receipt), NoteError
    (checkpoint) or ProofError (inclusion, or index differs from expected_index).
    """
    receipt = parse_tlog_proof(text)
    if expected_index is not None and receipt.index != expected_index:
        raise ProofError(f"receipt is for leaf {receipt.index}, expected leaf {expected_index}")
    checkpoint = open_checkpoint(receipt.checkpoint_note, verifier)
    merkle.verify_inclusion(
        leaf_hash, receipt.index, checkpoint.tree_size, receipt.proof, checkpoint.root_hash
    )
    return checkpoint
