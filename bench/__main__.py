"""`python -m bench [--quick]`: measure coop-ledger against the raw limits of this machine.

Prints one table (and writes it to bench/out/results.md) with every figure of issue 7 from
one run, each next to its target ratio and PASS or GAP. Ledgers are built through the
library and cached under bench/out/ (gitignored); the first full run builds the
1,000,000-entry ledger, later runs reuse it. --quick uses small sizes, for development.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PASSPHRASE = "bench"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Row:
    section: str
    what: str
    value: float
    unit: str
    target: str = ""
    ratio: float | None = None
    ok: bool | None = None
    note: str = ""


ROWS: list[Row] = []
SKIPPED: dict[str, str] = {}  # workload parts a domain module refused while building
NOTES: list[str] = []


def row(section: str, what: str, value: float, unit: str, **kw: object) -> Row:
    r = Row(section, what, value, unit, **kw)  # type: ignore[arg-type]
    ROWS.append(r)
    print(
        f"  {what}: {fmt(value)} {unit}" + (f"  [{r.target}: {verdict(r)}]" if r.target else ""),
        flush=True,
    )
    return r


def target(
    section: str, what: str, value: float, unit: str, ratio: float, goal: str, ok: bool
) -> Row:
    return row(section, what, value, unit, target=goal, ratio=ratio, ok=ok)


def fmt(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def verdict(r: Row) -> str:
    if r.ok is None:
        return ""
    return "PASS" if r.ok else "GAP"


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e["COOPLEDGER_PASSPHRASE"] = PASSPHRASE
    e.pop("COOPLEDGER_LOG_STATE", None)  # the bench's log key keeps its memory beside it
    return e


# -- 1. raw limits ---------------------------------------------------------------------------------


def raw_limits(sample_leaf: bytes) -> dict[str, float]:
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    message = os.urandom(400)
    n = 3000
    sig = key.sign(message)
    sign_s = median_time(lambda: [key.sign(message) for _ in range(n)], 3) / n
    verify_s = median_time(lambda: [pub.verify(sig, message) for _ in range(n)], 3) / n
    leaf = b"\x00" + sample_leaf
    m = 100_000
    sha_s = median_time(lambda: [hashlib.sha256(leaf).digest() for _ in range(m)], 3) / m
    out = {"sign": 1 / sign_s, "verify": 1 / verify_s, "sha": 1 / sha_s}
    out["verify2"] = parallel_verify_rate(2, 3000)
    row("1 raw", "Ed25519 sign (cryptography, 400-byte message)", out["sign"], "/s")
    row("1 raw", "Ed25519 verify (400-byte message)", out["verify"], "/s")
    row(
        "1 raw",
        "Ed25519 verify, 2 processes at once (what the machine gives now)",
        out["verify2"],
        "/s",
        note=f"{out['verify2'] / out['verify']:.2f} x 1 process",
    )
    row("1 raw", f"SHA-256 of a typical leaf ({len(sample_leaf)} bytes)", out["sha"], "/s")
    return out


def _verify_many(n: int) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    message = os.urandom(400)
    sig = key.sign(message)
    for _ in range(n):
        pub.verify(sig, message)
    return n


def parallel_verify_rate(processes: int, n: int) -> float:
    """Raw verifications a second with `processes` processes at once: on a shared machine the
    second core is not always free, and the 2-process targets can only be read against this."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_verify_many, [10] * processes)
        t = time.perf_counter()
        pool.map(_verify_many, [n] * processes)
        return processes * n / (time.perf_counter() - t)


def cli_modules(db: Path, keys: Path) -> list[str]:
    """The modules one `coopledger member admit` imports (run in-process, dry: a new id)."""
    script = (
        "import sys, runpy\n"
        "before = set(sys.modules)\n"
        "from cli.main import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "mods = sorted(m for m in set(sys.modules) - before if not m.startswith('__'))\n"
        "sys.stderr.write('\\n'.join(mods))\n"
    )
    args = admit_args(db, keys, f"M-probe-{time.time_ns()}")
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return [m for m in proc.stderr.splitlines() if m and " " not in m and m.isascii()]


