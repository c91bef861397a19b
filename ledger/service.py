"""The application service: the one place that opens a write transaction and appends entries."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ledger import log_guard, merkle, note
from ledger.charter import Charter
from ledger.command import Command, Fact, LegacyCommand
from ledger.derived_keys import PROJECTION_MAC, derive
from ledger.errors import (
    IntegrityError,
    KeyFileError,
    RuleViolationError,
    StorageError,
    VerificationError,
)
from ledger.keys import Signer, public_key_b64
from ledger.log_memory import LogMemory
from ledger.model import (
    GENESIS_PREV,
    Entry,
    Signature,
    SignedEntry,
    assemble_leaf,
    assemble_leaf_texts,
    check_request_id,
    make_entry,
    signing_message,
)
from ledger.rules.governance import KeyGrant, LedgerFounded, LogKey
from ledger.state import META, Ctx, State, apply, apply_entry, load_kinds
from ledger.storage.store import Store, WriteTx
from ledger.types import utc_text, validated


@dataclass(frozen=True)
class Appended:
    seq: int
    kind: str
    leaf_hash: bytes
    effective: date


@dataclass(frozen=True)
class Receipt:
    """What a writing command reports: the entries, and the checkpoint that covers them."""

    entries: tuple[Appended, ...]
    checkpoint_size: int
    checkpoint: str
    replayed: bool = False
    facts: tuple[Fact, ...] = field(default=(), compare=False)


def _sign_apply_store(
    tx: WriteTx,
    fact: Fact,
    seq: int,
    prev: bytes,
    now: str,
    signers: Sequence[Signer],
    signer_ids: Sequence[str],  # theirs, read once a batch (a property that hashes the key)
    request_id: str | None,
) -> bytes:
    """Make entry `seq` of a decided fact, sign it, fold it into the state through the same
    apply() the auditor runs, and add it to the store; its leaf hash."""
    author_id = signer_ids[0]
    body = fact.body.model_dump(mode="json")
    prev_text = GENESIS_PREV if seq == 0 else prev.hex()
    entry, entry_bytes = make_entry(
        seq, fact.kind, body, prev_text, now, fact.effective, author_id, request_id
    )
    message = signing_message(entry_bytes)
    sig_texts = [base64.b64encode(s.sign(message)).decode("ascii") for s in signers]
    if entry is None:
        # Validated by make_entry's plain checks: no models to build (decision 0008).
        apply_entry(
            tx.state, fact.kind, body, seq, fact.effective, now, author_id, request_id,
            signer_ids, decided=fact.body,
        )  # fmt: skip
        data = assemble_leaf_texts(entry_bytes, list(zip(signer_ids, sig_texts, strict=True)))
    else:
        pairs = zip(signer_ids, sig_texts, strict=True)
        signatures = [Signature(key_id=k, sig=v) for k, v in pairs]
        apply(tx.state, SignedEntry(entry=entry, signatures=tuple(signatures)))
        data = assemble_leaf(entry_bytes, signatures)
    digest = merkle.leaf_hash(data)
    tx.add_entry(
        {
            "seq": seq,
            "kind": fact.kind,
            "key_id": author_id,
            "effective": fact.effective.isoformat(),
            "recorded_at": now,
            "request_id": request_id,
            "leaf_hash": digest,
            "data": data,
        }
    )
    return digest


def _keep_personal_data(tx: WriteTx, fact: Fact, seq: int) -> None:
    """Store the personal data a fact brings (outside the log), or erase what it forgets,
    with the request rows that could tell who it was."""
    if fact.personal is not None:
        member_id, salt, personal = fact.personal
        unclaimed_member_data(tx, member_id)
        tx.put_member_data(member_id, salt, personal)
    if fact.erase_personal is not None:
        tx.erase_member_data(fact.erase_personal, seq)
        member = tx.state.get("member", fact.erase_personal)
        if member is not None:
            log_guard.forget_requests(tx, member["admitted_seq"], seq)


def utcnow() -> datetime:
    return datetime.now(UTC)


def request_hash(commands: Sequence[Command], signer_key_id: str, log_signer: Signer) -> str:
    """The keyed hash of what a request asked (decision 0015)."""
    return log_guard.request_hash(commands, signer_key_id, log_guard.request_key(log_signer))


class Ledger:
    """Appends through one store. The clock is passed in, so tests and replays are exact."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock
        # Rules may read registries that every part fills when imported (contribution
        # sources, reversers): load every part before the first command is decided.
        load_kinds()

    # -- genesis --------------------------------------------------------------------------------

    def found(
        self,
        command: Command,
        governor: Signer,
        log_signer: Signer,
        memory: LogMemory | None = None,
    ) -> Receipt:
        """Write entry 0, signed by the founding governor and countersigned by the log key,
        which then remembers checkpoint 1 (a key that remembers another checkpoint of this
        origin would fork its own log, and is refused)."""
        remembered = memory.load(log_signer) if memory is not None else None
        if memory is not None and remembered is not None:
            raise VerificationError(
                f"refusing to sign: this log key already signed checkpoint "
                f"{remembered[0].tree_size} of {remembered[0].origin} (memory {memory.path}); "
                "a new ledger needs a new log key"
            )
        with self.store.writing(derive(log_signer, PROJECTION_MAC)) as tx:
            trust_state(tx, log_signer)
            if tx.head()[0] != 0:
                raise StorageError(f"the ledger at {self.store.target} already holds entries")
            receipt = self._append(tx, [command], [governor, log_signer], log_signer, None)
        if memory is not None:
            memory.remember(receipt.checkpoint, log_signer)
        return receipt

    # -- appends --------------------------------------------------------------------------------

    def append(
        self,
        commands: Sequence[Command],
        signer: Signer,
        log_signer: Signer,
        request_id: str | None = None,
        memory: LogMemory | None = None,
    ) -> Receipt:
        """Decide, sign, apply and store every command as one transaction, or none of them.

        With the log key's `memory`, the log key signs only a tree consistent with the last
        checkpoint it remembers, and remembers the new one after the commit (decision 0015)."""
        if not commands:
            raise RuleViolationError("nothing to append")
        if request_id is not None:
            check_request_id(request_id)
        with self.store.writing(derive(log_signer, PROJECTION_MAC)) as tx:
            trust_state(tx, log_signer)
            if request_id is not None:
                previous = tx.request(request_id)
                if previous is not None:
                    content = request_hash(commands, signer.key_id, log_signer)
                    return self._replayed(tx, previous, content, log_signer)
                log_guard.unused_request(tx, request_id)
            anchor = log_guard.signed_tip(tx, log_signer, memory)
            receipt = self._append(tx, commands, [signer], log_signer, request_id, anchor)
        if memory is not None:
            memory.remember(receipt.checkpoint, log_signer)
        if any(f.erase_personal is not None for f in receipt.facts):
            self.store.scrub()
        return receipt

    def dry_run(self, commands: Sequence[Command], signer: Signer) -> list[Fact]:
        """Decide and check the commands against the current state; write nothing."""
        facts: list[Fact] = []
        with self.store.reading() as tx:
            size, prev = tx.head()
            now = utc_text(self.clock())
            founded_on = genesis_date(tx.state)
            for command in commands:
                ctx = Ctx(size, self.clock().date(), now, signer.key_id)
                fact = command.decide(tx.state, ctx)
                check_not_before(fact, ctx, founded_on)
                entry = self._entry(size, prev, fact, now, signer.key_id, None)
                # Apply to the uncommitted cache, so the rules (roles included) run for real.
                fake_sig = Signature(key_id=signer.key_id, sig=base64.b64encode(bytes(64)).decode())
                apply(tx.state, SignedEntry(entry=entry, signatures=(fake_sig,)))
                facts.append(fact)
                size += 1
        return facts

    def _replayed(
        self, tx: WriteTx, previous: Mapping[str, Any], content_hash: str, log_signer: Signer
    ) -> Receipt:
        """The original receipt, only when the requests row is bound to signed entries that
        carry its request id and the stored hash is this request's keyed hash."""
        log_guard.bound_request(tx, previous, log_signer)
        log_guard.replayable(previous, content_hash)
        appended = []
        for seq, kind, data in tx.entry_rows(previous["first_seq"], previous["last_seq"] + 1):
            entry = SignedEntry.model_validate_json(data).entry
            appended.append(Appended(seq, kind, merkle.leaf_hash(data), entry.effective))
        cp = tx.checkpoint(previous["checkpoint_size"])
        if cp is None:
            raise StorageError(
                f"checkpoint {previous['checkpoint_size']} is missing from the store"
            )
        return Receipt(tuple(appended), cp[0], cp[2], replayed=True)

    @staticmethod
    def _entry(
        seq: int, prev: bytes, fact: Fact, now: str, key_id: str, request_id: str | None
    ) -> Entry:
        return Entry(
            seq=seq,
            kind=fact.kind,
            body=fact.body.model_dump(mode="json"),
            prev=GENESIS_PREV if seq == 0 else prev.hex(),
            recorded_at=now,
            effective=fact.effective,
            key_id=key_id,
            request_id=request_id,
        )

    def _append(
        self,
        tx: WriteTx,
        commands: Sequence[Command],
        signers: Sequence[Signer],
        log_signer: Signer,
        request_id: str | None,
        anchor: note.Checkpoint | None = None,
    ) -> Receipt:
        start, prev = tx.head()
        state = tx.state
        if start > 0:
            check_log_key(state, log_signer)
        moment = self.clock()
        now = utc_text(moment)
        size = start
        appended: list[Appended] = []
        leaves: list[bytes] = []
        facts: list[Fact] = []
        signer_ids = [s.key_id for s in signers]  # properties that hash the key: read once
        author_id = signer_ids[0]
        today = moment.date()
        founded_on = genesis_date(state)
        for command in commands:
            ctx = Ctx(size, today, now, author_id, request_id)
            fact = command.decide(state, ctx)
            check_not_before(fact, ctx, founded_on)
            digest = _sign_apply_store(tx, fact, size, prev, now, signers, signer_ids, request_id)
            _keep_personal_data(tx, fact, size)
            appended.append(Appended(size, fact.kind, digest, fact.effective))
            leaves.append(digest)
            facts.append(fact)
            prev = digest
            size += 1
        if start == 0:
            check_log_key(state, log_signer)
        checkpoint = self._extend_tree(tx, start, leaves, log_signer, anchor)
        tx.set_head(size, prev)
        if request_id is not None:
            content = request_hash(commands, author_id, log_signer)
            tx.add_request(request_id, content, start, size - 1, size)
        return Receipt(tuple(appended), size, checkpoint, facts=tuple(facts))

    def _extend_tree(
        self,
        tx: WriteTx,
        start: int,
        leaves: list[bytes],
        log_signer: Signer,
        anchor: note.Checkpoint | None = None,
    ) -> str:
        """Store the new subtree hashes and sign the new checkpoint, after proving that it is
        consistent with the last one in the database and the last one the log key remembers."""

        def nodes(coords: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
            pending = tx.pending_nodes()
            found = {c: pending[c] for c in coords if c in pending}
            missing = [c for c in coords if c not in pending]
            if missing:
                found.update(tx.get_nodes(missing))
            return found

        tx.add_nodes(merkle.new_nodes(start, leaves, nodes))
        size = start + len(leaves)
        root = merkle.root_hash(size, nodes)
        last = tx.checkpoint()
        anchors = [] if last is None else [(last[0], last[1])]
        if anchor is not None:
            anchors.append((anchor.tree_size, anchor.root_hash))
        log_guard.check_fork(nodes, size, root, anchors)
        meta = tx.state.get(META, "ledger")
        assert meta is not None
        signed = note.sign_checkpoint(
            note.Checkpoint(meta["origin"], size, root), log_signer.private_key
        )
        tx.add_checkpoint(size, root, signed)
        return signed


def unclaimed_member_data(tx: WriteTx, member_id: str) -> None:
    """A member the projection does not know must have no personal data stored either: a row
    left behind means the projection record was deleted outside coop-ledger (read by key)."""
    if tx.member_data(member_id) is not None:
        raise IntegrityError(
            f"member {member_id}: the database holds a member_data row for it but no projection "
            "record: the database was changed outside coop-ledger; run coopledger verify"
        )


def genesis(
    origin: str, charter: Charter, governor: Signer, log_signer: Signer, effective: date
) -> Command:
    """The founding command, validated before anything is written."""
    if log_signer.name != origin:
        raise KeyFileError(
            f"the log key is named {log_signer.name!r}; it must be named after the origin {origin!r}"
        )
    body = validated(
        LedgerFounded,
        origin=origin,
        # From its JSON form, so that a charter built with model_copy is validated too.
        charter=charter.model_dump(mode="json"),
        governor=KeyGrant(
            name=governor.name, public_key=public_key_b64(governor.public_key), roles=("governor",)
        ),
        log_key=LogKey(name=log_signer.name, public_key=public_key_b64(log_signer.public_key)),
    )
    return LegacyCommand(
        "ledger.found",
        {"origin": origin},
        lambda _state, _ctx: Fact("ledger.founded", body, effective),
    )


def trust_state(tx: WriteTx, log_signer: Signer) -> None:
    """Before anything is decided: the log key is this ledger's (read without MACs, so a wrong
    key is named as such), and the head row it authenticated is unchanged; from here on every
    projection record read is checked (docs/decisions/0014-trusted-state.md)."""
    if tx.head()[0] > 0:
        check_log_key(tx.unverified_state(), log_signer)
    tx.check_head()


def genesis_date(state: State) -> date | None:
    """The ledger's founding date (None before entry 0 is written)."""
    meta = state.get(META, "ledger")
    return None if meta is None else date.fromisoformat(meta["founded_on"])


def check_not_before(fact: Fact, ctx: Ctx, founded_on: date | None) -> None:
    """An entry dated by its command (--date, --on) takes effect on or after the ledger's
    genesis. Checked when a command is decided, not by the appliers, so that ledgers already
    written verify as before; an entry dated by the clock (today) is not refused here. Dates
    that describe the past (a delivery, a base date, a founding) are facts in the body."""
    if founded_on is not None and fact.effective != ctx.effective and fact.effective < founded_on:
        raise RuleViolationError(
            f"{fact.kind}: effective date {fact.effective} is before the ledger's genesis "
            f"{founded_on}"
        )


def check_log_key(state: State, log_signer: Signer) -> None:
    meta = state.get(META, "ledger")
    if meta is None:
        raise StorageError("this ledger has no genesis entry: run coopledger init")
    if log_signer.key_id != meta["log_key_id"]:
        raise KeyFileError(
            f"log key {log_signer.name} ({log_signer.key_id[:16]}) is not this ledger's log key "
            f"({meta['log_key_id'][:16]})"
        )
    if log_signer.name != meta["origin"]:
        raise KeyFileError(f"log key is named {log_signer.name!r}, expected {meta['origin']!r}")
