"""The rules' conformance vectors run against the library, and docs/RULES.md checked against the code."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ledger.state import load_kinds
from tests.vectors import run_rules

ROOT = Path(__file__).resolve().parents[2]
RULES_MD = (ROOT / "docs" / "RULES.md").read_text(encoding="utf-8")
ALL = list(run_rules.vectors())
SOURCES = {"DOMAIN.md", "hand", "library"}


@pytest.mark.parametrize(("stem", "vector"), ALL, ids=[f"{s}/{v['id']}" for s, v in ALL])
def test_vector(stem: str, vector: dict[str, Any], tmp_path: Path) -> None:
    run_rules.run_vector(stem, vector, tmp_path)


def test_every_file_is_a_known_rule_with_well_formed_vectors() -> None:
    files = run_rules.vector_files()
    assert {p.stem for p in files} == set(run_rules.CHECKS) | set(run_rules.LEDGER_FILES)
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert set(data) == {"title", "rule", "vectors"}, path.name
        ids = [v["id"] for v in data["vectors"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate vector ids"
        for vector in data["vectors"]:
            assert vector["source"] in SOURCES, (path.name, vector["id"])
            assert vector["why"].strip(), (path.name, vector["id"])


def test_every_vector_file_is_referenced_from_rules_md() -> None:
    for path in run_rules.vector_files():
        assert f"tests/vectors/rules/{path.name}" in RULES_MD, path.name


def test_rules_md_names_every_entry_kind() -> None:
    named = set(re.findall(r"`([a-z]+(?:\.[a-z-]+)+)`", RULES_MD))
    missing = sorted(set(load_kinds()) - named)
    assert not missing, f"docs/RULES.md does not name {missing}"


def test_rules_md_names_every_correctable_kind_in_its_corrections_section() -> None:
    section = RULES_MD.split("## 11. Corrections", 1)[1].split("\n## ", 1)[0]
    correctable = {name for name, spec in load_kinds().items() if spec.reverse is not None}
    table = section.split("Not correctable", 1)[0]
    for name in correctable:
        assert f"`{name}`" in table, f"RULES.md §11 does not list {name} as correctable"
    rest = section.split("Not correctable", 1)[1]
    for name in set(load_kinds()) - correctable:
        assert f"`{name}`" in rest, f"RULES.md §11 does not list {name} as not correctable"


def _mutated(vector: dict[str, Any]) -> dict[str, Any]:
    """The vector with its first expected amount off by one cent (or its refusal dropped)."""
    changed = copy.deepcopy(vector)
    expected = changed["expected"]
    for key, value in expected.items():
        if key.endswith("_cents") and isinstance(value, int):
            expected[key] = value + 1
            return changed
    raise AssertionError(f"vector {vector['id']} has no amount to change")


@pytest.mark.parametrize(
    ("stem", "vector_id"),
    [("prices", "fixed-compound-1.5pct-7y"), ("levy", "domain-example"), ("leases", "rent-cap")],
)
def test_a_wrong_expected_amount_fails(stem: str, vector_id: str, tmp_path: Path) -> None:
    vector = next(v for s, v in ALL if s == stem and v["id"] == vector_id)
    with pytest.raises(run_rules.Mismatch):
        run_rules.run_vector(stem, _mutated(vector), tmp_path)


def test_a_wrong_ledger_amount_fails(tmp_path: Path) -> None:
    vector = copy.deepcopy(next(v for s, v in ALL if v["id"] == "levy-reset-on-sale"))
    last = vector["steps"][-1]["expect"]
    last["balances"]["levy:receivable:P-1"] += 1
    with pytest.raises(run_rules.Mismatch):
        run_rules.run_vector("ledgers", vector, tmp_path)


def test_the_script_reports_every_vector(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_rules.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(ALL) + 1
    assert lines[-1] == f"{len(ALL)} of {len(ALL)} vectors pass"
