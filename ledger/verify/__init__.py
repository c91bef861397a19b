"""Offline verification: a bundle, a receipt or a checkpoint against the pinned log key.

A pure reader: it imports no database library (no SQLAlchemy), and it writes no file but
the saved checkpoint of `verify --since` and the spill file of a large replay, which has no
name on disk (SpillState). Its modules: `bundle` (read and verify a bundle), `audit` (the
Auditor replaying leaf bytes), `receipts` (checkpoints and receipts), `spill` (replay state
past memory), `sigpool` (signature workers). This file stays empty on purpose: a spawned
signature worker imports nothing but `sigpool` and `cryptography`.
"""
