"""The CLI fuzz harness: every command's options, a strategy per option kind, a sandbox per run, the verdict."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import click
from hypothesis import strategies as st

from ledger.keys import generate
from tests.support import CliRunner, sqlite_dump

# -- values that name something in the sandbox, resolved when the command runs ---------------------


@dataclass(frozen=True)
class Ref:
    """A value known only once the demo ledger is built (a key id, a verifier key)."""

    name: str


Value = str | Ref
Strategy = st.SearchStrategy[Any]

PASSPHRASE = "demo"  # ledger.demo.DEMO_PASSPHRASE
DB = "ledger.db"
LOG_KEY = "keys/log.key"
ROLES = ("governor", "coop-admin", "werk-admin", "levy-admin")

# Things a sandbox holds besides the copied demo (see build_pristine): odd files to hand over.
# Not /dev/zero: until reading is bounded, a run would fill the memory of the test process
# before its deadline; bounded reading has its own tests (issue 11, "Bundle verification of
# /dev/zero ...").
MISSING = "missing/nothing.txt"
DIRECTORY = "a-directory"
FIFO = "a-fifo"
EMPTY = "empty-file"
GARBAGE = "garbage-file"
DANGLING = "dangling-link"
VICTIM = "victim.txt"
LINK_TO_VICTIM = "link-to-victim"
ODD_PATHS: list[str] = [
    MISSING,
    DIRECTORY,
    FIFO,
    EMPTY,
    GARBAGE,
    DANGLING,
    LINK_TO_VICTIM,
    "/dev/null",
    "",
    "x" * 300,  # a file name longer than NAME_MAX
    "/",
]


def _pick(*options: Any) -> Strategy:
    return st.sampled_from(options)


def _text(min_size: int = 0, max_size: int = 40) -> Strategy:
    # No NUL: a real argv cannot hold one. Surrogates stand for non-UTF-8 argv bytes below.
    return st.text(st.characters(blacklist_characters="\x00"), min_size=min_size, max_size=max_size)


NASTY_TEXT = _pick(
    "",
    " ",
    "\x1b[31mred\x1b[0m",
    "line\rover",
    "two\nlines",
    "abc\u202edcba",
    "tab\there",
    "\u2028sep",
    "\x85next",
    "\udcff\udcfe",  # what Python makes of argv bytes 0xff 0xfe
    "ü" * 50,
    "x" * 100_000,
    "%s%n{0}",
    "'; DROP TABLE entries; --",
)


def free_text(*plain: str) -> Strategy:
    return st.one_of(_pick(*plain or ("an ordinary reason",)), NASTY_TEXT, _text())


def ident(*known: str, unknown: str = "X-404") -> Strategy:
    """An id: one the ledger knows, one it does not, and malformed ones."""
    odd = _pick(
        "",
        " ",
        f" {known[0] if known else 'X-1'} ",
        "M 1",
        "../../x",
        "Ｍ-1",
        "\udcff",
        "x" * 10_000,
        "-1",
        "a\nb",
        "\x1b[2J",
    )
    return st.one_of(_pick(*known, unknown) if known else _pick(unknown), odd, _text(max_size=12))


DATE = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates(min_value=date(2031, 1, 5), max_value=date(2040, 12, 31)).map(lambda d: d.isoformat()),
    _pick(
        "2032-06-01",
        "20310101",
        "2031-W01-1",
        "",
        " 2031-06-01",
        "2031-6-1",
        "2031-02-30",
        "0001-01-01",
        "9999-12-31",
        "10000-01-01",
        "1900-01-01",
        "2031-01-04",
        "today",
        "2031-06-01T00:00",
        "٢٠٣١-٠٦-٠١",
        "２０３１-０６-０１",
        "2031-13-01",
        "-2031-01-01",
    ),
    _text(max_size=12),
)
MONTH = st.one_of(
    st.dates().map(lambda d: d.isoformat()[:7]),
    _pick(
        "2032-03",
        "2032-01",
        "2032-04",
        "2031-05",
        "9999-12",
        "0001-01",
        "2032-13",
        "2032-00",
        "203203",
        "2032-3",
        "",
        "2032-03-01",
        "2032-W10",
        "٢٠٣٢-٠٣",
        "-2032-03",
        "99999-01",
    ),
    _text(max_size=10),
)
PERIOD = st.one_of(
    _pick(
        "2032",
        "2032-Q1",
        "2032-Q2",
        "2032-03",
        "2032-Q5",
        "2032-Q0",
        "9999",
        "0001-Q1",
        "9999-12",
        "",
        "2032-q1",
        "２０３２",
        "2032-Q1/../x",
        "99999",
    ),
    _text(max_size=10),
)
AMOUNT = st.one_of(
    _pick(
        "100",
        "912.50",
        "0",
        "0.01",
        "5000",
        "1e308",
        "1e3",
        "1_000",
        "-5",
        "NaN",
        "inf",
        "-0",
        "١٢٣",
        "１２３",
        " 5 ",
        "5.001",
        "1,50",
        "EUR 5",
        "",
        "9" * 30,
        "1" + "0" * 400,
        "0x10",
        "+5",
        ".5",
        "5.",
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(repr),
)
DECIMAL = st.one_of(
    _pick(
        "0.02",
        "128.4",
        "0.5",
        "1",
        "0",
        "1.5",
        "-1",
        "10",
        "1e308",
        "NaN",
        "1" + "0" * 1000,
        "0." + "1" * 1000,
        "١٫٥",
        "",
    ),
    AMOUNT,
)
INT = st.one_of(
    st.integers(min_value=-5, max_value=70).map(str),
    _pick("1000", "9" * 40, "", "abc", "1e3", "٣", "0x10", "+1", " 7"),
)
FLAG = st.booleans()


def int_choice(*known: int) -> Strategy:
    return st.one_of(_pick(*(str(k) for k in known)), INT)


def choice(*options: str) -> Strategy:
    return st.one_of(_pick(*options), _pick("", "NOPE", options[0].upper()))


def read_path(right: Value, *alternatives: Value) -> Strategy:
    """A file or folder to read: the right one, others of its sandbox, and odd ones."""
    return st.one_of(_pick(right, *alternatives), _pick(*ODD_PATHS))


def write_path(*good: str) -> Strategy:
    """A place to write to: a fresh name, or an odd one (existing, link, FIFO, ...)."""
    return st.one_of(_pick(*good, "out/new-file"), _pick(*ODD_PATHS, "keys/governor.key", DB))


def signing_key(role: str) -> Strategy:
    others = [f"keys/{r}.key" for r in ROLES if r != role]
    right = f"keys/{role}.key"
    # Half the runs sign with the right key, so that they get past it to the command's rules.
    return st.one_of(_pick(right), _pick(right), _pick(*others, LOG_KEY), _pick(*ODD_PATHS))


VKEY = st.one_of(
    _pick(*(Ref(f"vkey:{r}") for r in (*ROLES, "log")), Ref("vkey:new")),
    _pick("", "not-a-vkey", "a+b+c", "name+00000000+AAAA", "x+deadbeef+" + "A" * 44),
    _text(max_size=60),
)
KEY_ID = st.one_of(
    _pick(*(Ref(f"keyid:{r}") for r in ROLES), *(Ref(f"keyid8:{r}") for r in ROLES)),
    _pick("deadbeefdead", "", "abc", "0" * 64, "ABCDEF12" * 8),
    _text(max_size=20),
)
REQUEST_ID = st.one_of(
    st.none(),
    _pick(
        "req-1", "demo-admissions", "demo-keys", "", "\udcff", "x" * 100_000, "r\x1b[0m", "ü-1", " "
    ),
    _text(max_size=20),
)
DB_TARGET = st.one_of(
    st.none(),  # COOPLEDGER_DB points at the sandbox's copy
    _pick(
        DB,
        "missing.db",
        DIRECTORY,
        EMPTY,
        GARBAGE,
        FIFO,
        "/dev/null",
        "",
        "postgresql://postgres@127.0.0.1:1/none",
        "sqlite:///" + DB,
        "mysql://x/y",
    ),
)
PASSPHRASES = st.one_of(_pick(PASSPHRASE), _pick(PASSPHRASE), _pick(PASSPHRASE), _pick("", "wrong"))

# -- the table: for every command, who signs and a strategy for each of its parameters ------------


@dataclass(frozen=True)
class Spec:
    params: dict[str, Strategy]
    role: str | None = None  # the role whose key a writing command wants

    def strategy_for(self, name: str) -> Strategy | None:
        if name in self.params:
            return self.params[name]
        return _common(name, self.role)


def _common(name: str, role: str | None) -> Strategy | None:
    common: dict[str, Strategy] = {
        "db": DB_TARGET,
        "as_json": FLAG,
        "key": signing_key(role or "governor"),
        "log_key": st.one_of(st.none(), signing_key("log")),
        "request_id": REQUEST_ID,
        "receipt": st.one_of(st.none(), write_path("out/receipt.txt")),
    }
    return common.get(name)


MEMBERS = ("M-1", "M-2", "M-3", "M-4", "M-5", "B-1", "B-2", "B-3")
DWELLINGS = ("D-1", "D-2", "D-3")
WORKSPACES = ("W-1", "W-2", "W-3")
LEASES = ("L-33", "L-34", "L-35")
PROPERTIES = ("P-1", "P-2", "P-3")
SERIES = ("CPI", "HPI")
DISTRICTS = ("Pampus-Haven", "Pampus-Centrum", "Pampus-Oost")
LEVY_SALES = Ref("seq:property.sold")

MEMBER = ident(*MEMBERS, unknown="M-404")
NEW_ID = ident("M-9", "D-9", "W-9", "P-9", unknown="X-9")
DISTRICT = ident(*DISTRICTS, unknown="Atlantis")
SERIES_ID = ident(*SERIES, unknown="RPI")
SEQ = st.one_of(
    _pick(LEVY_SALES, Ref("seq:share.sold"), Ref("seq:levy.paid")), int_choice(0, 17, 59, 60)
)
CHARTER = read_path("charter.toml", "keys/governor.key", "bundle/entries.jsonl")
EMAIL = st.one_of(
    _pick("a@example.org", "not-an-email", "a@b", "x" * 300 + "@example.org"), NASTY_TEXT
)
KVK = st.one_of(_pick("90000009", "123", "abcdefgh", "٩٠٠٠٠٠٠٩"), NASTY_TEXT)

TABLE: dict[str, Spec] = {
    "bundle export": Spec({"directory": write_path("out/bundle", "bundle")}),
    "charter amend": Spec({"file": CHARTER, "reason": free_text()}, "governor"),
    "charter show": Spec({"at_seq": int_choice(0, 1, 59)}),
    "charter template": Spec({}),
    "checkpoint": Spec({"size": int_choice(1, 59, 60, 3), "vkey_only": FLAG}),
    "contribution arrears": Spec({"on": DATE, "at": DATE}),
    "contribution pay": Spec(
        {
            "subject": ident(*PROPERTIES, *WORKSPACES, *DWELLINGS),
            "month": MONTH,
            "member": MEMBER,
            "amount": AMOUNT,
            "on": DATE,
            "ref": free_text("bank-9"),
        },
        "levy-admin",
    ),
    "contribution run": Spec({"month": MONTH, "on": DATE}, "levy-admin"),
    "contribution workplaces": Spec(
        {"member_id": MEMBER, "count": int_choice(0, 3), "district": DISTRICT, "on": DATE},
        "levy-admin",
    ),
    "contribution debtor": Spec(
        {"subject": ident(*PROPERTIES), "debtor": ident("OWNER-1"), "on": DATE}, "levy-admin"
    ),
    "correct": Spec({"seq": SEQ, "reason": free_text(), "on": DATE}, "governor"),
    "demo": Spec({"db": st.one_of(_pick("new-demo.db"), DB_TARGET)}),
    "dwelling list": Spec({}),
    "dwelling register": Spec(
        {
            "dwelling_id": NEW_ID,
            "address": free_text("Havenkade 9"),
            "district": DISTRICT,
            "delivered": DATE,
            "rule": choice("nominal", "fixed-rate", "indexed", "shared-appreciation"),
            "base_price": AMOUNT,
            "base_date": DATE,
            "rate": DECIMAL,
            "compounding": choice("simple", "compound"),
            "series": SERIES_ID,
            "owner_share": DECIMAL,
            "base_appraisal": AMOUNT,
        },
        "coop-admin",
    ),
    "dwelling show": Spec({"dwelling_id": ident(*DWELLINGS)}),
    "fund deposit": Spec(
        {"amount": AMOUNT, "source": free_text("GEM"), "note": free_text(), "on": DATE},
        "coop-admin",
    ),
    "fund show": Spec({"at": DATE}),
    "gem export": Spec(
        {
            "period": PERIOD,
            "out": write_path("out/gem"),
            "formats": _pick("csv,json", "csv", "json", "", "xml", "csv,csv", " csv"),
        }
    ),
    "gem verify": Spec(
        {
            "directory": read_path("gem/2032-Q1", "gem/2032-Q2", "bundle"),
            "bundle": st.one_of(st.none(), read_path("bundle")),
            "trust": st.one_of(st.none(), VKEY),
        }
    ),
    "index correct": Spec(
        {
            "series": SERIES_ID,
            "month": MONTH,
            "value": DECIMAL,
            "source": free_text("CBS"),
            "reason": free_text(),
        },
        "coop-admin",
    ),
    "index publish": Spec(
        {
            "series": SERIES_ID,
            "month": MONTH,
            "value": DECIMAL,
            "source": free_text("CBS"),
            "reason": st.one_of(st.none(), free_text()),
        },
        "coop-admin",
    ),
    "index show": Spec({"series": st.one_of(st.none(), SERIES_ID)}),
    "init": Spec(
        {
            "origin": st.one_of(_pick("pampus.example/coop", "new.example/coop"), NASTY_TEXT),
            "charter_file": CHARTER,
            "on": DATE,
            "db": _pick("new.db", DB, "missing/new.db", DIRECTORY, "/dev/null", FIFO),
        },
        "governor",
    ),
    "key authorize": Spec(
        {"vkey": VKEY, "roles": st.lists(choice(*ROLES), min_size=1, max_size=2)}, "governor"
    ),
    "key list": Spec({}),
    "key new": Spec(
        {"name": free_text("someone", "pampus.example/coop"), "out": write_path("out/new.key")}
    ),
    "key revoke": Spec({"keyid": KEY_ID, "reason": free_text()}, "governor"),
    "key show": Spec(
        {"file": read_path("keys/coop-admin.key", LOG_KEY), "vkey_only": FLAG, "as_json": FLAG}
    ),
    "lease apply": Spec(
        {"member_id": MEMBER, "min_m2": INT, "max_m2": int_choice(60, 100, 10**6), "on": DATE},
        "werk-admin",
    ),
    "lease end": Spec(
        {"lease_id": ident(*LEASES), "on": DATE, "reason": free_text()}, "werk-admin"
    ),
    "lease grant": Spec(
        {
            "workspace_id": ident(*WORKSPACES),
            "member_id": MEMBER,
            "start": DATE,
            "end_": DATE,
            "rent": AMOUNT,
            "exception_reason": st.one_of(st.none(), free_text()),
            "lease_type": st.one_of(st.none(), choice("7:230a", "7:290")),
            "on": DATE,
        },
        "werk-admin",
    ),
    "lease index": Spec(
        {"lease_id": ident(*LEASES), "on": DATE, "rent": st.one_of(st.none(), AMOUNT)},
        "werk-admin",
    ),
    "lease queue": Spec({}),
    "lease roll": Spec({"at": DATE}),
    "lease withdraw": Spec({"member_id": MEMBER, "on": DATE, "reason": free_text()}, "werk-admin"),
    "levy explain": Spec({"seq": SEQ}),
    "levy pay": Spec(
        {"sale_seq": SEQ, "amount": AMOUNT, "on": DATE, "ref": free_text("bank-9")}, "levy-admin"
    ),
    "levy register": Spec({"outstanding": FLAG, "at": DATE}),
    "levy waive": Spec(
        {"sale_seq": SEQ, "reason": free_text(), "amount": AMOUNT, "on": DATE}, "governor"
    ),
    "log": Spec(
        {
            "start": INT,
            "limit": INT,
            "kinds": st.lists(
                _pick("member.admitted", "property.sold", "", "x" * 1000, "%"), max_size=2
            ),
        }
    ),
    "log adopt": Spec({"size": int_choice(1, 59, 60, 61)}),
    "log show": Spec({"seq": int_choice(0, 59, 60)}),
    "member admit": Spec(
        {
            "member_id": NEW_ID,
            "member_kind": choice("person", "household", "business"),
            "name": free_text("Jan Jansen"),
            "address": free_text("Kade 1"),
            "email": EMAIL,
            "kvk": KVK,
            "founded": DATE,
            "district": DISTRICT,
            "on": DATE,
        },
        "coop-admin",
    ),
    "member forget": Spec({"member_id": MEMBER, "on": DATE}, "coop-admin"),
    "member list": Spec({}),
    "member show": Spec({"member_id": MEMBER}),
    "price explain": Spec(
        {"dwelling_id": ident(*DWELLINGS), "on": DATE, "appraisal": AMOUNT, "improvements": AMOUNT}
    ),
    "proof consistency": Spec({"old": int_choice(1, 30, 59, 60), "new": int_choice(1, 30, 60, 61)}),
    "proof inclusion": Spec(
        {
            "seq": int_choice(0, 5, 59, 60),
            "size": int_choice(60, 59, 1),
            "out": write_path("out/receipt.txt"),
        }
    ),
    "property register": Spec(
        {
            "property_id": NEW_ID,
            "property_kind": choice("home", "commercial", "plot", "dwelling"),
            "district": DISTRICT,
            "delivered": DATE,
            "baseline": AMOUNT,
            "baseline_month": MONTH,
            "series": SERIES_ID,
            "on": DATE,
        },
        "levy-admin",
    ),
    "property sell": Spec(
        {
            "property_id": ident(*PROPERTIES, "P-9"),
            "on": DATE,
            "price": AMOUNT,
            "appraisal": AMOUNT,
            "improvements": AMOUNT,
            "disposal": choice(
                "sale",
                "gift",
                "related-party-sale",
                "share-deal",
                "inheritance",
                "divorce",
                "expropriation",
            ),
            "deed": free_text("notaris-1"),
            "dry_run": FLAG,
        },
        "levy-admin",
    ),
    "share buy-back": Spec(
        {
            "dwelling_id": ident(*DWELLINGS),
            "on": DATE,
            "appraisal": AMOUNT,
            "improvements": AMOUNT,
            "deed": free_text("AKTE-1"),
            "dry_run": FLAG,
        },
        "coop-admin",
    ),
    "share offer": Spec({"dwelling_id": ident(*DWELLINGS), "on": DATE}, "coop-admin"),
    "share offers": Spec({"at": DATE}),
    "share register": Spec({"at": DATE}),
    "share resale": Spec(
        {
            "dwelling_id": ident(*DWELLINGS),
            "buyer_id": MEMBER,
            "on": DATE,
            "deed": free_text("AKTE-2"),
            "declaration_date": DATE,
            "declaration_ref": free_text("ZB-2"),
            "appraisal": AMOUNT,
            "improvements": AMOUNT,
        },
        "coop-admin",
    ),
    "share sell": Spec(
        {
            "dwelling_id": ident(*DWELLINGS),
            "member_id": MEMBER,
            "on": DATE,
            "appraisal": AMOUNT,
            "improvements": AMOUNT,
            "deed": free_text("AKTE-1"),
            "declaration_date": DATE,
            "declaration_ref": free_text("ZB-1"),
            "dry_run": FLAG,
        },
        "coop-admin",
    ),
    "rebuild": Spec({}),
    "verify": Spec(
        {
            "bundle": st.one_of(st.none(), read_path("bundle", "gem/2032-Q1")),
            "trust": st.one_of(st.none(), VKEY),
            "since": st.one_of(st.none(), write_path("out/since.txt", "bundle/checkpoint")),
            "workers": int_choice(1, 2),
        }
    ),
    "verify-receipt": Spec(
        {
            "file": read_path("receipt.txt", "bundle/checkpoint"),
            "vkey": VKEY,
            "entry": st.one_of(
                _pick("5", "59", "60", "²", "٥", "entry.jsonl", "99999999999999999999"),
                read_path("entry.jsonl"),
            ),
        }
    ),
    "workspace list": Spec({"at": DATE}),
    "workspace occupancy": Spec({"at": DATE, "total_m2": int_choice(100, 270)}),
    "workspace revalue": Spec(
        {
            "workspace_id": ident(*WORKSPACES),
            "market_rent": AMOUNT,
            "on": DATE,
            "source": free_text("taxatie"),
        },
        "werk-admin",
    ),
    "workspace register": Spec(
        {
            "workspace_id": NEW_ID,
            "district": DISTRICT,
            "area_m2": int_choice(40, 80),
            "market_rent": AMOUNT,
            "on": DATE,
        },
        "werk-admin",
    ),
}


# -- the command tree ------------------------------------------------------------------------------


def command_tree() -> dict[str, click.Command]:
    """Every command a user can run, by its words ("member admit"), from cli.main's COMMANDS:
    leaves, and groups that do something when invoked alone (`coopledger log`)."""
    from cli.main import cli

    out: dict[str, click.Command] = {}

    def walk(command: click.Command, words: list[str]) -> None:
        if not isinstance(command, click.Group) or command.invoke_without_command:
            out[" ".join(words)] = command
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{' '.join(words)} {name} does not load"
                walk(sub, [*words, name])

    walk(cli, [])
    out.pop("", None)
    return out


def uncovered(tree: dict[str, click.Command]) -> list[str]:
    """Commands and parameters the table has no strategy for (a new one must be added)."""
    missing = [f"command {path!r}" for path in sorted(set(tree) - set(TABLE))]
    for path, command in sorted(tree.items()):
        spec = TABLE.get(path)
        if spec is None:
            continue
        missing += [
            f"{path}: parameter {p.name!r}"
            for p in command.params
            if p.name not in ("help",) and spec.strategy_for(str(p.name)) is None
        ]
    missing += [
        f"{path}: stale entry {name!r}"
        for path, spec in TABLE.items()
        if path in tree
        for name in spec.params
        if name not in {p.name for p in tree[path].params}
    ]
    missing += [f"stale command {path!r}" for path in sorted(set(TABLE) - set(tree))]
    return missing


@dataclass(frozen=True)
class Invocation:
    """One run: the words and options (some values still Refs), and the passphrase in the env."""

    path: str
    args: tuple[Value, ...]
    passphrase: str
    writes: bool

    def argv(self, refs: dict[str, str]) -> list[str]:
        return self.path.split() + [refs[a.name] if isinstance(a, Ref) else a for a in self.args]


@st.composite
def invocations(draw: Callable[[Strategy], Any], tree: dict[str, click.Command]) -> Invocation:
    path = draw(st.sampled_from(sorted(tree)))
    command, spec = tree[path], TABLE[path]
    options: list[Value] = []
    arguments: list[Value] = []
    dry_run = False
    for param in command.params:
        strategy = spec.strategy_for(str(param.name))
        assert strategy is not None, f"{path}: no strategy for {param.name}"
        if param.required:
            present = draw(_pick(True, True, True, True, True, True, True, False))
        else:
            present = draw(st.booleans())
        if not present:
            continue
        value = draw(strategy)
        if isinstance(param, click.Argument):
            arguments.append(value)
            continue
        opt = max(param.opts, key=len)
        if getattr(param, "is_flag", False):
            if value:
                options.append(opt)
                dry_run = dry_run or param.name == "dry_run"
        elif value is not None:
            for v in value if isinstance(value, list) else [value]:
                options += [opt, v]
    if draw(_pick(False, False, False, False, False, False, False, False, False, True)):
        options.append("--no-such-option")
    args = (*options, *(["--", *arguments] if arguments else []))
    return Invocation(path, args, draw(PASSPHRASES), spec.role is not None and not dry_run)


# -- the sandbox: a fresh copy of the demo ledger and its files for each run ------------------------


def build_pristine(root: Path) -> dict[str, str]:
    """Build the demo ledger under root with the files the strategies name; return the Refs."""
    import json

    from ledger.charter import TEMPLATE

    cli = CliRunner(root, env={"COOPLEDGER_PASSPHRASE": PASSPHRASE})
    cli.ok("demo", "--db", DB)
    for suffix, name in ((".keys", "keys"), (".bundle", "bundle"), (".gem", "gem")):
        (root / (DB + suffix)).rename(root / name)
    cli.env.update({"COOPLEDGER_DB": DB, "COOPLEDGER_LOG_KEY": LOG_KEY})
    (root / "charter.toml").write_text(TEMPLATE, encoding="utf-8")
    cli.ok("proof", "inclusion", "5", "--out", "receipt.txt")
    lines = (root / "bundle" / "entries.jsonl").read_bytes().splitlines(keepends=True)
    (root / "entry.jsonl").write_bytes(lines[5])
    refs = {"vkey:new": generate("newcomer.example/someone").vkey}
    for role in (*ROLES, "log"):
        shown = json.loads(cli.ok("key", "show", f"keys/{role}.key", "--json").out)
        refs[f"vkey:{role}"] = shown["vkey"]
        refs[f"keyid:{role}"] = shown["key_id"]
        refs[f"keyid8:{role}"] = shown["key_id"][:8]
    log = json.loads(cli.ok("log", "--json").out)
    for kind in ("property.sold", "share.sold", "levy.paid"):
        refs[f"seq:{kind}"] = str(next(r["seq"] for r in log if r["kind"] == kind))
    (root / DIRECTORY).mkdir()
    (root / "out").mkdir()
    (root / EMPTY).write_bytes(b"")
    (root / GARBAGE).write_bytes(bytes(range(256)) * 4)
    (root / DANGLING).symlink_to("nowhere/at/all")
    (root / VICTIM).write_text("must stay as it is\n", encoding="utf-8")
    (root / LINK_TO_VICTIM).symlink_to(VICTIM)
    return refs


class Hang(BaseException):
    """Raised in the command's thread when it runs past its deadline (not an Exception, so the
    CLI's error boundary cannot turn it into an exit code)."""


