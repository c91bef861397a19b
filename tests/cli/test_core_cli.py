"""The core story end to end through the CLI: keys, charter, init, members, log, verify, bundles."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from ledger.charter import TEMPLATE, parse_charter


def test_charter_template_is_complete_and_valid(cli) -> None:  # type: ignore[no-untyped-def]
    text = cli.ok("charter", "template").out
    assert text == TEMPLATE
    charter = parse_charter(text)
    assert charter.levy.rate == "0.30" and charter.levy.term_years == 40
    assert charter.contribution.home_monthly_cents == 1000
    assert (
        charter.lease.max_rent_ratio == "0.60"
        and charter.shares.max_dwelling_shares_per_member == 1
    )


def test_key_new_and_show(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = cli.ok("key", "new", "--name", "admin-1", "--out", "a.key").out
    assert stat.S_IMODE((tmp_path / "a.key").stat().st_mode) == 0o600
    shown = json.loads(cli.ok("key", "show", "a.key", "--json").out)
    assert shown["vkey"].startswith("admin-1+") and shown["key_id"] in out
    assert cli.ok("key", "show", "a.key", "--vkey").out.strip() == shown["vkey"]
    # no passphrase and no terminal: a clear refusal, not a hang
    result = cli("key", "new", "--name", "b", "--out", "b.key", env={"COOPLEDGER_PASSPHRASE": ""})
    assert result.code == 1 and "empty passphrase" in result.err


def test_members_story(cli_ledger, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli = cli_ledger
    admin = str(cli.keys["coop-admin"])
    cli.ok(
        "member",
        "admit",
        "--id",
        "M-42",
        "--kind",
        "household",
        "--name",
        "Familie Yilmaz",
        "--address",
        "Haven 4",
        "--key",
        admin,
        "--request-id",
        "adm-42",
    )
    again = json.loads(
        cli.ok(
            "member",
            "admit",
            "--id",
            "M-42",
            "--kind",
            "household",
            "--name",
            "Familie Yilmaz",
            "--address",
            "Haven 4",
            "--key",
            admin,
            "--request-id",
            "adm-42",
            "--json",
        ).out
    )
    assert again["replayed"] is True
    cli.ok(
        "member",
        "admit",
        "--id",
        "B-1",
        "--kind",
        "business",
        "--name",
        "Atelier B.V.",
        "--founded",
        "2030-03-01",
        "--district",
        "Pampus-Haven",
        "--date",
        "2031-02-01",
        "--key",
        admin,
    )
    shown = json.loads(cli.ok("member", "show", "M-42", "--json").out)
    assert shown["personal_data"]["name"] == "Familie Yilmaz"
    listed = json.loads(cli.ok("member", "list", "--json").out)
    assert [m["member_id"] for m in listed] == ["M-42", "B-1"]
    # the signed entry holds only the id and a commitment
    entry = json.loads(cli.ok("log", "show", str(shown["admitted_seq"]), "--json").out)
    assert (
        "Yilmaz" not in json.dumps(entry)
        and entry["entry"]["body"]["commitment"] == shown["commitment"]
    )
    cli.ok("member", "forget", "M-42", "--key", admin)
    shown = json.loads(cli.ok("member", "show", "M-42", "--json").out)
    assert "erased" in shown["personal_data"]
    assert "Yilmaz" not in (tmp_path / "ledger.db").read_bytes().decode("latin-1")
    assert "OK" in cli.ok("verify").out
    kinds = [
        r["kind"] for r in json.loads(cli.ok("log", "--json", "--kind", "member.admitted").out)
    ]
    assert kinds == ["member.admitted", "member.admitted"]


def test_bundle_export_and_offline_verify(cli_ledger, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli = cli_ledger
    cli.ok(
        "member",
        "admit",
        "--id",
        "M-1",
        "--kind",
        "person",
        "--name",
        "X",
        "--key",
        str(cli.keys["coop-admin"]),
    )
    vkey = cli.ok("checkpoint", "--vkey").out.strip()
    cli.ok("bundle", "export", "audit")
    report = json.loads(cli.ok("verify", "--bundle", "audit", "--trust", vkey, "--json").out)
    assert report["ok"] and report["entries"] == 5 and report["checkpoints_checked"] == 5
    # a tampered bundle: exit 1, the finding names entry 4
    lines = (tmp_path / "audit" / "entries.jsonl").read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"M-1"', b'"M-2"')
    (tmp_path / "audit" / "entries.jsonl").write_bytes(b"".join(lines))
    result = cli("verify", "--bundle", "audit", "--trust", vkey, "--json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["first_bad_seq"] == 4 and not report["ok"]
    # the wrong trusted key: every checkpoint fails
    other = cli.ok("key", "show", str(cli.keys["governor"]), "--vkey").out.strip()
    result = cli("verify", "--bundle", "audit", "--trust", other)
    assert result.code in (1, 2) and "Traceback" not in result.err


def test_verify_database_json(cli_ledger) -> None:  # type: ignore[no-untyped-def]
    report = json.loads(cli_ledger.ok("verify", "--json").out)
    assert report["ok"] and report["entries"] == 4 and report["origin"] == "test.example/coop"


def test_demo_builds_and_verifies(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = cli.ok("demo", "--db", "demo.db").out
    assert "OK" in out and (tmp_path / "demo.db").exists()
    assert cli("demo", "--db", "demo.db").code == 2
