"""Ed25519 verification in worker processes, for the auditor: chunks in, failing indexes out.

Kept apart from the rest of the library so that a worker process imports only this module
and `cryptography` (docs/decisions/0010-perf-verification.md)."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

Job = tuple[bytes, bytes, bytes]  # public key, signature, message

_KEYS: dict[bytes, Ed25519PublicKey] = {}


def verifies(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when the signature verifies; False for a bad signature or a malformed key."""
    key = _KEYS.get(public_key)
    try:
        if key is None:
            key = Ed25519PublicKey.from_public_bytes(public_key)
            if len(_KEYS) < 4096:
                _KEYS[public_key] = key
        key.verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def failing(jobs: list[Job]) -> list[int]:
    """The indexes of the jobs whose signature does not verify."""
    return [i for i, (key, sig, message) in enumerate(jobs) if not verifies(key, sig, message)]
