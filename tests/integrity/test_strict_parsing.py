"""Strict parsing (issue 11, defects 11 and 12): lenient dates, amounts, decimals, free text,
charter values and key files are refused with one line, exit 1 or 2, and the ledger unchanged."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ledger.charter import TEMPLATE
from ledger.keys import generate, read_key_file
from tests.support import sqlite_dump

ESC = "\x1b"
RLO = "\u202e"
DISTRICTS = 'districts = ["Pampus-Centrum", "Pampus-Haven", "Pampus-Oost"]'


def _charter(old: str, new: str, count: int = 1) -> str:
    assert old in TEMPLATE
    return TEMPLATE.replace(old, new, count)


CHARTERS = {
    "dup-districts.toml": _charter(
        DISTRICTS, DISTRICTS.replace('"Pampus-Oost"', '"Pampus-Oost", "Pampus-Haven"')
    ),
    "empty-district.toml": _charter(
        DISTRICTS, DISTRICTS.replace('"Pampus-Oost"', '"Pampus-Oost", ""')
    ),
    "rent-ratio-10.toml": _charter('max_rent_ratio = "0.60"', 'max_rent_ratio = "10"'),
    "rent-ratio-0.toml": _charter('max_rent_ratio = "0.60"', 'max_rent_ratio = "0"'),
    "target-5.toml": _charter('affordable_target = "0.20"', 'affordable_target = "5"'),
    "cap-1000-digits.toml": _charter(
        'max_indexation_per_year = "0.03"', 'max_indexation_per_year = "0.' + "3" * 1000 + '"'
    ),
    "series-path.toml": _charter('default_index = "CPI"', 'default_index = "../../x"'),
    "levy-series-path.toml": _charter(
        'default_index = "HPI-ALMERE"',
        'default_index = "../x"',
    ),
    "drops-oost.toml": _charter(DISTRICTS, 'districts = ["Pampus-Centrum", "Pampus-Haven"]'),
    "esc-name.toml": _charter('name = "Gebiedscoöperatie', 'name = "\\u001b[2JGebiedscoöperatie'),
    "good.toml": _charter('max_rent_ratio = "0.60"', 'max_rent_ratio = "0.5"'),
    "adds-district.toml": _charter(
        DISTRICTS, DISTRICTS.replace('"Pampus-Oost"', '"Pampus-Oost", "Pampus-Noord"')
    ),
}


@pytest.fixture
def story(cli_ledger, tmp_path: Path):  # type: ignore[no-untyped-def]
    cli = cli_ledger
    keys = cli.keys
    cli.ok(
        "member",
        "admit",
        "--id",
        "M-1",
        "--kind",
        "person",
        "--name",
        "Ans",
        "--date",
        "2031-01-15",
        "--key",
        str(keys["coop-admin"]),
    )
    cli.ok(
        "workspace",
        "register",
        "--id",
        "W-1",
        "--district",
        "Pampus-Oost",
        "--area-m2",
        "100",
        "--market-rent",
        "240",
        "--date",
        "2031-02-01",
        "--key",
        str(keys["werk-admin"]),
    )
    for name, text in CHARTERS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    plain = generate("plain")
    pem = plain.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "plain.key").write_bytes(b"coop-ledger key name: plain\n" + pem)
    return cli


def _deposit(*extra: str) -> list[str]:
    return ["fund", "deposit", "--from", "GEM", "--key", "{coop-admin}", *extra]


def _amount(value: str) -> list[str]:
    return _deposit("--amount", value, "--date", "2031-03-01")


def _on(value: str) -> list[str]:
    return _deposit("--amount", "5", "--date", value)


def _publish(value: str = "131.42", month: str = "2031-01", source: str = "CBS") -> list[str]:
    return [
        "index",
        "publish",
        "--series",
        "CPI",
        "--month",
        month,
        "--value",
        value,
        "--source",
        source,
        "--key",
        "{coop-admin}",
    ]


def _amend(file: str) -> list[str]:
    return ["charter", "amend", file, "--reason", "test", "--key", "{governor}"]


NO_PASS = {"COOPLEDGER_PASSPHRASE": ""}

# label, argv, extra environment, text the one-line message must contain
REFUSED = [
    # -- defect 11: dates
    ("ISO week date", _on("2031-W01-1"), {}, "'2031-W01-1'"),
    ("basic date", _on("20310101"), {}, "'20310101'"),
    ("empty date", _on(""), {}, "''"),
    ("date with spaces", _on(" 2031-03-01"), {}, "' 2031-03-01'"),
    ("date with time", _on("2031-03-01T00:00"), {}, "'2031-03-01T00:00'"),
    ("arabic-indic date", _on("٢٠٣١-٠٣-٠١"), {}, "--date"),
    ("short year", _on("31-03-01"), {}, "'31-03-01'"),
    ("no such day", _on("2031-02-30"), {}, "'2031-02-30'"),
    ("date before genesis", _on("2030-12-31"), {}, "2030-12-31"),
    ("year 9999", _on("9999-01-01"), {}, "9999-01-01"),
    (
        "admission before genesis",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "person",
            "--name",
            "B",
            "--date",
            "2030-06-01",
            "--key",
            "{coop-admin}",
        ],
        {},
        "2030-06-01",
    ),
    (
        "erasure before genesis",
        ["member", "forget", "M-1", "--date", "2030-06-01", "--key", "{coop-admin}"],
        {},
        "2030-06-01",
    ),
    (
        "founded year 1000",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "business",
            "--name",
            "B",
            "--founded",
            "1000-01-01",
            "--date",
            "2031-03-01",
            "--key",
            "{coop-admin}",
        ],
        {},
        "1000-01-01",
    ),
    (
        "month without zero",
        [
            "contribution",
            "run",
            "--month",
            "2031-1",
            "--date",
            "2031-03-01",
            "--key",
            "{levy-admin}",
        ],
        {},
        "'2031-1'",
    ),
    (
        "month 9999-12",
        ["contribution", "run", "--month", "9999-12", "--key", "{levy-admin}"],
        {},
        "9999-12",
    ),
    ("month with newline", _publish(month="2031-01\n"), {}, "--month"),
    ("month 13", _publish(month="2031-13"), {}, "'2031-13'"),
    # -- defect 11: amounts
    ("arabic-indic amount", _amount("١٢٣"), {}, "'١٢٣'"),
    ("fullwidth amount", _amount("１２３"), {}, "'１２３'"),
    ("exponent amount", _amount("1e3"), {}, "'1e3'"),
    ("underscore amount", _amount("1_000"), {}, "'1_000'"),
    ("padded amount", _amount(" 5 "), {}, "' 5 '"),
    ("plus amount", _amount("+5"), {}, "'+5'"),
    ("minus amount", _amount("-5"), {}, "'-5'"),
    ("trailing point", _amount("5."), {}, "'5.'"),
    ("leading point", _amount(".5"), {}, "'.5'"),
    ("NaN amount", _amount("NaN"), {}, "'NaN'"),
    ("Infinity amount", _amount("Infinity"), {}, "'Infinity'"),
    ("three decimals", _amount("1234.567"), {}, "'1234.567'"),
    ("1e308", _amount("1e308"), {}, "'1e308'"),
    ("above the maximum", _amount("1000000000000.01"), {}, "1000000000000.01"),
    ("empty amount", _amount(""), {}, "''"),
    ("comma decimal", _amount("12,50"), {}, "'12,50'"),
    (
        "rent exponent",
        [
            "workspace",
            "register",
            "--id",
            "W-2",
            "--district",
            "Pampus-Oost",
            "--area-m2",
            "10",
            "--market-rent",
            "2.4e2",
            "--date",
            "2031-03-01",
            "--key",
            "{werk-admin}",
        ],
        {},
        "'2.4e2'",
    ),
    # -- defect 11: rates and index values
    ("index exponent", _publish("1.3142e2"), {}, "'1.3142e2'"),
    ("index fullwidth", _publish("１３１"), {}, "'１３１'"),
    ("index padded", _publish(" 131.42"), {}, "' 131.42'"),
    ("index NaN", _publish("NaN"), {}, "'NaN'"),
    ("index 100 decimals", _publish("1." + "1" * 100), {}, "--value"),
    (
        "rate exponent",
        [
            "dwelling",
            "register",
            "--id",
            "D-9",
            "--district",
            "Pampus-Oost",
            "--delivered",
            "2031-02-01",
            "--rule",
            "fixed-rate",
            "--rate",
            "2e-2",
            "--base-price",
            "1000",
            "--key",
            "{coop-admin}",
        ],
        {},
        "'2e-2'",
    ),
    (
        "owner share sign",
        [
            "dwelling",
            "register",
            "--id",
            "D-9",
            "--district",
            "Pampus-Oost",
            "--delivered",
            "2031-02-01",
            "--rule",
            "shared-appreciation",
            "--owner-share",
            "+0.5",
            "--base-appraisal",
            "1000",
            "--base-price",
            "1000",
            "--key",
            "{coop-admin}",
        ],
        {},
        "'+0.5'",
    ),
    # -- defect 11: free text and ids
    ("ESC in a note", _deposit("--amount", "5", "--note", f"{ESC}[2Jhi"), {}, "U+001B"),
    ("CR in a note", _deposit("--amount", "5", "--note", "paid\rrefunded"), {}, "U+000D"),
    ("RLO in a source", _publish(source=f"CBS{RLO}gpj"), {}, "U+202E"),
    (
        "isolate in a name",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "person",
            "--name",
            "A\u2067B",
            "--key",
            "{coop-admin}",
        ],
        {},
        "U+2067",
    ),
    (
        "LRM in an address",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "person",
            "--name",
            "B",
            "--address",
            "Dijk\u200e 1",
            "--key",
            "{coop-admin}",
        ],
        {},
        "U+200E",
    ),
    (
        "tab in a reason",
        ["key", "revoke", "deadbeefdead", "--reason", "a\tb", "--key", "{governor}"],
        {},
        "U+0009",
    ),
    (
        "ESC in a deed",
        [
            "property",
            "sell",
            "--id",
            "P-1",
            "--date",
            "2031-03-01",
            "--price",
            "5",
            "--deed",
            f"N{ESC}",
            "--key",
            "{levy-admin}",
        ],
        {},
        "--deed",
    ),
    (
        "NUL in a ref",
        [
            "levy",
            "pay",
            "--sale",
            "1",
            "--amount",
            "5",
            "--date",
            "2031-03-01",
            "--ref",
            "a\x00b",
            "--key",
            "{levy-admin}",
        ],
        {},
        "U+0000",
    ),
    (
        "newline after an id",
        [
            "member",
            "admit",
            "--id",
            "M-2\n",
            "--kind",
            "person",
            "--name",
            "B",
            "--key",
            "{coop-admin}",
        ],
        {},
        "--id",
    ),
    ("ESC in a charter", _amend("esc-name.toml"), {}, "U+001B"),
    # -- defect 12: the charter
    ("duplicate districts", _amend("dup-districts.toml"), {}, "Pampus-Haven"),
    ("empty district", _amend("empty-district.toml"), {}, "districts"),
    (
        'max_rent_ratio = "10"',
        _amend("rent-ratio-10.toml"),
        {},
        "max_rent_ratio: Value error, '10' is outside (0, 1]",
    ),
    ('max_rent_ratio = "0"', _amend("rent-ratio-0.toml"), {}, "max_rent_ratio"),
    ('affordable_target = "5"', _amend("target-5.toml"), {}, "affordable_target"),
    ("1000-digit indexation cap", _amend("cap-1000-digits.toml"), {}, "max_indexation_per_year"),
    ('default_index = "../../x"', _amend("series-path.toml"), {}, "default_index"),
    ('levy default_index = "../x"', _amend("levy-series-path.toml"), {}, "default_index"),
    ("drops a district in use", _amend("drops-oost.toml"), {}, "Pampus-Oost"),
    # -- defect 12: keys
    ("unencrypted key, empty passphrase", ["key", "show", "plain.key"], NO_PASS, "plain.key"),
    (
        "unencrypted key signing",
        ["fund", "deposit", "--from", "GEM", "--amount", "5", "--key", "plain.key"],
        NO_PASS,
        "plain.key",
    ),
    (
        "key new, empty passphrase",
        ["key", "new", "--name", "x", "--out", "empty.key"],
        NO_PASS,
        "passphrase",
    ),
]

# Exit 2 (usage) for a malformed option value, whatever the option; exit 1 for what only the
# ledger can refuse (a date before its genesis), for the contents of a charter or key file.
REFUSED_BY_THE_LEDGER = {
    "date before genesis", "admission before genesis", "erasure before genesis",
    "unencrypted key, empty passphrase", "unencrypted key signing",
    "key new, empty passphrase",
}  # fmt: skip
FILES = ("duplicate districts", "empty district", "max_rent_ratio", "affordable_target",
         "1000-digit", "default_index", "levy default_index", "drops a district", "ESC in a charter")  # fmt: skip

ACCEPTED = [
    ("whole euros", _amount("1234")),
    ("one decimal", _amount("1234.5")),
    ("two decimals", _amount("1234.56")),
    ("the maximum", _amount("1000000000000")),
    ("leading zero", _amount("0.01")),
    ("genesis day", _on("2031-01-01")),
    ("leap day", _on("2032-02-29")),
    ("spaces and accents", _deposit("--amount", "5", "--note", "Zoë's  payment — ünïcode ok")),
    ("index value", _publish("131.42")),
    ("index with many decimals", _publish("99.123456789")),
    (
        "business founded long ago",
        [
            "member",
            "admit",
            "--id",
            "M-2",
            "--kind",
            "business",
            "--name",
            "Oud & Zn",
            "--founded",
            "1890-05-01",
            "--date",
            "2031-03-01",
            "--key",
            "{coop-admin}",
        ],
    ),
    (
        "dwelling delivered before genesis",
        [
            "dwelling",
            "register",
            "--id",
            "D-9",
            "--district",
            "Pampus-Oost",
            "--delivered",
            "2024-02-01",
            "--rule",
            "fixed-rate",
            "--rate",
            "0.025",
            "--base-price",
            "250000",
            "--key",
            "{coop-admin}",
        ],
    ),
    ("charter amendment", _amend("good.toml")),
    ("charter adding a district", _amend("adds-district.toml")),
]


def _fill(cli, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:  # type: ignore[no-untyped-def]
    keys = {k: str(v) for k, v in cli.keys.items()}
    return [_sub(a, keys) for a in argv], {k: _sub(v, keys) for k, v in env.items()}


def _sub(text: str, keys: dict[str, str]) -> str:
    for role, path in keys.items():
        text = text.replace("{" + role + "}", path)
    return text


@pytest.mark.parametrize(("label", "argv", "env", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_lenient_input_is_refused(
    story, label: str, argv: list[str], env: dict[str, str], message: str
) -> None:  # type: ignore[no-untyped-def]
    cli = story
    db = Path(cli.env["COOPLEDGER_DB"])
    argv, env = _fill(cli, argv, env)
    before = sqlite_dump(db)
    files = sorted(p.name for p in cli.cwd.iterdir())
    result = cli(*argv, env=env)
    code = 1 if label in REFUSED_BY_THE_LEDGER or label.startswith(FILES) else 2
    assert result.code == code, f"{label}: exit {result.code}\n{result.out}{result.err}"
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err + result.out
    assert message in result.err, result.err
    assert ESC not in result.err and RLO not in result.err, result.err
    assert sqlite_dump(db) == before
    assert sorted(p.name for p in cli.cwd.iterdir()) == files


@pytest.mark.parametrize(("label", "argv"), ACCEPTED, ids=[r[0] for r in ACCEPTED])
def test_strict_input_is_accepted(story, label: str, argv: list[str]) -> None:  # type: ignore[no-untyped-def]
    cli = story
    argv, _ = _fill(cli, argv, {})
    cli.ok(*argv)
    assert "OK" in cli.ok("verify").out


def test_dates_and_amounts_are_recorded_as_typed(story) -> None:  # type: ignore[no-untyped-def]
    cli = story
    argv, _ = _fill(cli, _deposit("--amount", "1234.5", "--date", "2031-03-02", "--json"), {})
    receipt = json.loads(cli.ok(*argv).out)
    seq = receipt["entries"][0]["seq"]
    entry = json.loads(cli.ok("log", "show", str(seq), "--json").out)["entry"]
    assert entry["effective"] == "2031-03-02"
    assert entry["body"]["amount_cents"] == 123450


def test_text_from_the_ledger_is_shown_escaped(story) -> None:  # type: ignore[no-untyped-def]
    """An entry written before the input rule (here: through the library) holds ESC and RLO;
    the CLI shows them escaped, in text and in JSON."""
    from ledger.rules.fund import deposit
    from ledger.service import Ledger
    from ledger.storage.store import Store

    cli = story
    admin = read_key_file(cli.keys["coop-admin"], b"test-pass")
    log_key = read_key_file(cli.keys["log"], b"test-pass")
    store = Store(cli.env["COOPLEDGER_DB"])
    try:
        seq = str(
            Ledger(store)
            .append(
                [deposit(500, "GEM", f"{ESC}[2J{ESC}]0;pwned\x07{RLO}evil\r", date(2031, 3, 1))],
                admin,
                log_key,
            )
            .entries[0]
            .seq
        )
    finally:
        store.dispose()
    for argv in (["log"], ["log", "--json"], ["log", "show", seq], ["log", "show", seq, "--json"]):
        out = cli.ok(*argv).out
        assert ESC not in out and RLO not in out and "\r" not in out and "\x07" not in out, argv
    assert "\\x1b" in cli.ok("log").out or "\\u001b" in cli.ok("log").out
    shown = cli.ok("log", "show", seq, "--json").out
    assert json.loads(shown)["entry"]["body"]["note"].startswith(ESC)  # still the same JSON value
