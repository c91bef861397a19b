"""The database schema, declared once with SQLModel for SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = "3"


class LedgerMeta(SQLModel, table=True):
    __tablename__ = "ledger_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str


class Head(SQLModel, table=True):
    """One row; writers lock it (PostgreSQL FOR UPDATE) so that one appends at a time. It
    carries the state root (`state_digest`, schema 3: the root of the state commitment) and
    its own MAC (docs/decisions/0014-trusted-state.md)."""

    __tablename__ = "head"
    id: int = Field(primary_key=True)
    size: int
    last_leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state_digest: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    mac: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class EntryRow(SQLModel, table=True):
    """The log. `data` holds the verbatim leaf bytes (the truth); the rest are indexed copies."""

    __tablename__ = "entries"
    __table_args__ = (
        Index("ix_entries_kind_seq", "kind", "seq"),
        # A request id already carried by an entry is refused even without its requests row.
        Index("ix_entries_request_id", "request_id"),
    )
    seq: int = Field(primary_key=True)
    kind: str = Field(max_length=64)
    key_id: str = Field(max_length=64)
    effective: str = Field(max_length=10)
    recorded_at: str = Field(max_length=32)
    request_id: str | None = Field(default=None, max_length=128)
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MerkleNode(SQLModel, table=True):
    """Hash of the complete subtree (level, idx): leaves [idx*2^level, (idx+1)*2^level)."""

    __tablename__ = "merkle_nodes"
    level: int = Field(primary_key=True)
    idx: int = Field(primary_key=True)
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CheckpointRow(SQLModel, table=True):
    __tablename__ = "checkpoints"
    size: int = Field(primary_key=True)
    root_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str


class RequestRow(SQLModel, table=True):
    """Idempotency: a request id, the hash of what it asked, and the entries it produced."""

    __tablename__ = "requests"
    request_id: str = Field(primary_key=True, max_length=128)
    content_hash: str = Field(max_length=64)
    first_seq: int
    last_seq: int
    checkpoint_size: int


class Projection(SQLModel, table=True):
    """Current state as keyed records (canonical JSON), rebuilt exactly by replaying the log;
    `bucket` places each record in the state tree (schema 3, ledger/storage/authentication.py)."""

    __tablename__ = "projection"
    __table_args__ = (Index("ix_projection_bucket", "bucket"),)
    ns: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=128)
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    bucket: int | None = None


class StateNode(SQLModel, table=True):
    """The state tree above the buckets: node 0 the top (256 page digests), node 1 + p page p
    (256 bucket digests); an absent row holds only empty children."""

    __tablename__ = "state_nodes"
    node: int = Field(primary_key=True)
    children: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class StateNamespace(SQLModel, table=True):
    """Per namespace of the projection: its number of records and the sum of their keyed MACs."""

    __tablename__ = "state_namespaces"
    ns: str = Field(primary_key=True, max_length=32)
    digest: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    count: int


class MemberData(SQLModel, table=True):
    """Personal data, outside the signed log; erasing it leaves the commitment unverifiable but valid."""

    __tablename__ = "member_data"
    member_id: str = Field(primary_key=True, max_length=64)
    salt: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    data: str | None = None
    erased_seq: int | None = None


APPEND_ONLY_TABLES = ("entries", "merkle_nodes", "checkpoints")
