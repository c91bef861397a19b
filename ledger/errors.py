"""The one exception tree of the library: every refusal is a LedgerError with a one-line message."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose; its message is one line for the user."""

    exit_code = 1


class UsageError(LedgerError):
    """The caller asked for something malformed (bad option value, unreadable file)."""

    exit_code = 2


class InputError(LedgerError):
    """A file or value supplied by the user is malformed (charter, bundle, receipt, amount)."""


class KeyFileError(LedgerError):
    """A key file cannot be read, or its passphrase is wrong."""


class RuleViolationError(LedgerError):
    """A command or an entry breaks a rule of the charter or of the domain."""


class NotFoundError(LedgerError):
    """A referenced thing (member, dwelling, entry, key) does not exist."""


class AuthorizationError(RuleViolationError):
    """An entry is signed by a key that is unknown, revoked, or lacks the role the kind needs."""


class ConflictError(LedgerError):
    """A request id was reused with other content, or a concurrent writer got in the way."""


class StorageError(LedgerError):
    """The database cannot be opened or is not a coop-ledger database."""


class VerificationError(LedgerError):
    """A signature, a proof, a checkpoint or a bundle does not verify."""


class ProofError(VerificationError):
    """A Merkle inclusion or consistency proof is malformed or does not match the root."""


class NoteError(VerificationError):
    """A signed note or checkpoint is malformed, or not signed by the expected key."""


class IntegrityError(LedgerError):
    """The database holds state that fails its authentication, or a log that does not verify."""


class OutputError(InputError):
    """A file or folder the ledger is asked to write cannot be written safely (it exists, is a
    symlink or special file, or the disk is full)."""