@contextmanager
def deadline(seconds: float, fifo: Path) -> Iterator[None]:
    """Interrupt a run that blocks: SIGALRM for Python code; for C code that retries on EINTR
    (SQLite reading a FIFO), a helper thread feeds and drains the FIFO until the run ends."""
    import threading

    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds:.0f} s")

    stop = threading.Event()

    def unblock() -> None:
        if stop.wait(seconds + 0.5):
            return
        while not stop.wait(0.05):
            for flags in (os.O_WRONLY, os.O_RDONLY):
                try:
                    fd = os.open(fifo, flags | os.O_NONBLOCK)
                except OSError:
                    continue
                try:
                    if flags == os.O_WRONLY:
                        os.write(fd, b"\0" * 4096)
                    else:
                        os.read(fd, 1 << 16)
                except OSError:
                    pass
                finally:
                    os.close(fd)

    helper = threading.Thread(target=unblock, daemon=True)
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    helper.start()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        stop.set()
        helper.join()


@dataclass
class Outcome:
    """What one run did: exit code, output, whether the ledger changed or still verifies."""

    invocation: Invocation
    argv: list[str]
    code: int | None = None
    out: str = ""
    err: str = ""
    crash: str = ""  # a hang, or an exception that escaped cli.main.main
    db_changed: bool = False
    verify_after: str | None = None  # `verify` output after a writing command exited 0

    def problems(self) -> list[str]:
        return judge(self)


