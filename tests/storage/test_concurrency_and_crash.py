"""One writer at a time, and all-or-nothing batches: concurrent processes and SIGKILL mid-append."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from ledger.checks import verify_store
from ledger.keys import Signer
from ledger.storage.store import Store
from tests.support import found_ledger


def _raw(signer: Signer) -> tuple[str, bytes]:
    return signer.name, signer.private_key.private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )


def _signer(raw: tuple[str, bytes]) -> Signer:
    return Signer(raw[0], Ed25519PrivateKey.from_private_bytes(raw[1]))


def _writer(
    target: str, worker: int, count: int, admin: tuple[str, bytes], log: tuple[str, bytes]
) -> None:
    from ledger.rules import members
    from ledger.rules.members import PersonalData
    from ledger.service import Ledger

    store = Store(target)
    ledger = Ledger(store)
    admin_s, log_s = _signer(admin), _signer(log)
    for i in range(count):
        member_id = f"W{worker}-{i}"
        ledger.append(
            [members.admit(member_id, "person", PersonalData(name=member_id), date(2031, 2, 1))],
            admin_s,
            log_s,
        )
    store.dispose()


@pytest.mark.slow
def test_four_processes_append_1000_contiguous_entries(founded_any) -> None:  # type: ignore[no-untyped-def]
    with founded_any.store.reading() as tx:
        start = tx.head()[0]
    admin, log = _raw(founded_any.signers["coop-admin"]), _raw(founded_any.signers["log"])
    ctx = mp.get_context("fork")
    procs = [
        ctx.Process(target=_writer, args=(founded_any.target, w, 250, admin, log)) for w in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
        assert p.exitcode == 0
    with founded_any.store.reading() as tx:
        assert tx.head()[0] == start + 1000
        seqs = [seq for seq, _ in tx.entries()]
        assert seqs == list(range(start + 1000))
        report = verify_store(tx)
        assert report.ok, [f.line() for f in report.findings[:3]]
        # every transaction got its own checkpoint, each consistent with the one before
        assert report.checkpoints == len(list(tx.checkpoints()))


def _batch_then_die(
    target: str, admin: tuple[str, bytes], log: tuple[str, bytes], ready: str, kill_in_commit: bool
) -> None:
    from ledger.rules import members
    from ledger.rules.members import PersonalData
    from ledger.service import Ledger
    from ledger.storage import store as store_module

    if kill_in_commit:
        original = store_module.WriteTx.flush

        def flush_then_die(self: store_module.WriteTx) -> None:
            original(self)  # every row is written, the COMMIT has not happened
            os.kill(os.getpid(), signal.SIGKILL)

        store_module.WriteTx.flush = flush_then_die  # type: ignore[method-assign]
    store = Store(target)
    commands = [
        members.admit(f"B-{i}", "person", PersonalData(name=f"B-{i}"), date(2031, 2, 1))
        for i in range(3000)
    ]
    author = _signer(admin)

    class Signing(Signer):
        """The author's key, saying so when the batch is a third of the way through."""

        signed = 0

        def sign(self, message: bytes) -> bytes:
            Signing.signed += 1
            if Signing.signed == 1000:
                Path(ready).write_text("a third of the batch is signed")
            return super().sign(message)

    Ledger(store).append(commands, Signing(author.name, author.private_key), _signer(log))


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill_in_commit", [True, False], ids=["killed-before-commit", "killed-at-random"]
)
def test_sigkill_in_a_batch_leaves_all_or_nothing(
    tmp_path: Path, signers, kill_in_commit: bool
) -> None:  # type: ignore[no-untyped-def]
    f = found_ledger(str(tmp_path / "l.db"), signers)
    with f.store.reading() as tx:
        start = tx.head()[0]
    f.store.dispose()
    ready = tmp_path / "ready"
    ctx = mp.get_context("fork")
    proc = ctx.Process(
        target=_batch_then_die,
        args=(
            f.target,
            _raw(signers["coop-admin"]),
            _raw(signers["log"]),
            str(ready),
            kill_in_commit,
        ),
    )
    proc.start()
    if not kill_in_commit:
        # Killed in the middle of the batch, however fast this machine decides and signs: the
        # child says when a third of its entries are signed (the rest takes far longer than
        # this loop's 5 ms to notice).
        while not ready.exists():
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=300)
    assert proc.exitcode == -signal.SIGKILL
    store = Store(f.target)
    with store.reading() as tx:
        size = tx.head()[0]
        assert size in (start, start + 3000)
        report = verify_store(tx)
        assert report.ok, [x.line() for x in report.findings[:3]]
    if kill_in_commit:
        assert size == start
    store.dispose()