def import_floor(modules: list[str]) -> tuple[float, float]:
    """(python -c pass, python -c 'import <exactly the CLI's modules>'), median seconds."""
    stmt = (
        "import importlib\n"
        f"for m in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except Exception:\n"
        "        pass\n"
    )

    def run(code: str) -> None:
        subprocess.run([sys.executable, "-c", code], env=env(), check=True)

    run(stmt)
    bare = median_time(lambda: run("pass"), 7)
    floor = median_time(lambda: run(stmt), 7)
    return bare, floor


# -- ledgers ----------------------------------------------------------------------------------------


def ledger_paths(size: int) -> dict[str, Path]:
    base = OUT / f"ledger-{size}"
    return {
        "dir": base,
        "db": base / "ledger.db",
        "keys": base / "keys",
        "bundle": base / "bundle",
        "meta": base / "meta.json",
    }


def build_ledger(size: int, batch: int = 1000) -> dict[str, object]:
    """Build (or reuse) a SQLite ledger of `size` realistic entries, its key files and bundle."""
    from bench.workload import build, found, make_signers
    from ledger.export.bundle import export_bundle
    from ledger.keys import write_key_file
    from ledger.storage.store import Store

    paths = ledger_paths(size)
    if paths["meta"].exists():
        meta = json.loads(paths["meta"].read_text())
        print(f"  reusing the {size:,}-entry ledger in {paths['dir']}", flush=True)
        return meta
    if paths["dir"].exists():
        shutil.rmtree(paths["dir"])
    paths["keys"].mkdir(parents=True)
    signers = make_signers()
    for label, signer in signers.items():
        write_key_file(paths["keys"] / f"{label}.key", signer, PASSPHRASE.encode())
    store = Store(str(paths["db"]), create=True)
    store.create_schema()
    ledger = found(store, signers)
    skipped: dict[str, str] = {}
    print(f"  building a {size:,}-entry ledger (once; cached in {paths['dir']})", flush=True)
    t = time.perf_counter()
    built = build(ledger, signers, size, batch=batch, progress=True, skipped=skipped)
    seconds = time.perf_counter() - t
    with store.reading() as tx:
        export_bundle(tx, paths["bundle"])
        kinds = tx.count_kinds()
    store.dispose()
    meta = {
        "size": built,
        "vkey": signers["log"].vkey,
        "skipped": skipped,
        "kinds": kinds,
        "build_seconds": seconds,
    }
    paths["meta"].write_text(json.dumps(meta, indent=2))
    return meta


def admit_args(db: Path, keys: Path, member_id: str) -> list[str]:
    return [
        "member",
        "admit",
        "--id",
        member_id,
        "--kind",
        "person",
        "--name",
        "Bench Lid",
        "--date",
        "2031-01-01",
        "--db",
        str(db),
        "--key",
        str(keys / "coop-admin.key"),
        "--log-key",
        str(keys / "log.key"),
    ]


def remember_latest(paths: dict[str, Path]) -> None:
    """The bench builds its ledgers through the library, which keeps no memory for the log key,
    and the CLI's log key signs nothing without one (decision 0015): give the key file the
    memory of the last checkpoint, as `coopledger log adopt` would after verifying the whole
    log (skipped here: the bench signed every one of these checkpoints itself)."""
    from ledger.keys import read_key_file
    from ledger.log_memory import LogMemory
    from ledger.storage.store import Store

    memory = LogMemory.beside(paths["keys"] / "log.key", env={})
    if memory.exists():
        return
    store = Store(str(paths["db"]))
    try:
        with store.reading() as tx:
            latest = tx.checkpoint()
    finally:
        store.dispose()
    assert latest is not None
    memory.save(latest[2], read_key_file(paths["keys"] / "log.key", PASSPHRASE.encode()))