@dataclass
class Sandbox:
    pristine: Path
    refs: dict[str, str] = field(repr=False)
    before: list[str] = field(repr=False)  # the demo ledger's dump
    timeout: float = 5.0
    counter: list[int] = field(default_factory=lambda: [0])

    def run(self, inv: Invocation, verify_writes: bool = True) -> Outcome:
        self.counter[0] += 1
        where = self.pristine.parent / f"run-{os.getpid()}-{self.counter[0]}"
        shutil.copytree(self.pristine, where, symlinks=True)
        os.mkfifo(where / FIFO)
        try:
            return self._run_in(where, inv, verify_writes)
        finally:
            shutil.rmtree(where, ignore_errors=True)

    def _run_in(self, where: Path, inv: Invocation, verify_writes: bool) -> Outcome:
        env = {
            "COOPLEDGER_PASSPHRASE": inv.passphrase,
            "COOPLEDGER_DB": DB,
            "COOPLEDGER_LOG_KEY": LOG_KEY,
        }
        cli = CliRunner(where, env=env)
        outcome = Outcome(inv, inv.argv(self.refs))
        try:
            with deadline(self.timeout, where / FIFO):
                result = cli(*outcome.argv)
        except Hang as e:
            outcome.crash = f"hang: {e}"
        except Exception as e:  # escaped cli.main.main: the real program would print a traceback
            outcome.crash = f"uncaught {type(e).__name__}: {first_line(str(e))}"
        else:
            outcome.code, outcome.out, outcome.err = result.code, result.out, result.err
        outcome.db_changed = sqlite_dump(where / DB) != self.before
        if verify_writes and outcome.code == 0 and inv.writes and outcome.db_changed:
            env["COOPLEDGER_PASSPHRASE"] = PASSPHRASE
            checked = CliRunner(where, env=env)("verify")
            outcome.verify_after = (
                f"exit {checked.code}: {checked.out.strip()} {checked.err.strip()}"
            )
        return outcome


