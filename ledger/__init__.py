"""coop-ledger: an append-only, signed, transparent ledger for cooperative shares, leases and levies."""

__version__ = "0.1.0"
