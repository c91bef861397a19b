"""Request ids bound to the signed entries (defect 4), keyed request hashes and erasure (defect 5)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from ledger.encoding import canonical
from ledger.keys import Signer
from ledger.rules import members
from ledger.rules.members import PersonalData
from tests.integrity.insider import ADMITTED, Office, insider, office, rows, run, sizes

NAME = "Henriëtte Zwaanswijk-Oosterbeek"
EMAIL = "h.zwaanswijk@example.org"


def unsalted(commands: list[Any], key_id: str) -> str:
    """The request content hash as it was before keyed hashes: anyone can recompute it."""
    content = {
        "commands": [{"name": c.name, "args": dict(c.args)} for c in commands],
        "key_id": key_id,
    }
    return hashlib.sha256(canonical(content)).hexdigest()


def admit_command(member_id: str, name: str, email: str | None = None) -> Any:
    return members.admit(member_id, "person", PersonalData(name=name, email=email), ADMITTED)


def content_hash(target: str, request_id: str) -> str:
    return str(rows(target, "SELECT content_hash FROM requests WHERE request_id = ?",
                    (request_id,))[0][0])  # fmt: skip


@pytest.fixture
def office8(tmp_path: Path, store_target: str, signers: dict[str, Signer]) -> Office:
    return office(tmp_path, store_target, signers, 8)


def test_defect4_a_planted_request_row_does_not_drop_a_real_command(
    office8: Office, signers: dict[str, Signer]
) -> None:
    # The insider plants a row for the request id the office is about to use, pointing at an
    # old entry, with the content hash the command will have (computable when it is unsalted).
    command = admit_command("M-8", "New Member")
    planted = unsalted([command], signers["coop-admin"].key_id)
    with insider(office8.target) as conn:
        run(conn, "INSERT INTO requests (request_id, content_hash, first_seq, last_seq, "
                  "checkpoint_size) VALUES ('office-42', ?, 5, 5, 8)", (planted,))  # fmt: skip
    result = office8.admit("M-8", "New Member", "--request-id", "office-42")
    assert result.code == 1, result.out
    assert "office-42" in result.err and "5..5" in result.err, result.err
    assert "already processed" not in result.out
    assert sizes(office8.target) == (8, 8, 8)


def test_a_real_retry_returns_the_original_receipt(office8: Office) -> None:
    first = office8.admit("M-8", "New Member", "--request-id", "office-43")
    assert first.code == 0, first.err
    again = office8.admit("M-8", "New Member", "--request-id", "office-43")
    assert again.code == 0, again.err
    assert "already processed" in again.out
    assert again.out.splitlines()[0] == first.out.splitlines()[0]
    other = office8.admit("M-9", "Someone Else", "--request-id", "office-43")
    assert other.code == 1 and "office-43" in other.err
    assert sizes(office8.target) == (9, 9, 9)


def test_a_request_id_carried_by_an_entry_is_not_reused_when_its_row_is_gone(
    office8: Office,
) -> None:
    assert office8.admit("M-8", "New Member", "--request-id", "office-44").code == 0
    with insider(office8.target) as conn:
        run(conn, "DELETE FROM requests WHERE request_id = 'office-44'")
    result = office8.admit("M-9", "Another", "--request-id", "office-44")
    assert result.code == 1, result.out
    assert "office-44" in result.err and "entry 8" in result.err, result.err
    assert sizes(office8.target) == (9, 9, 9)


def test_a_request_row_pointing_at_other_entries_is_refused_on_retry(office8: Office) -> None:
    assert office8.admit("M-8", "New Member", "--request-id", "office-45").code == 0
    with insider(office8.target) as conn:
        run(conn, "UPDATE requests SET first_seq = 7, last_seq = 7 WHERE request_id = 'office-45'")
    result = office8.admit("M-8", "New Member", "--request-id", "office-45")
    assert result.code == 1 and "office-45" in result.err and "7..7" in result.err, result.err


def test_defect5_request_content_hash_is_keyed(office8: Office, signers: dict[str, Signer]) -> None:
    assert office8.admit("M-8", NAME, "--email", EMAIL, "--request-id", "office-46").code == 0
    stored = content_hash(office8.target, "office-46")
    command = members.admit("M-8", "person", PersonalData(name=NAME, email=EMAIL), ADMITTED)
    assert stored != unsalted([command], signers["coop-admin"].key_id)
    assert hashlib.sha256(NAME.encode()).hexdigest() not in stored


def test_a_request_from_before_keyed_hashes_is_refused_clearly(
    office8: Office, signers: dict[str, Signer]
) -> None:
    assert office8.admit("M-8", "Old Member", "--request-id", "office-47").code == 0
    old = unsalted([admit_command("M-8", "Old Member")], signers["coop-admin"].key_id)
    with insider(office8.target) as conn:
        run(conn, "UPDATE requests SET content_hash = ? WHERE request_id = 'office-47'", (old,))
    result = office8.admit("M-8", "Old Member", "--request-id", "office-47")
    assert result.code == 1 and "office-47" in result.err and "before" in result.err, result.err


def test_defect5_erasure_leaves_nothing_that_re_identifies_the_member(
    office8: Office, store_target: str
) -> None:
    assert office8.admit("M-8", NAME, "--email", EMAIL, "--request-id", "office-48").code == 0
    before = content_hash(store_target, "office-48")
    office8.cli.ok("member", "forget", "M-8", "--date", "2031-03-01",
                   "--key", str(office8.keys["coop-admin"]))  # fmt: skip
    after = content_hash(store_target, "office-48")
    assert after != before
    retry = office8.admit("M-8", NAME, "--email", EMAIL, "--request-id", "office-48")
    assert retry.code == 1 and "erased" in retry.err, retry.err
    if store_target.startswith("postgresql"):
        schema = store_target.rsplit("search_path%3D", 1)[1]
        stats = rows(store_target, "SELECT relname, last_vacuum, n_dead_tup FROM "
                     "pg_stat_user_tables WHERE schemaname = ? AND relname IN "
                     "('member_data', 'requests') ORDER BY relname", (schema,))  # fmt: skip
        assert [r[0] for r in stats] == ["member_data", "requests"]
        assert all(r[1] is not None and r[2] == 0 for r in stats), stats
        return
    for suffix in ("", "-wal"):
        path = Path(store_target + suffix)
        raw = path.read_bytes() if path.exists() else b""
        for secret in (NAME, EMAIL):
            assert secret.encode("utf-8") not in raw, f"{secret} survives in {path.name}"


@pytest.mark.parametrize("edit", ["planted", "deleted", "moved", "no checkpoint"])
def test_verify_reports_a_requests_row_that_does_not_match_the_signed_entries(
    office8: Office, edit: str
) -> None:
    """The writer's refusal of such a row says `run coopledger verify`: verify must find it."""
    assert office8.admit("M-8", "New Member", "--request-id", "office-50").code == 0
    assert office8.cli("verify").code == 0
    statement, rid = {
        "planted": ("INSERT INTO requests (request_id, content_hash, first_seq, last_seq, "
                    "checkpoint_size) VALUES ('office-42', 'x', 5, 5, 8)", "office-42"),
        "deleted": ("DELETE FROM requests WHERE request_id = 'office-50'", "office-50"),
        "moved": ("UPDATE requests SET first_seq = 7, last_seq = 7 "
                  "WHERE request_id = 'office-50'", "office-50"),
        "no checkpoint": ("UPDATE requests SET checkpoint_size = 10 "
                          "WHERE request_id = 'office-50'", "office-50"),
    }[edit]  # fmt: skip
    with insider(office8.target) as conn:
        run(conn, statement)
    result = office8.cli("verify")
    assert result.code == 1, result.out
    found = [line for line in result.out.splitlines() if ": requests: " in line]
    assert len(found) == 1 and repr(rid) in found[0], result.out


def test_verify_names_database_findings_as_such(office8: Office) -> None:
    with insider(office8.target) as conn:
        run(conn, "DELETE FROM projection WHERE ns = 'member' AND key = 'M-4'")
    result = office8.cli("verify")
    assert result.code == 1, result.out
    assert "database: projection: " in result.out, result.out
    assert "bundle" not in result.out and "first at entry None" not in result.out, result.out
    assert result.out.rstrip().endswith("findings)"), result.out