def first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


# -- the verdict -----------------------------------------------------------------------------------

# A refusal is one clear line on stderr. Rule: after dropping blank lines and click's usage
# header ("Usage: coopledger ..." and "Try 'coopledger ... -h' for help."), which click prints
# above every usage error (exit 2), and the tab-indented choices click lists under a line
# ending in "Choose from:" (part of that line's sentence), exactly one line remains; it starts with "coopledger: "
# (the CLI's error boundary) or "Error: " (click's own usage errors); and it holds no control
# or format characters (ESC, CR, U+202E, U+2028, ...) that could make it look like something
# else on a terminal. A verifier that finds a problem (exit 1, its verdict on stdout: "FAILED",
# or JSON with "ok": false) is not a refusal: it reports findings, one a line, and stderr stays empty.
USAGE_HEADER = re.compile(r"^(Usage: coopledger\b.*|Try 'coopledger\b.*' for help\.)$")
CHOICES = re.compile(r"^Error: .*Choose from:(\t[^\t\n]+,?)+$")
ALLOWED_CONTROL = {"\t"}


def message_lines(err: str) -> list[str]:
    lines: list[str] = []
    for line in err.split("\n"):
        if not line.strip() or USAGE_HEADER.match(line):
            continue
        if lines and lines[-1].startswith("Error: ") and CHOICES.match(lines[-1] + line):
            lines[-1] += line
            continue
        lines.append(line)
    return lines


