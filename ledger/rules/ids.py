"""Ids across kinds: one id names one thing among dwellings, workspaces, properties and members."""

# The rule is of edition 2 (docs/RULES.md §3, docs/decisions/0016-rules-by-charter-version.md):
# a registration under a version-2 charter is refused when its id is in use by a thing of
# another kind. It reads each other kind's record by key, so it costs one read per kind, needs
# no record of its own (a database written before the rule needs no rebuild), and a thing that
# a correction withdrew or removed frees its id by itself.

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger.errors import RuleViolationError
from ledger.state import Record, State, charter_at


@dataclass(frozen=True)
class IdKind:
    """Where the things of one kind live in the state, and whether a record still names one."""

    namespace: str
    seq_field: str
    in_use: Callable[[Record], bool]


ID_KINDS: dict[str, IdKind] = {}


def id_kind(
    name: str, namespace: str, seq_field: str, in_use: Callable[[Record], bool] = lambda _r: True
) -> None:
    """Register a kind of thing whose ids share the one id space (a future kind, e.g. loans,
    adds one call here and one `check_unique` in its registration)."""
    if name in ID_KINDS:
        raise RuntimeError(f"id kind {name} registered twice")
    ID_KINDS[name] = IdKind(namespace, seq_field, in_use)


id_kind("member", "member", "admitted_seq")
id_kind("dwelling", "dwelling", "registered_seq", lambda r: r.get("withdrawn_seq") is None)
id_kind("workspace", "workspace", "registered_seq")
id_kind("property", "property", "registered_seq")


def check_unique(state: State, kind_name: str, thing_id: str) -> None:
    """Refuse (edition 2) registering `thing_id` as a `kind_name` while a thing of another kind
    has that id. Its own kind's duplicates are the registering rule's to refuse."""
    if kind_name not in ID_KINDS:
        raise RuntimeError(f"{kind_name} is not a registered id kind")
    _, charter = charter_at(state)
    if not charter.rules_from(2):
        return
    for other, spec in ID_KINDS.items():
        if other == kind_name:
            continue
        record = state.get(spec.namespace, thing_id)
        if record is not None and spec.in_use(record):
            raise RuleViolationError(
                f"{kind_name} {thing_id}: id {thing_id} is already {other} {thing_id} "
                f"(entry {record.get(spec.seq_field)}); one id names one thing across "
                f"{', '.join(ID_KINDS)} (charter version 2)"
            )
