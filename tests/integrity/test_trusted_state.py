"""Issue 11, defects 1, 2, 7 and the verify side of 3: the writer acts only on authenticated
projection records, `verify` checks what the store derived from the signed bytes, and
`coopledger rebuild` repairs a changed projection or upgrades a schema-1 database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ledger.checks import verify_store
from ledger.derived_keys import PROJECTION_MAC, derive
from ledger.errors import IntegrityError, RuleViolationError, StorageError
from ledger.export.gem import export_gem, parse_period
from ledger.rebuild import rebuild
from ledger.rules import levy, shares
from ledger.service import Ledger
from ledger.storage.store import Store
from tests.integrity.conftest import Demo
from tests.integrity.tamper import (
    dump,
    edit_record,
    execute,
    put_back,
    query,
    rows_of,
    set_record,
)
from tests.support import CliRunner, Clock


def _ledger(target: str) -> tuple[Store, Ledger]:
    store = Store(target)
    return store, Ledger(store, clock=Clock(datetime(2035, 1, 1, 9, tzinfo=UTC)))


def _findings(target: str, mac_key: bytes | None = None) -> list[tuple[int | None, str, str]]:
    store = Store(target)
    try:
        with store.reading() as tx:
            report = verify_store(tx, mac_key=mac_key)
    finally:
        store.dispose()
    return [(f.seq, f.code, f.message) for f in report.findings]


def _key_id(cli: CliRunner, role: str) -> str:
    shown = cli.ok("key", "show", str(cli.keys[role]), "--json").out  # type: ignore[attr-defined]
    return str(json.loads(shown)["key_id"])


# -- defect 1: the writer never acts on a forged projection record ------------------------------


def test_defect1_a_forged_role_is_refused_and_rebuild_repairs_it(cli_any: CliRunner) -> None:
    cli, db = cli_any, cli_any.db  # type: ignore[attr-defined]
    coop = str(cli.keys["coop-admin"])  # type: ignore[attr-defined]
    coop_id = _key_id(cli, "coop-admin")
    cli.ok("key", "new", "--name", "accomplice", "--out", "accomplice.key")
    accomplice = cli.ok("key", "show", "accomplice.key", "--vkey").out.strip()
    edit_record(db, "key", coop_id, {"roles": ["coop-admin", "governor"]})
    before = dump(db)

    refused = cli("key", "authorize", accomplice, "--role", "governor", "--key", coop)

    assert refused.code == 1, refused.out
    assert refused.err.strip() == (
        f"coopledger: error: projection record key/{coop_id} fails its authentication: the "
        "database was changed outside coop-ledger; run coopledger rebuild"
    )
    assert dump(db) == before

    repaired = cli.ok("rebuild")
    assert "0 added, 1 changed, 0 removed" in repaired.out
    # The forged role is gone: the rules refuse the administrator, and the governor may act.
    again = cli("key", "authorize", accomplice, "--role", "governor", "--key", coop)
    assert again.code == 1 and "needs role governor" in again.err
    governor = str(cli.keys["governor"])  # type: ignore[attr-defined]
    cli.ok("key", "authorize", accomplice, "--role", "coop-admin", "--key", governor)
    assert "OK" in cli.ok("verify").out


def test_defect1_a_lowered_price_input_is_refused(demo_any: Demo) -> None:
    edit_record(
        demo_any.target,
        "dwelling",
        "D-3",
        {
            "price_rule": {
                "base_date": "2031-03-01",
                "base_price_cents": 24_000_00,
                "rule": "nominal",
            }
        },
    )
    before = dump(demo_any.target)
    store, ledger = _ledger(demo_any.target)
    coop, log = demo_any.signers["coop-admin"], demo_any.signers["log"]
    try:
        with pytest.raises(IntegrityError, match=r"^projection record dwelling/D-3 fails its"):
            ledger.append([shares.buy_back_share("D-3", date(2034, 9, 1), deed="A-3")], coop, log)
        assert dump(demo_any.target) == before
        rebuild(store, log)
        receipt = ledger.append(
            [shares.buy_back_share("D-3", date(2034, 9, 1), deed="A-3")], coop, log
        )
        assert receipt.facts[0].body.model_dump()["price_cents"] == 240_000_00
    finally:
        store.dispose()
    assert _findings(demo_any.target, derive(log, PROJECTION_MAC)) == []


def test_defect1_a_raised_levy_balance_is_refused(demo_any: Demo) -> None:
    edit_record(demo_any.target, "levy", "000000000050", {"outstanding": 10_000_00})
    before = dump(demo_any.target)
    store, ledger = _ledger(demo_any.target)
    admin, log = demo_any.signers["levy-admin"], demo_any.signers["log"]
    overpay = levy.pay_levy(50, 10_000_00, date(2032, 7, 1), "bank-99")
    try:
        with pytest.raises(IntegrityError, match=r"^projection record levy/000000000050 fails"):
            ledger.append([overpay], admin, log)
        assert dump(demo_any.target) == before
        rebuild(store, log)
        with pytest.raises(RuleViolationError):
            ledger.append([levy.pay_levy(50, 10_000_00, date(2032, 7, 1), "bank-99")], admin, log)
    finally:
        store.dispose()


# -- defect 2: index columns are checked against the signed bytes -------------------------------


def _seq_of(target: str, kind: str, marker: str) -> int:
    rows = query(target, "SELECT seq, data FROM entries WHERE kind = :k ORDER BY seq", {"k": kind})
    return next(int(seq) for seq, data in rows if marker.encode() in bytes(data))


def test_defect2_an_edited_index_column_is_reported(demo_any: Demo, tmp_path: Path) -> None:
    target, log = demo_any.target, demo_any.signers["log"]
    payment = _seq_of(target, "levy.paid", "notaris-2032-0510")
    store = Store(target)
    try:
        with store.reading() as tx:
            honest = export_gem(tx, parse_period("2032-Q2"), tmp_path / "honest", log)
        execute(
            target, [("UPDATE entries SET kind = 'member.admitted' WHERE seq = :s", {"s": payment})]
        )
        with store.reading() as tx:
            after = export_gem(tx, parse_period("2032-Q2"), tmp_path / "after", log)
    finally:
        store.dispose()
    assert _findings(target)[0] == (
        payment,
        "index",
        "the kind column says 'member.admitted', the signed entry 'levy.paid'",
    )
    # The signed GEM export reads the signed bytes, not the column: nothing is lost.
    assert after.files == honest.files
    for name in honest.files:
        if name != "manifest.json":
            assert (tmp_path / "after" / name).read_bytes() == (
                tmp_path / "honest" / name
            ).read_bytes()


# -- defect 7: inner Merkle nodes and member data -----------------------------------------------


def test_defect7_a_zeroed_merkle_node_is_reported(demo_any: Demo) -> None:
    execute(
        demo_any.target,
        [("UPDATE merkle_nodes SET hash = :z WHERE level = 0 AND idx = 5", {"z": bytes(32)})],
    )
    assert _findings(demo_any.target) == [
        (5, "merkle", "stored Merkle node (0, 5) differs from the recomputed tree"),
    ]


def test_defect7_an_edited_or_unerased_member_name_is_reported(demo_any: Demo) -> None:
    target = demo_any.target
    [(data,)] = query(target, "SELECT data FROM member_data WHERE member_id = 'M-2'")
    [(salt,)] = query(target, "SELECT salt FROM member_data WHERE member_id = 'M-1'")
    execute(
        target,
        [
            (
                "UPDATE member_data SET data = :d WHERE member_id = 'M-2'",
                {"d": data.replace("Sanne Bakker", "Sanne Backer")},
            ),
            (
                "UPDATE member_data SET data = :d, salt = :s WHERE member_id = 'M-4'",
                {"d": '{"name":"Joris Visser"}', "s": salt},
            ),
        ],
    )
    found = _findings(target)
    assert (
        5,
        "member_data",
        "member M-2: personal data does not match the commitment in entry 5",
    ) in found
    assert any(
        code == "member_data" and "M-4: personal data is still stored" in message
        for _seq, code, message in found
    )


# -- defect 3, the verify side: entries no checkpoint covers ------------------------------------


def test_defect3_a_head_beyond_the_last_checkpoint_is_reported(demo_any: Demo) -> None:
    target = demo_any.target
    [(size,)] = query(target, "SELECT size FROM head")
    [(last,)] = query(target, "SELECT MAX(size) FROM checkpoints WHERE size < :s", {"s": size})
    execute(target, [("DELETE FROM checkpoints WHERE size = :s", {"s": size})])
    assert (
        last,
        "checkpoint",
        f"entries {last}..{size - 1} are not covered by any signed checkpoint",
    ) in _findings(target)


# -- records deleted or rolled back; the head digest ---------------------------------------------


def test_a_deleted_or_rolled_back_record_is_reported_and_repaired(demo_any: Demo) -> None:
    target, log = demo_any.target, demo_any.signers["log"]
    key = derive(log, PROJECTION_MAC)
    earlier = rows_of(target, "balance", "fund")
    store, ledger = _ledger(target)
    try:
        from ledger.rules import fund

        ledger.append([fund.deposit(1_00, "GEM", "top-up")], demo_any.signers["coop-admin"], log)
        # Put back the earlier, authentic version of the record, and delete another one.
        put_back(target, "balance", "fund", earlier)
        execute(target, [("DELETE FROM projection WHERE ns = 'member' AND key = 'M-1'", {})])
        found = _findings(target, key)
        codes = {code for _seq, code, _message in found}
        assert {"projection", "authentication"} <= codes
        assert any("state root does not match" in message for _seq, _code, message in found)
        assert "state root" not in " ".join(m for _s, _c, m in _findings(target))
        result = rebuild(store, log)
        assert (result.added, result.changed, result.removed) == (1, 1, 0)
    finally:
        store.dispose()
    assert _findings(target, key) == []


# -- absence and freshness: a deleted record, an earlier version put back (review of issue 11) ----


def test_a_deleted_contribution_run_is_refused_not_charged_twice(demo_any: Demo) -> None:
    """First shown failing on the per-record MACs: the writer took the missing record for a
    month never charged and signed a second run."""
    from ledger.rules import contributions

    target = demo_any.target
    [(run_key,)] = query(
        target, "SELECT key FROM projection WHERE ns = 'contribution-run' ORDER BY key LIMIT 1"
    )
    execute(
        target,
        [("DELETE FROM projection WHERE ns = 'contribution-run' AND key = :k", {"k": run_key})],
    )
    before = dump(target)
    store, ledger = _ledger(target)
    try:
        with pytest.raises(
            IntegrityError, match=r"fails its authentication: the database was changed"
        ):
            ledger.append(
                [contributions.charge_month(run_key, date(2034, 12, 1))],
                demo_any.signers["levy-admin"],
                demo_any.signers["log"],
            )
    finally:
        store.dispose()
    assert dump(target) == before


def test_a_deleted_member_is_refused_not_admitted_again(cli_any: CliRunner) -> None:
    cli, db = cli_any, cli_any.db  # type: ignore[attr-defined]
    coop = str(cli.keys["coop-admin"])  # type: ignore[attr-defined]
    cli.ok(
        "member", "admit", "--id", "M-9", "--kind", "person", "--name", "Eva de Wit", "--key", coop
    )
    execute(db, [("DELETE FROM projection WHERE ns = 'member' AND key = 'M-9'", {})])
    before = dump(db)
    again = cli(
        "member", "admit", "--id", "M-9", "--kind", "person", "--name", "Eva", "--key", coop
    )
    assert again.code == 1, again.out + again.err
    assert again.err.strip() == (
        "coopledger: error: projection record member/M-9 fails its authentication: the "
        "database was changed outside coop-ledger; run coopledger rebuild"
    )
    assert dump(db) == before
    cli.ok("rebuild")
    refused = cli(
        "member", "admit", "--id", "M-9", "--kind", "person", "--name", "Eva", "--key", coop
    )
    assert refused.code == 1 and "M-9" in refused.err and "already" in refused.err


def test_a_revoked_key_put_back_to_its_earlier_version_cannot_sign(cli_any: CliRunner) -> None:
    """First shown failing on the per-record MACs: the earlier version carried a valid MAC, so
    the revoked administrator signed again."""
    cli, db = cli_any, cli_any.db  # type: ignore[attr-defined]
    coop = str(cli.keys["coop-admin"])  # type: ignore[attr-defined]
    governor = str(cli.keys["governor"])  # type: ignore[attr-defined]
    coop_id = _key_id(cli, "coop-admin")
    earlier = rows_of(db, "key", coop_id)
    cli.ok("key", "revoke", coop_id[:16], "--reason", "left the board", "--key", governor)
    put_back(db, "key", coop_id, earlier)
    before = dump(db)
    refused = cli(
        "member", "admit", "--id", "M-8", "--kind", "person", "--name", "Bo", "--key", coop
    )
    assert refused.code == 1, refused.out + refused.err
    assert refused.err.strip() == (
        f"coopledger: error: projection record key/{coop_id} fails its authentication: the "
        "database was changed outside coop-ledger; run coopledger rebuild"
    )
    assert dump(db) == before


def test_a_moved_or_planted_record_is_refused_when_read(demo_any: Demo) -> None:
    """A record planted in another bucket (or moved there) is not in the commitment: reading
    its namespace whole proves the namespace incomplete or overfull."""
    from ledger.rules import contributions

    target = demo_any.target
    [(value,)] = query(target, "SELECT value FROM projection WHERE ns = 'dwelling' AND key = 'D-1'")
    execute(
        target,
        [
            (
                "INSERT INTO projection (ns, key, value, bucket) VALUES ('dwelling', 'D-99', :v, 7)",
                {"v": value},
            )
        ],
    )
    store, ledger = _ledger(target)
    try:
        with pytest.raises(IntegrityError, match=r"^namespace dwelling of the projection"):
            ledger.append(
                [contributions.charge_month("2034-11", date(2034, 12, 1))],
                demo_any.signers["levy-admin"],
                demo_any.signers["log"],
            )
    finally:
        store.dispose()


def test_a_forged_mac_or_head_is_reported_with_the_log_key(demo_any: Demo) -> None:
    target, log = demo_any.target, demo_any.signers["log"]
    set_record(target, "meta", "head", b'{"size":1}')
    found = _findings(target, derive(log, PROJECTION_MAC))
    assert any(
        code == "authentication"
        and "(meta/head)" in message
        and "buckets of the state tree" in message
        for _seq, code, message in found
    )


# -- rebuild refuses a log that does not verify --------------------------------------------------


def test_rebuild_refuses_a_log_that_does_not_verify(demo_any: Demo) -> None:
    target, log = demo_any.target, demo_any.signers["log"]
    [(data,)] = query(target, "SELECT data FROM entries WHERE seq = 7")
    execute(
        target,
        [
            (
                "UPDATE entries SET data = :d WHERE seq = 7",
                {"d": bytes(data).replace(b'"effective":"', b'"effective":"1')},
            )
        ],
    )
    edit_record(target, "member", "M-1", {"district": "Elsewhere"})
    before = dump(target)
    store = Store(target)
    try:
        with pytest.raises(
            IntegrityError,
            match=r"^the log does not verify, nothing was "
            r"changed: entry 7: ",
        ):
            rebuild(store, log)
        with pytest.raises(IntegrityError, match="is not this ledger's log key"):
            rebuild(store, demo_any.signers["governor"])
    finally:
        store.dispose()
    assert dump(target) == before


# -- schema 1 -------------------------------------------------------------------------------------


def _downgrade(target: str, version: str = "1") -> None:
    """The database as schema 1 (no authentication) or 2 (a per-record MAC column) left it."""
    statements: list[tuple[str, dict[str, object]]] = [
        ("DROP INDEX ix_projection_bucket", {}),
        ("ALTER TABLE projection DROP COLUMN bucket", {}),
        ("DROP TABLE state_nodes", {}),
        ("DROP TABLE state_namespaces", {}),
    ]
    if version == "1":
        statements += [
            ("ALTER TABLE head DROP COLUMN state_digest", {}),
            ("ALTER TABLE head DROP COLUMN mac", {}),
        ]
    else:
        blob = "BYTEA" if "://" in target else "BLOB"
        statements.append((f"ALTER TABLE projection ADD COLUMN mac {blob}", {}))
    statements.append(
        ("UPDATE ledger_meta SET value = :v WHERE key = 'schema_version'", {"v": version})
    )
    execute(target, statements)


def test_a_schema_1_database_is_read_refused_for_writing_and_upgraded(cli_any: CliRunner) -> None:
    cli, db = cli_any, cli_any.db  # type: ignore[attr-defined]
    governor = str(cli.keys["governor"])  # type: ignore[attr-defined]
    entries = query(db, "SELECT * FROM entries ORDER BY seq")
    _downgrade(db)
    assert "OK" in cli.ok("verify", env={"COOPLEDGER_LOG_KEY": ""}).out
    cli.ok("member", "list")
    cli.ok("key", "new", "--name", "later", "--out", "later.key")
    later = cli.ok("key", "show", "later.key", "--vkey").out.strip()
    refused = cli("key", "authorize", later, "--role", "coop-admin", "--key", governor)
    assert refused.code == 1
    assert refused.err.strip().endswith(
        "has schema version 1: run coopledger rebuild --log-key FILE to upgrade it for writing"
    )
    upgraded = cli.ok("rebuild", "--json")
    assert json.loads(upgraded.out)["schema_version"] == "3"
    cli.ok("key", "authorize", later, "--role", "coop-admin", "--key", governor)
    assert "OK" in cli.ok("verify").out
    assert query(db, "SELECT * FROM entries ORDER BY seq")[: len(entries)] == entries


def test_a_writer_refuses_a_schema_1_store(demo_any: Demo) -> None:
    _downgrade(demo_any.target)
    store, ledger = _ledger(demo_any.target)
    try:
        with pytest.raises(StorageError, match="schema version 1: run coopledger rebuild"):
            ledger.append(
                [levy.pay_levy(50, 1, date(2032, 7, 1), "x")],
                demo_any.signers["levy-admin"],
                demo_any.signers["log"],
            )
    finally:
        store.dispose()


def test_a_schema_2_database_is_upgraded_to_the_state_commitment(cli_any: CliRunner) -> None:
    cli, db = cli_any, cli_any.db  # type: ignore[attr-defined]
    governor = str(cli.keys["governor"])  # type: ignore[attr-defined]
    _downgrade(db, "2")
    assert "OK" in cli.ok("verify", env={"COOPLEDGER_LOG_KEY": ""}).out
    cli.ok("key", "new", "--name", "later", "--out", "later.key")
    later = cli.ok("key", "show", "later.key", "--vkey").out.strip()
    refused = cli("key", "authorize", later, "--role", "coop-admin", "--key", governor)
    assert refused.code == 1 and "schema version 2: run coopledger rebuild" in refused.err
    upgraded = json.loads(cli.ok("rebuild", "--json").out)
    assert upgraded["schema_version"] == "3" and upgraded["upgraded_from"] == "2"
    cli.ok("key", "authorize", later, "--role", "coop-admin", "--key", governor)
    assert "OK" in cli.ok("verify").out


# -- a deleted member record whose personal data is still stored ---------------------------------


@pytest.mark.parametrize("edit", ["record deleted", "member_data planted"])
def test_admitting_a_member_whose_personal_data_is_already_stored_is_a_clean_refusal(
    cli_any: CliRunner, edit: str
) -> None:
    """A member_data row without its member record (the record deleted, or a row planted for
    an id not admitted yet): admitting that id must not reach the database's UNIQUE
    constraint (an internal error, exit 3)."""
    cli, db = cli_any, cli_any.db  # type: ignore[attr-defined]
    admit = ("member", "admit", "--kind", "person", "--name", "A",
             "--date", "2031-02-01", "--key", str(cli.keys["coop-admin"]))  # type: ignore[attr-defined]  # fmt: skip
    cli.ok(*admit, "--id", "M-1")
    if edit == "record deleted":
        member = "M-1"
        execute(db, [("DELETE FROM projection WHERE ns = 'member' AND key = 'M-1'", {})])
    else:
        member = "M-2"
        execute(db, [("INSERT INTO member_data (member_id, salt, data, erased_seq) "
                      "SELECT 'M-2', salt, data, NULL FROM member_data WHERE member_id = 'M-1'",
                      {})])  # fmt: skip
    before = dump(db)
    result = cli(*admit, "--id", member)
    assert result.code == 1, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err + result.out, result.err
    assert lines[0].startswith("coopledger: error: "), result.err
    # A deleted record is caught by the state commitment first (decision 0014); a planted
    # member_data row, which no commitment covers, by the service before the insert.
    assert member in lines[0] and "run coopledger" in lines[0], result.err
    if edit == "member_data planted":
        assert "member_data row" in lines[0] and "run coopledger verify" in lines[0]
    assert dump(db) == before