def unclear(line: str) -> list[str]:
    return sorted(
        {
            f"U+{ord(c):04X}"
            for c in line
            if c not in ALLOWED_CONTROL
            and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")
        }
    )


def judge(o: Outcome) -> list[str]:
    """Every property the run breaks, each as a short phrase (empty: the run is fine)."""
    if o.crash:
        return [o.crash]
    problems: list[str] = []
    if o.code not in (0, 1, 2):
        problems.append(f"exit {o.code}: {first_line(o.err)}")
    if "Traceback (most recent call last)" in o.out + o.err:
        problems.append("traceback in the output")
    if o.code != 0:
        problems += _refusal_problems(o)
    if o.db_changed and (o.code != 0 or not o.invocation.writes):
        problems.append(
            f"database changed by a run that {'exited ' + str(o.code) if o.code else 'only reads'}"
        )
    if o.verify_after is not None and not o.verify_after.startswith("exit 0"):
        problems.append(f"ledger no longer verifies after exit 0: {first_line(o.verify_after)}")
    return problems


def verdict_failed(out: str) -> bool:
    """A verifier's report that found something: text ending in FAILED, or JSON with ok false."""
    import json

    try:
        report = json.loads(out)
    except ValueError:
        return "FAILED" in out
    return isinstance(report, dict) and report.get("ok") is False


