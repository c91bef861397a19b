"""Secret keys derived from the log key, for what the writer stores beside the signed log."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.keys import Signer

# One purpose, one key: a MAC key for projection records can never be used as the key that
# hashes request contents, and neither reveals the log key (HKDF, RFC 5869).
PROJECTION_MAC = b"coop-ledger/v1 projection-mac"
REQUEST_HASH = b"coop-ledger/v1 request-hash"


def derive(log_signer: Signer, purpose: bytes) -> bytes:
    """A 32-byte key for `purpose`, derived from the log key's private seed and the origin."""
    seed = log_signer.private_key.private_bytes_raw()
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=log_signer.name.encode("utf-8"),
        info=purpose,
    )
    return hkdf.derive(seed)


def mac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (the one MAC the writer uses)."""
    return hmac.digest(key, message, hashlib.sha256)
