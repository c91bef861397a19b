"""Fuzz every command's options: exit 0/1/2 only, no traceback, one-line refusals, ledger untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.integrity.cli_fuzz import (
    DB,
    Invocation,
    Outcome,
    Sandbox,
    build_pristine,
    command_tree,
    invocations,
    judge,
    uncovered,
)
from tests.support import sqlite_dump

TREE = command_tree()
# About 40 s on 2 busy cores (0.2 s a run); COOPLEDGER_FUZZ_EXAMPLES=5000 for a thorough run.
EXAMPLES = int(os.environ.get("COOPLEDGER_FUZZ_EXAMPLES", "200"))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """The demo ledger (keys of every role and the log key, members, dwellings, index values,
    workspaces, leases, properties, levies) with the files the strategies name, built once;
    every run gets its own copy."""
    pristine = tmp_path_factory.mktemp("cli-fuzz") / "pristine"
    pristine.mkdir()
    refs = build_pristine(pristine)
    return Sandbox(pristine, refs, sqlite_dump(pristine / DB))


def test_every_command_and_option_has_a_strategy() -> None:
    assert len(TREE) > 50
    assert uncovered(TREE) == []


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # No shrinking: it reruns the CLI hundreds of times (a hang costs 5 s each); a failure is
    # reported as generated, and `python -m tests.integrity.cli_fuzz N` lists every class.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(inv=invocations(TREE))
def test_any_options_exit_0_1_2_with_one_line_refusals_and_the_ledger_untouched(
    sandbox: Sandbox, inv: Invocation
) -> None:
    outcome = sandbox.run(inv)
    assert outcome.problems() == [], (
        f"coopledger {' '.join(map(repr, outcome.argv))}\n"
        f"exit {outcome.code}\nstdout: {outcome.out[:2000]}\nstderr: {outcome.err[:2000]}"
    )


def _outcome(code: int, err: str, out: str = "", writes: bool = False) -> Outcome:
    inv = Invocation("member show", ("M-1",), "demo", writes)
    return Outcome(inv, ["member", "show", "M-1"], code, out, err)


@pytest.mark.parametrize(
    ("code", "err", "out", "fine"),
    [
        (1, "coopledger: error: unknown member M-404\n", "", True),
        (
            2,
            "Usage: coopledger member show [OPTIONS] MEMBER_ID\nTry 'coopledger member show -h' for help.\n\nError: Missing argument 'MEMBER_ID'.\n",
            "",
            True,
        ),
        (1, "", "ledger x: 3 entries: FAILED (1 findings, first at entry 2)\n", True),
        (3, "coopledger: internal error: ValueError: x\n", "", False),
        (1, "coopledger: error: a\nsecond line\n", "", False),
        (1, "", "", False),
        (1, "", '{"ok": false, "findings": []}', True),
        (1, "", '{"ok": true}', False),
        (1, "something went wrong\n", "", False),
        (1, "coopledger: error: name '\x1b[2Jx' is bad\n", "", False),
        (
            2,
            "Usage: coopledger key authorize [OPTIONS] VKEY\nTry 'coopledger key authorize --help' for help.\n\nError: Missing option '--role'. Choose from:\n\tgovernor,\n\tcoop-admin\n",
            "",
            True,
        ),
        (2, "Usage: coopledger x\n\nError: bad\n\tmore\n", "", False),
        (1, "coopledger: error: x\n", "Traceback (most recent call last):\n", False),
    ],
)
def test_the_verdict_rules(code: int, err: str, out: str, fine: bool) -> None:
    assert (judge(_outcome(code, err, out)) == []) is fine


def test_a_changed_database_on_refusal_is_caught(sandbox: Sandbox) -> None:
    outcome = _outcome(1, "coopledger: error: refused\n")
    outcome.db_changed = True
    assert any("database changed" in p for p in judge(outcome))


def test_a_blocking_run_is_reported_as_a_hang(sandbox: Sandbox) -> None:
    fast = Sandbox(sandbox.pristine, sandbox.refs, sandbox.before, timeout=1.0)
    inv = Invocation("key show", ("--", "a-fifo"), "demo", False)
    outcome = fast.run(inv)
    assert outcome.crash.startswith("hang") or outcome.code in (1, 2), outcome
    assert Path(sandbox.pristine).exists()