def _refusal_problems(o: Outcome) -> list[str]:
    lines = message_lines(o.err)
    if not lines and o.code == 1 and verdict_failed(o.out):
        return []
    if len(lines) != 1:
        return [f"refusal in {len(lines)} lines: {[line[:80] for line in lines[:3]]}"]
    line = lines[0]
    problems = []
    if not line.startswith(("coopledger: ", "Error: ")):
        problems.append(f"refusal line without 'coopledger:' or 'Error:': {line[:80]!r}")
    bad = unclear(line)
    if bad:
        problems.append(f"refusal line holds control characters {', '.join(bad)}")
    return problems


# -- a survey: many runs, every distinct failure once (python -m tests.integrity.cli_fuzz N) --------


def failure_class(o: Outcome, problem: str) -> str:
    """The command and the problem with its values blurred, plus where an exit-3 error rose."""
    blurred = re.sub(r"'[^']*'|\"[^\"]*\"|\d+", "_", problem)[:120]
    where = raised_at(o) if problem.startswith("exit 3") else ""
    return f"{o.invocation.path} | {blurred}{' @ ' + where if where else ''}"


def raised_at(o: Outcome) -> str:
    """Rerun with COOPLEDGER_DEBUG=1 and name the innermost project frame of the exception."""
    import traceback

    # the caller's sandbox is gone; a fresh one is made by survey() through this hook
    rerun = _RERUN.get("run")
    if rerun is None:
        return ""
    try:
        rerun(o.invocation)
    except Exception as e:
        frames = [
            f
            for f in traceback.extract_tb(e.__traceback__)
            if "/ledger/" in f.filename or "/cli/" in f.filename
        ]
        last = frames[-1] if frames else traceback.extract_tb(e.__traceback__)[-1]
        return f"{type(e).__name__} {Path(last.filename).name}:{last.lineno} {last.name}"
    return ""


