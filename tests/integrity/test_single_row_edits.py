"""Single-row edits of a demo database: verify reports them, the writer refuses them, or they change nothing.

An insider who can write the SQLite file edits one row of one table (any table the database
has, any column, read from the file itself, so columns added by later schema versions are
edited too). Then one of three things must hold:

(a) `coopledger verify` (with `--log-key` once it has that option) reports a finding, exit 1;
(b) the next writing commands, run in order, behave exactly as on the unedited copy until one
    of them refuses: exit 1, one line on stderr, the database unchanged by that command;
(c) every writing command behaves exactly as on the unedited copy, `verify` still passes, and
    what is signed, exported or shown is byte-identical: the new entries' leaf bytes and the
    commands' output, a fresh `bundle export`, `gem export` of the demo's periods (2032-Q1,
    2032-Q2), the JSON of `member list`, `member show` (every member) and `fund show`, the
    inclusion receipt of every entry and the consistency proof from every signed size.

The CLI runs in process with a fixed clock (each step of the script reads one fixed moment)
and seeded randomness (the salts of personal data), and Ed25519 signatures are deterministic,
so an unaffected run is byte-identical.
An edit of a signed or authenticated column must never land in (c).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, note, reject, settings
from hypothesis import strategies as st

from ledger.demo import DEMO_PASSPHRASE, build_demo
from ledger.encoding import canonical
from ledger.service import Ledger
from tests.support import CliResult, CliRunner

EXAMPLES = int(os.environ.get("COOPLEDGER_EDIT_EXAMPLES", "30"))
PERIODS = ("2032-Q1", "2032-Q2")
STEP_START = datetime(2034, 10, 1, 12, tzinfo=UTC)
DB, KEYS = "ledger.db", "keys"

# Columns whose bytes are signed, or authenticated with a key the insider does not hold
# (the authenticated ones only count once the schema has them; see `protected_columns`).
SIGNED = {("entries", "data")}
AUTHENTICATED = {
    ("projection", "value"),
    ("projection", "bucket"),
    ("state_nodes", "children"),
    ("state_namespaces", "digest"),
    ("state_namespaces", "count"),
    ("head", "state_digest"),
    ("head", "mac"),
}


@dataclass(frozen=True)
class Step:
    """One writing command of the script: its arguments and the role whose key signs it."""

    args: tuple[str, ...]
    role: str


@dataclass
class Table:
    name: str
    columns: list[str]
    nullable: set[str]
    pk: list[str]
    rows: list[tuple[Any, ...]]
    rowids: list[int]


@dataclass(repr=False)
class World:
    """The demo built once (its database and key files in `home`), the script, and what the
    unedited copy did. Every run works on a copy of `home`: the log key may keep state beside
    its file, and that state must match the database it is used with."""

    root: Path
    home: Path
    verify_log_key: bool
    script: list[Step] = field(default_factory=list)
    tables: dict[str, Table] = field(default_factory=dict)
    plausible_keys: list[str] = field(default_factory=list)
    protected: set[tuple[str, str]] = field(default_factory=set)
    reference: Run | None = None

    def __repr__(self) -> str:
        return f"World({self.home})"

    def copy(self, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.home / DB, dest / DB)
        shutil.copytree(self.home / KEYS, dest / KEYS)
        return dest

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


# -- running the CLI in process, with a fixed clock ---------------------------------------------


@contextmanager
def fixed_moment(moment: datetime) -> Iterator[None]:
    """Every Ledger the CLI builds reads this one moment (the CLI has no clock option), and
    fresh randomness (a member's salt) comes from a generator seeded by the moment."""
    original = Ledger.__init__
    stream = hashlib.shake_256(moment.isoformat().encode())
    drawn = 0

    def init(self: Ledger, store: Any, *args: Any, **kwargs: Any) -> None:
        if not args:
            kwargs.setdefault("clock", lambda: moment)
        original(self, store, *args, **kwargs)

    def urandom(n: int | None = None) -> bytes:
        nonlocal drawn
        n = 32 if n is None else n
        drawn += n
        return stream.digest(drawn)[-n:]

    with (
        mock.patch.object(Ledger, "__init__", init),
        mock.patch("os.urandom", urandom),
        mock.patch("secrets.token_bytes", urandom),
    ):
        yield


def runner(world: World, here: Path) -> CliRunner:
    return CliRunner(
        world.root,
        {
            "COOPLEDGER_DB": str(here / DB),
            "COOPLEDGER_LOG_KEY": str(here / KEYS / "log.key"),
            "COOPLEDGER_PASSPHRASE": DEMO_PASSPHRASE,
        },
    )


def run_step(world: World, here: Path, i: int, step: Step) -> CliResult:
    cli = runner(world, here)
    with fixed_moment(STEP_START + timedelta(minutes=i)):
        return cli(*step.args, "--key", str(here / KEYS / f"{step.role}.key"))


def verify(world: World, here: Path) -> CliResult:
    extra = ("--log-key", str(here / KEYS / "log.key")) if world.verify_log_key else ()
    return runner(world, here)("verify", *extra)


def dump(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def shown(world: World, here: Path) -> dict[str, bytes]:
    """Everything signed, exported or shown after the script: files and JSON reports."""
    cli = runner(world, here)
    out = here / "out"
    result: dict[str, bytes] = {}
    cli.ok("bundle", "export", str(out / "bundle"))
    for period in PERIODS:
        cli.ok("gem", "export", "--period", period, "--out", str(out / period))
    for path in sorted(out.rglob("*")):
        if path.is_file():
            result[str(path.relative_to(out))] = path.read_bytes()
    members = json.loads(cli.ok("member", "list", "--json").out)
    result["member list"] = json.dumps(members).encode()
    for row in members:
        mid = row["id"] if isinstance(row, dict) and "id" in row else row["member_id"]
        result[f"member show {mid}"] = cli.ok("member", "show", mid, "--json").out.encode()
    result["fund show"] = cli.ok("fund", "show", "--json").out.encode()
    result.update(proofs(here / DB))
    return result


def proofs(db: Path) -> dict[str, bytes]:
    """What `proof inclusion` hands a member for every entry, and `proof consistency` an
    auditor from every signed size, at the latest checkpoint (a failure is shown as such)."""
    from ledger.errors import LedgerError
    from ledger.storage.store import Store
    from ledger.transparency import consistency, inclusion_receipt

    out: dict[str, bytes] = {}
    store = Store(str(db))
    try:
        with store.reading() as tx:
            size = tx.head()[0]
            sizes = [s for s, _, _ in tx.checkpoints()]
            for seq in range(size):
                try:
                    out[f"receipt {seq}"] = inclusion_receipt(tx, seq, None).encode()
                except LedgerError as e:
                    out[f"receipt {seq}"] = f"refused: {e}".encode()
            for old in sizes:
                try:
                    out[f"consistency {old}"] = consistency(tx, old, sizes[-1]).text().encode()
                except LedgerError as e:
                    out[f"consistency {old}"] = f"refused: {e}".encode()
    finally:
        store.dispose()
    return out


@dataclass
class Run:
    """What the script did on one copy: each step's result, and what it left to be seen."""

    steps: list[CliResult]
    outcome: str  # "a", "b" or "c"
    detail: str
    shown: dict[str, bytes] | None = None


def same(a: CliResult, b: CliResult) -> bool:
    return (a.code, a.out, a.err) == (b.code, b.out, b.err)


def run_script(world: World, here: Path) -> Run:
    """Verify, then the script step by step, compared with the reference as it goes."""
    ref = world.reference
    first = verify(world, here)
    if ref is not None and first.code == 1:
        return Run([], "a", first.out.strip().splitlines()[0] if first.out.strip() else first.err)
    assert first.code == 0, f"verify exited {first.code}: {first.out}{first.err}"
    results: list[CliResult] = []
    for i, step in enumerate(world.script):
        before = dump(here / DB)
        result = run_step(world, here, i, step)
        results.append(result)
        if ref is None or same(result, ref.steps[i]):
            continue
        where = f"step {i} `{' '.join(step.args)}`"
        assert result.code in (0, 1), f"{where} exited {result.code}: {result.err.strip()}"
        assert result.code == 1, (
            f"{where} acted on the edited state: exit 0 where the unedited copy gave exit "
            f"{ref.steps[i].code}\n{result.out}{result.err}\nunedited:\n"
            f"{ref.steps[i].out}{ref.steps[i].err}"
        )
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, f"{where} refused without one line: {result.err!r}"
        assert dump(here / DB) == before, f"{where} refused but changed the database: {lines[0]}"
        return Run(results, "b", f"{where}: {lines[0]}")
    after = verify(world, here)
    assert after.code == 0, (
        "verify passed before the script and fails after it (the writer signed on top of "
        f"the edit): {after.out}{after.err}"
    )
    return Run(results, "c", "", shown(world, here))


# -- the demo world, built once -----------------------------------------------------------------


def read_tables(db: Path) -> dict[str, Table]:
    conn = sqlite3.connect(db)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        tables = {}
        for name in names:
            info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
            columns = [c[1] for c in info]
            nullable = {c[1] for c in info if not c[3] and not c[5]}
            pk = [c[1] for c in sorted((c for c in info if c[5]), key=lambda c: c[5])]
            quoted = ", ".join(f'"{c}"' for c in columns)
            data = conn.execute(f'SELECT rowid, {quoted} FROM "{name}" ORDER BY rowid').fetchall()
            tables[name] = Table(
                name, columns, nullable, pk, [r[1:] for r in data], [r[0] for r in data]
            )
        return tables
    finally:
        conn.close()


def seq_of(db: Path, kind: str, needle: str) -> int:
    conn = sqlite3.connect(db)
    try:
        for seq, data in conn.execute(
            "SELECT seq, data FROM entries WHERE kind = ? ORDER BY seq", (kind,)
        ):
            if needle in bytes(data).decode():
                return int(seq)
    finally:
        conn.close()
    raise AssertionError(f"no {kind} entry with {needle}")


def checkpoint_wal(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("edits")
    home = root / "demo"
    db, keys = home / DB, home / KEYS
    result = build_demo(str(db), keys, root / "demo.bundle", lambda _line: None)
    assert result.ok and result.bundle_ok
    cli = CliRunner(root, {"COOPLEDGER_PASSPHRASE": DEMO_PASSPHRASE})
    cli.ok("key", "new", "--name", "intruder", "--out", str(keys / "intruder.key"))
    intruder = cli.ok("key", "show", str(keys / "intruder.key"), "--vkey").out.strip()
    admit = Step(
        (
            "member", "admit", "--id", "M-9", "--kind", "person", "--name", "Test Persoon",
            "--date", "2034-10-01", "--request-id", "edit-admit",
        ),
        "coop-admin",
    )  # fmt: skip
    help_text = cli.ok("verify", "--help").out
    world = World(root, home, "--log-key" in help_text)
    assert run_step(world, home, 0, admit).code == 0
    p1 = seq_of(db, "property.sold", '"P-1"')
    world.script = [
        admit,  # the same request again: the original receipt, nothing appended
        Step(("fund", "deposit", "--amount", "100.00", "--from", "GEM", "--date", "2034-10-02",
              "--request-id", "edit-deposit"), "coop-admin"),
        Step(("index", "publish", "--series", "CPI", "--month", "2034-10", "--value", "139.5",
              "--source", "CBS", "--request-id", "edit-index"), "coop-admin"),
        Step(("share", "buy-back", "--dwelling", "D-2", "--date", "2034-10-03",
              "--request-id", "edit-buyback"), "coop-admin"),
        Step(("contribution", "run", "--month", "2032-05", "--date", "2032-05-05",
              "--request-id", "edit-run"), "levy-admin"),
        Step(("levy", "pay", "--sale", str(p1), "--amount", "1.00", "--date", "2032-06-25",
              "--ref", "bank-1"), "levy-admin"),  # refused: P-1's levy is paid in full
        Step(("key", "authorize", intruder, "--role", "governor"), "coop-admin"),  # refused
        Step(("member", "admit", "--id", "M-10", "--kind", "household", "--name", "Familie Nieuw",
              "--date", "2034-10-04", "--request-id", "edit-admit-2"), "coop-admin"),
    ]  # fmt: skip
    checkpoint_wal(db)
    world.tables = read_tables(db)
    world.plausible_keys = [
        step.args[i + 1]
        for step in world.script[1:]
        for i, arg in enumerate(step.args)
        if arg in ("--id", "--request-id")
    ]
    world.protected = protected_columns(world.tables)
    world.reference = run_script(world, world.copy(root / "reference"))
    return world


def protected_columns(tables: dict[str, Table]) -> set[tuple[str, str]]:
    """entries.data always; the projection, the state commitment and the head's root and MAC
    once the schema authenticates them (schema 3)."""
    out = set(SIGNED)
    if "state_nodes" in tables:
        out |= {(t, c) for t, c in AUTHENTICATED if t in tables and c in tables[t].columns}
    return out


# -- the edits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    table: str
    kind: str  # set, delete, insert
    rowid: int
    column: str | None = None
    value: Any = None
    row: tuple[Any, ...] | None = None
    how: str = ""

    def describe(self) -> str:
        return f"{self.table}.{self.column or '*'} {self.kind} ({self.how})"


def shifted_text(text: str, delta: int) -> str | None:
    """A plausible neighbour of a text value: a date a day away, a number one away."""
    try:
        return (date.fromisoformat(text) + timedelta(days=delta)).isoformat()
    except ValueError:
        pass
    if len(text) >= 10 and text[4] == "-":
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return (moment + timedelta(seconds=delta)).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            pass
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if digits:
        i = digits[-1]
        return text[:i] + str((int(text[i]) + delta) % 10) + text[i + 1 :]
    return text + "x" if text else "x"


def leaves(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(doc, dict) and doc:
        for k, v in doc.items():
            yield from leaves(v, (*path, k))
    elif isinstance(doc, list) and doc and not all(isinstance(x, str) for x in doc):
        for i, v in enumerate(doc):
            yield from leaves(v, (*path, i))
    else:
        yield path, doc


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = dict(doc) if isinstance(doc, dict) else list(doc)
    out[path[0]] = replaced(doc[path[0]], path[1:], value)
    return out


def json_doc(value: Any) -> Any:
    if not isinstance(value, bytes | str):
        return None
    try:
        doc = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


@st.composite
def json_leaf_edit(draw: st.DrawFn, table: Table, column: str, value: Any) -> tuple[Any, str]:
    """Change one leaf of a JSON record to a plausible value: one seen at the same key in
    another row, a neighbour of it, or a tenfold (the "25,000 for 250,000" edit)."""
    doc = json_doc(value)
    paths = list(leaves(doc))
    path, old = draw(st.sampled_from(paths), label="leaf")
    seen = []
    for row in table.rows:
        other = json_doc(row[table.columns.index(column)])
        for p, v in leaves(other) if other is not None else ():
            if p and path and p[-1] == path[-1] and v != old and v not in seen:
                seen.append(v)
    options: list[Any] = seen[:20]
    if isinstance(old, bool):
        options.append(not old)
    elif isinstance(old, int):
        options += [old + 1, old - 1, old * 10, old // 10]
    elif isinstance(old, str):
        options += [x for x in (shifted_text(old, 1), shifted_text(old, -1)) if x is not None]
    elif isinstance(old, list):
        options += [[*old, "governor"], old[:-1]]
    options.append(None)
    new = draw(st.sampled_from([o for o in options if o != old] or [None]), label="new leaf")
    encoded = canonical(replaced(doc, path, new))
    label = f"json {'/'.join(map(str, path))}: {old!r} -> {new!r}"
    return (encoded if isinstance(value, bytes) else encoded.decode()), label


@st.composite
def new_value(draw: st.DrawFn, table: Table, column: str, old: Any) -> tuple[Any, str]:
    col = table.columns.index(column)
    others = sorted({r[col] for r in table.rows if r[col] is not None and r[col] != old}, key=repr)[
        :30
    ]
    choices = ["other row's value"] if others else []
    if column in table.nullable and old is not None:
        choices.append("null")
    if isinstance(old, bytes):
        choices += ["flip a byte", "zero"]
        if json_doc(old) is not None:
            choices += ["json leaf"] * 3
    elif isinstance(old, str):
        choices.append("neighbour")
        if json_doc(old) is not None:
            choices += ["json leaf"] * 3
    elif isinstance(old, int):
        choices += ["plus one", "minus one"]
    how = draw(st.sampled_from(choices), label="how")
    if how == "other row's value":
        return draw(st.sampled_from(others)), how
    if how == "null":
        return None, how
    if how == "flip a byte":
        pos = draw(st.integers(0, len(old) - 1))
        bit = draw(st.integers(0, 7))
        raw = bytearray(old)
        raw[pos] ^= 1 << bit
        return bytes(raw), f"flip bit {bit} of byte {pos}"
    if how == "zero":
        return bytes(len(old)), how
    if how == "json leaf":
        return draw(json_leaf_edit(table, column, old))
    if how == "neighbour":
        return shifted_text(old, draw(st.sampled_from([1, -1]))), how
    return old + (1 if how == "plus one" else -1), how


def fresh_key(
    table: Table, row: tuple[Any, ...], plausible: list[str], pick: int
) -> tuple[Any, ...] | None:
    """The row with a primary key no other row has: the next integer, or a plausible text."""
    out = list(row)
    taken = {tuple(r[table.columns.index(c)] for c in table.pk) for r in table.rows}
    if not table.pk:
        return tuple(out)
    col = table.pk[-1]
    i = table.columns.index(col)
    if isinstance(row[i], int):
        same_prefix = [r[i] for r in table.rows if r[:i] == row[:i]]
        out[i] = max(same_prefix) + 1
    else:
        candidates = [*plausible, f"{row[i]}-x"]
        out[i] = candidates[pick % len(candidates)]
    if tuple(out[table.columns.index(c)] for c in table.pk) in taken:
        return None
    return tuple(out)


@st.composite
def edits(draw: st.DrawFn, world: World) -> Edit:
    table = world.tables[
        draw(st.sampled_from([t for t, v in world.tables.items() if v.rows]), label="table")
    ]
    index = draw(st.integers(0, len(table.rows) - 1), label="row")
    row, rowid = table.rows[index], table.rowids[index]
    kind = draw(st.sampled_from(["set", "set", "set", "set", "delete", "insert"]), label="kind")
    if kind == "delete":
        return Edit(table.name, "delete", rowid, how=f"row {index}")
    if kind == "insert":
        pick = draw(st.integers(0, len(world.plausible_keys)))
        new = fresh_key(table, row, world.plausible_keys, pick)
        if new is None:
            return Edit(table.name, "delete", rowid, how=f"row {index}")
        return Edit(table.name, "insert", rowid, row=new, how=f"copy of row {index}")
    column = draw(st.sampled_from(table.columns), label="column")
    old = row[table.columns.index(column)]
    value, how = draw(new_value(table, column, old))
    if value == old:
        return Edit(table.name, "delete", rowid, how=f"row {index}")
    return Edit(table.name, "set", rowid, column, value, how=f"row {index}: {how}")


def apply_edit(db: Path, table: Table, edit: Edit) -> None:
    """As an insider with sqlite3 would: drop the table's triggers, edit, recreate them."""
    conn = sqlite3.connect(db)
    try:
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
            (table.name,),
        ).fetchall()
        for name, _ in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        if edit.kind == "delete":
            conn.execute(f'DELETE FROM "{table.name}" WHERE rowid = ?', (edit.rowid,))
        elif edit.kind == "insert":
            assert edit.row is not None
            cols = ", ".join(f'"{c}"' for c in table.columns)
            marks = ", ".join("?" for _ in table.columns)
            conn.execute(f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})', edit.row)
        else:
            conn.execute(
                f'UPDATE "{table.name}" SET "{edit.column}" = ? WHERE rowid = ?',
                (edit.value, edit.rowid),
            )
        for _, sql in triggers:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


# -- the property --------------------------------------------------------------------------------


def test_the_unedited_copy_runs_the_script(world: World) -> None:
    ref = world.reference
    assert ref is not None
    codes = [r.code for r in ref.steps]
    assert ref.outcome == "c" and codes == [0, 0, 0, 0, 0, 1, 1, 0], f"{codes}\n" + "\n".join(
        r.out + r.err for r in ref.steps
    )
    assert "(request already processed" in ref.steps[0].out


def edit_outcome(world: World, edit: Edit, work: Path) -> tuple[str, str]:
    """Copy the demo, apply the edit, run the property; return the case and what decided it."""
    here = world.copy(work)
    try:
        apply_edit(here / DB, world.tables[edit.table], edit)
    except sqlite3.IntegrityError:
        reject()  # the database's own constraints refuse this edit
    run = run_script(world, here)
    if run.outcome != "c":
        return run.outcome, run.detail
    assert world.reference is not None and world.reference.shown is not None
    mine, theirs = run.shown or {}, world.reference.shown
    differing = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    assert not differing, (
        f"the edit passed verify and the writer, and changed what is exported or shown: {differing}"
    )
    return "c", ""


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_single_row_edit_is_reported_refused_or_without_effect(
    world: World, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    edit = data.draw(edits(world), label="edit")
    note(edit.describe())
    work = tmp_path_factory.mktemp("edit") / "copy"
    try:
        case, detail = edit_outcome(world, edit, work)
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)
    event(f"({case}) {edit.table}.{edit.column or '*'} {edit.kind}")
    event(f"case ({case})")
    note(f"case ({case}): {detail}")
    signed_row = edit.table == "entries" and edit.kind != "set"  # a whole signed leaf
    protected = (edit.table, edit.column) in world.protected or signed_row
    assert case != "c" or not protected, (
        f"{edit.describe()}: an edit of signed or authenticated bytes had no effect"
    )