def cli_transaction(size: int, runs: int) -> float:
    """Median wall time of `coopledger member admit` (process start to exit)."""
    paths = ledger_paths(size)
    remember_latest(paths)
    coopledger = shutil.which("coopledger")
    cmd = [coopledger] if coopledger else [sys.executable, "-m", "cli.main"]
    tag = f"{os.getpid()}-{time.time_ns()}"
    times = []
    for i in range(runs):
        args = admit_args(paths["db"], paths["keys"], f"M-cli-{tag}-{i}")
        t = time.perf_counter()
        proc = subprocess.run([*cmd, *args], env=env(), capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise RuntimeError(f"coopledger member admit failed: {proc.stderr.strip()}")
    return statistics.median(times)


# -- 2. batch append --------------------------------------------------------------------------------


def append_workload(store: Store, n: int) -> tuple[int, float, float]:
    """Found a ledger in an empty store and append `n` workload entries to it: (size,
    entries/s inside Ledger.append, entries/s with the workload's making of commands)."""
    from bench.workload import build, found, make_signers

    store.create_schema()
    signers = make_signers()
    ledger = found(store, signers)
    with store.reading() as tx:
        start = tx.head()[0]
    t = time.perf_counter()
    inside = [0.0]
    size = build(
        ledger,
        signers,
        start + n,
        batch=1000,
        skipped=dict(SKIPPED),
        probe=False,
        in_append=inside,
    )
    seconds = time.perf_counter() - t
    return size, (size - start) / inside[0], (size - start) / seconds


def batch_append_sqlite(n: int) -> tuple[float, float]:
    """(entries/s in Ledger.append, entries/s with the workload's making of commands)."""
    from ledger.storage.store import Store

    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        store = Store(str(Path(tmp) / "append.db"), create=True)
        _, rate, whole = append_workload(store, n)
        store.dispose()
    return rate, whole


def batch_append_pg(n: int) -> tuple[float, float] | None:
    """(entries/s in Ledger.append, bytes per entry) on a fresh PostgreSQL database, dropped
    afterwards."""
    import psycopg

    from ledger.storage.store import Store

    url = os.environ.get("COOPLEDGER_TEST_PG_URL", DEFAULT_PG)
    name = f"coopledger_bench_{os.getpid()}"
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except Exception as e:
        NOTES.append(
            f"PostgreSQL at {url} not reachable ({type(e).__name__}): batch append on PostgreSQL skipped."
        )
        return None
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        db_url = url.rsplit("/", 1)[0] + "/" + name
        store = Store(db_url, create=True)
        size, rate, _ = append_workload(store, n)
        store.dispose()
        with psycopg.connect(db_url) as conn:
            row_ = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            assert row_ is not None
            db_bytes = float(row_[0])
        return rate, db_bytes / size
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# -- 4. offline verification -----------------------------------------------------------------------

VERIFY_SCRIPT = """
import base64, json, resource, sys, time
from pathlib import Path
from ledger.verify.bundle import verify_bundle
from ledger.note import parse_verifier_key
trusted = parse_verifier_key(sys.argv[2])
t = time.perf_counter()
report = verify_bundle(Path(sys.argv[1]), trusted, workers=int(sys.argv[3]))
seconds = time.perf_counter() - t
print(json.dumps({"ok": report.ok, "entries": report.entries, "seconds": seconds,
                  "findings": len(report.findings),
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def verify_run(size: int, vkey: str, workers: int) -> dict[str, float]:
    paths = ledger_paths(size)
    proc = subprocess.run(
        [sys.executable, "-c", VERIFY_SCRIPT, str(paths["bundle"]), vkey, str(workers)],
        env=env(),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise RuntimeError(f"the bench bundle did not verify: {result}")
    return result


# -- 5. proofs --------------------------------------------------------------------------------------


def proof_times(size: int) -> tuple[float, float]:
    """Median seconds of an inclusion proof (leaf size/3 at tree size size/2) and of a
    consistency proof (size/3 -> size/2), each in its own read transaction, as a command would."""
    from ledger import merkle
    from ledger.storage.store import Store

    store = Store(str(ledger_paths(size)["db"]))
    old, index = size // 2, size // 3

    def inclusion() -> None:
        with store.reading() as tx:
            merkle.inclusion_proof(index, old, tx.get_nodes)

    def consistency() -> None:
        with store.reading() as tx:
            merkle.consistency_proof(index, old, tx.get_nodes)

    inclusion()
    consistency()
    result = median_time(inclusion, 31), median_time(consistency, 31)
    store.dispose()
    return result


# -- 6. beancount -----------------------------------------------------------------------------------


def beancount_journal(size: int, limit: int, path: Path) -> int:
    """The ledger's share sales, buy-backs and fund deposits as a beancount journal, with
    their postings; returns the number of transactions."""
    from ledger.encoding import loads
    from ledger.storage.store import Store

    store = Store(str(ledger_paths(size)["db"]))
    kinds = ("share.sold", "share.bought-back", "fund.deposited")
    accounts: set[str] = set()
    lines: list[str] = []
    count = 0
    with store.reading() as tx:
        for _seq, data in tx.entries(0, None, kinds=kinds):
            entry = loads(data)["entry"]
            body = entry["body"]
            lines.append(f'{entry["effective"]} * "{entry["kind"]}" "entry {entry["seq"]}"')
            for p in body["postings"]:
                account = bean_account(p["account"])
                accounts.add(account)
                cents = p["amount_cents"]
                lines.append(
                    f"  {account}  {cents // 100 if cents >= 0 else -((-cents) // 100)}.{abs(cents) % 100:02d} EUR"
                )
            lines.append("")
            count += 1
            if count >= limit:
                break
    store.dispose()
    head = ['option "operating_currency" "EUR"', ""]
    head += [f"2000-01-01 open {a} EUR" for a in sorted(accounts)]
    path.write_text("\n".join([*head, "", *lines]) + "\n")
    return count


def bean_account(account: str) -> str:
    parts = account.replace("_", "-").replace(".", "-").split(":")
    root = {"fund": "Assets", "member": "Liabilities", "external": "Income"}.get(parts[0], "Equity")
    tail = [p[:1].upper() + p[1:] for p in [parts[0], *parts[1:]]]
    return ":".join([root, *(t if t[:1].isalpha() else "X" + t for t in tail)])


def beancount_rate(path: Path, count: int) -> float:
    script = (
        "import sys, time\n"
        "from beancount import loader\n"
        "t = time.perf_counter()\n"
        "entries, errors, options = loader.load_file(sys.argv[1])\n"
        "dt = time.perf_counter() - t\n"
        "print(dt, len(errors))\n"
    )
    # beancount caches a loaded file in a pickle beside it: load a fresh copy each time.
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            copy = Path(tmp) / "shares.beancount"
            shutil.copy(path, copy)
            proc = subprocess.run(
                [sys.executable, "-c", script, str(copy)],
                capture_output=True,
                text=True,
                check=True,
            )
            seconds, errors = proc.stdout.split()
            if int(errors):
                raise RuntimeError(f"beancount reported {errors} errors on the bench journal")
            times.append(float(seconds))
    return count / statistics.median(times)


# -- the run ----------------------------------------------------------------------------------------


def machine() -> list[str]:
    import importlib.metadata as md

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    versions = []
    for pkg in (
        "cryptography",
        "pydantic",
        "sqlalchemy",
        "sqlmodel",
        "orjson",
        "click",
        "psycopg",
        "beancount",
    ):
        try:
            versions.append(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    sqlite = __import__("sqlite3").sqlite_version
    return [
        f"nproc {os.cpu_count()}; CPU {cpu}; memory {mem}; load average at start {os.getloadavg()[0]:.2f}",
        f"Python {platform.python_version()} ({platform.platform()}); SQLite {sqlite}",
        "; ".join(versions),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--runs", type=int, default=7, help="CLI runs per ledger size (median)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    small, large = (1_000, 20_000) if args.quick else (1_000, 1_000_000)
    append_n = 3_000 if args.quick else 30_000
    bean_n = 2_000 if args.quick else 50_000
    started = time.time()
    info = machine()
    print("\n".join(info), flush=True)

    print("ledgers", flush=True)
    meta_small = build_ledger(small)
    meta_large = build_ledger(large)
    for part, why in {**meta_small["skipped"], **meta_large["skipped"]}.items():  # type: ignore[dict-item]
        SKIPPED[part] = why
        NOTES.append(f"workload part '{part}' left out: its module refused it ({why}).")
    kinds = meta_large["kinds"]
    NOTES.append(
        f"{large:,}-entry ledger: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))  # type: ignore[union-attr]
    )

    print("1. raw limits", flush=True)
    from ledger.storage.store import Store

    store = Store(str(ledger_paths(small)["db"]))
    with store.reading() as tx:
        sample = next(data for _seq, data in tx.entries(0, None, kinds=["share.sold"]))
    store.dispose()
    raw = raw_limits(sample)
    modules = cli_modules(ledger_paths(small)["db"], ledger_paths(small)["keys"])
    bare, floor = import_floor(modules)
    row("1 raw", "python -c pass", bare * 1000, "ms")
    row(
        "1 raw",
        f"import floor: python -c 'import <the {len(modules)} modules member admit loads>'",
        floor * 1000,
        "ms",
    )
    heavy = sorted({m.split(".")[0] for m in modules} - set(sys.stdlib_module_names))
    NOTES.append("third-party and project packages `member admit` imports: " + ", ".join(heavy))

    print("2. batch append", flush=True)
    rate, whole = batch_append_sqlite(append_n)
    NOTES.append(
        f"Batch append rates are entries over the time spent inside Ledger.append; with the "
        f"bench's own making of the commands (names, ids, dates) counted too, SQLite did "
        f"{whole:,.0f} entries/s."
    )
    target(
        "2 append",
        f"batch append, SQLite ({append_n:,} entries, 1,000 a transaction, time in Ledger.append)",
        rate,
        "entries/s",
        rate / raw["sign"],
        ">= 0.50 x raw sign",
        rate >= 0.5 * raw["sign"],
    )
    pg = batch_append_pg(max(1_000, append_n // 3))
    if pg is not None:
        row(
            "2 append",
            f"batch append, PostgreSQL ({max(1_000, append_n // 3):,} entries)",
            pg[0],
            "entries/s",
            note=f"{pg[0] / raw['sign']:.2f} x raw sign",
        )

    print("3. one CLI transaction", flush=True)
    t_small = cli_transaction(small, args.runs)
    t_large = cli_transaction(large, args.runs)
    target(
        "3 cli",
        f"member admit on {small:,} entries (median of {args.runs})",
        t_small * 1000,
        "ms",
        t_small / floor,
        "<= 2 x import floor",
        t_small <= 2 * floor,
    )
    target(
        "3 cli",
        f"member admit on {large:,} entries (median of {args.runs})",
        t_large * 1000,
        "ms",
        t_large / t_small,
        f"<= 1.2 x the {small:,}-entry time",
        t_large <= 1.2 * t_small,
    )

    print("4. offline verification", flush=True)
    vkey = str(meta_large["vkey"])
    one = verify_run(large, vkey, 1)
    two = verify_run(large, vkey, 2)
    r1 = one["entries"] / one["seconds"]
    r2 = two["entries"] / two["seconds"]
    target(
        "4 verify",
        f"verify bundle of {int(one['entries']):,}, 1 process",
        r1,
        "entries/s",
        r1 / raw["verify"],
        ">= 0.75 x raw verify",
        r1 >= 0.75 * raw["verify"],
    )
    target(
        "4 verify",
        f"verify bundle of {int(two['entries']):,}, 2 worker processes",
        r2,
        "entries/s",
        r2 / r1,
        ">= 1.7 x 1 process",
        r2 >= 1.7 * r1,
    )
    peak = max(one["maxrss_kb"], two["maxrss_kb"]) / 1024
    target(
        "4 verify",
        f"peak memory verifying {int(one['entries']):,} (ru_maxrss)",
        peak,
        "MB",
        peak / 300,
        "< 300 MB",
        peak < 300,
    )

    print("5. proofs", flush=True)
    inc_s, con_s = proof_times(small)
    inc_l, con_l = proof_times(large)
    row("5 proofs", f"inclusion proof, leaf {small // 3} at size {small // 2}", inc_s * 1000, "ms")
    target(
        "5 proofs",
        f"inclusion proof, leaf {large // 3:,} at size {large // 2:,}",
        inc_l * 1000,
        "ms",
        inc_l / inc_s,
        f"<= 3 x at {small:,}",
        inc_l <= 3 * inc_s,
    )
    row("5 proofs", f"consistency proof {small // 3} -> {small // 2}", con_s * 1000, "ms")
    target(
        "5 proofs",
        f"consistency proof {large // 3:,} -> {large // 2:,}",
        con_l * 1000,
        "ms",
        con_l / con_s,
        f"<= 3 x at {small:,}",
        con_l <= 3 * con_s,
    )

    print("6. beancount", flush=True)
    journal = OUT / f"shares-{large}.beancount"
    count = beancount_journal(large, bean_n, journal)
    bean = beancount_rate(journal, count)
    row(
        "6 beancount",
        f"beancount {beancount_version()} load_file, {count:,} share transactions",
        bean,
        "tx/s",
    )
    target(
        "6 beancount",
        "our verification, 1 process, vs beancount",
        r1,
        "entries/s",
        r1 / bean,
        ">= 1.5 x beancount",
        r1 >= 1.5 * bean,
    )
    target(
        "6 beancount",
        "our verification, 2 processes, vs beancount",
        r2,
        "entries/s",
        r2 / bean,
        ">= 2.5 x beancount",
        r2 >= 2.5 * bean,
    )

    print("7. database size", flush=True)
    db = ledger_paths(large)["db"]
    size_bytes = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    entries = int(meta_large["size"])  # type: ignore[call-overload]
    row("7 size", f"SQLite bytes per entry ({entries:,} entries)", size_bytes / entries, "bytes")
    bundle_bytes = (ledger_paths(large)["bundle"] / "entries.jsonl").stat().st_size
    row("7 size", "leaf bytes per entry (bundle entries.jsonl)", bundle_bytes / entries, "bytes")
    if pg is not None:
        row("7 size", "PostgreSQL bytes per entry (pg_database_size, small ledger)", pg[1], "bytes")

    elapsed = time.time() - started
    text = render(info, elapsed, args.quick)
    print()
    print(text)
    (OUT / ("results-quick.md" if args.quick else "results.md")).write_text(text)
    return 0


def beancount_version() -> str:
    import importlib.metadata as md

    try:
        return md.version("beancount")
    except md.PackageNotFoundError:
        return "?"


def render(info: list[str], elapsed: float, quick: bool) -> str:
    lines = [
        f"coop-ledger bench ({'--quick' if quick else 'full'}), {time.strftime('%Y-%m-%d %H:%M')}, "
        f"wall time {elapsed / 60:.1f} min",
        "",
        *[f"- {line}" for line in info],
        "",
        "| # | measure | value | unit | target | ratio | result |",
        "|---|---|---:|---|---|---:|---|",
    ]
    for r in ROWS:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(
            f"| {r.section} | {r.what} | {fmt(r.value)} | {r.unit} | {r.target or r.note} | {ratio} | {verdict(r)} |"
        )
    if NOTES:
        lines += ["", *[f"- {n}" for n in NOTES]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