_RERUN: dict[str, Callable[[Invocation], Any]] = {}


def survey(box: Sandbox, examples: int, tree: dict[str, click.Command]) -> dict[str, list[Outcome]]:
    from hypothesis import HealthCheck, Phase, given, settings

    found: dict[str, list[Outcome]] = {}

    def debug_run(inv: Invocation) -> None:
        where = box.pristine.parent / "debug-run"
        shutil.rmtree(where, ignore_errors=True)
        shutil.copytree(box.pristine, where, symlinks=True)
        os.mkfifo(where / FIFO)
        env = {
            "COOPLEDGER_PASSPHRASE": inv.passphrase,
            "COOPLEDGER_DB": DB,
            "COOPLEDGER_LOG_KEY": LOG_KEY,
            "COOPLEDGER_DEBUG": "1",
        }
        try:
            with deadline(box.timeout, where / FIFO):
                CliRunner(where, env=env)(*inv.argv(box.refs))
        finally:
            shutil.rmtree(where, ignore_errors=True)

    _RERUN["run"] = debug_run

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(invocations(tree))
    def probe(inv: Invocation) -> None:
        o = box.run(inv)
        for problem in o.problems():
            found.setdefault(failure_class(o, problem), []).append(o)

    probe()
    return found


def main() -> None:
    import tempfile
    import time

    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    tree = command_tree()
    with tempfile.TemporaryDirectory() as tmp:
        pristine = Path(tmp) / "pristine"
        pristine.mkdir()
        refs = build_pristine(pristine)
        box = Sandbox(pristine, refs, sqlite_dump(pristine / DB))
        start = time.monotonic()
        found = survey(box, examples, tree)
        print(f"{examples} runs in {time.monotonic() - start:.0f} s; {len(found)} failure classes")
        for key, outcomes in sorted(found.items()):
            shortest = min(outcomes, key=lambda o: len(" ".join(o.argv)))
            argv = " ".join(shlex_quote(a) for a in shortest.argv)
            print(
                f"\n[{len(outcomes)}x] {key}\n  coopledger {argv[:400]}"
                f"\n  env passphrase={shortest.invocation.passphrase!r}"
                f"\n  -> exit {shortest.code} {shortest.crash} {first_line(shortest.err)!r}"
            )


def shlex_quote(a: str) -> str:
    """A shell word for a value; a Python literal for one a shell line cannot show plainly."""
    import shlex

    if len(a) > 200 and a == a[0] * len(a):
        return f"$(python3 -c 'print({a[0]!r} * {len(a)}, end=\"\")')"
    return shlex.quote(a) if a.isprintable() else f"<py {a!r}>"


if __name__ == "__main__":
    main()
