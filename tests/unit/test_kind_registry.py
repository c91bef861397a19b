"""The registry of entry kinds (ledger/kinds.py) is complete, the only one, and has schemas."""

from __future__ import annotations

import importlib
import pkgutil
import types
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

import pytest
from pydantic import BaseModel

import ledger.rules
from ledger import kinds, state
from ledger.errors import RuleViolationError
from ledger.state import KIND_MARK, REVERSER_MARK, Ctx, KindSpec, MemoryState, State

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "kinds"


def unregistered(
    modules: Iterable[types.ModuleType], registry: Mapping[str, KindSpec]
) -> list[str]:
    """Appliers and reversers a module defines (marked @kind / @reverser) that the registry
    does not list as that kind's applier or reverser."""
    problems = []
    for module in modules:
        for attr, value in vars(module).items():
            if getattr(value, "__module__", None) != module.__name__:
                continue
            name = getattr(value, KIND_MARK, None)
            if name is not None:
                spec = registry.get(name)
                if spec is None or spec.apply is not value:
                    problems.append(f"{module.__name__}.{attr} applies {name}, not registered")
            undone = getattr(value, REVERSER_MARK, None)
            if undone is not None:
                spec = registry.get(undone)
                if spec is None or spec.reverse is not value:
                    problems.append(f"{module.__name__}.{attr} reverses {undone}, not registered")
    return problems


def rules_modules() -> list[types.ModuleType]:
    """Every module under ledger/rules/, found on disk (not through the registry's imports)."""
    return [
        importlib.import_module(f"ledger.rules.{info.name}")
        for info in pkgutil.iter_modules(ledger.rules.__path__)
    ]


def test_every_kind_a_rules_module_defines_is_registered() -> None:
    assert unregistered(rules_modules(), kinds.KINDS) == []


def test_a_rules_module_with_an_unregistered_kind_fails() -> None:
    module = types.ModuleType("ledger.rules.meetings")

    class MeetingHeld(BaseModel):
        meeting: str

    @state.kind("meeting.held")
    def _held(st: State, body: MeetingHeld, ctx: Ctx) -> None:
        st.put("meeting", body.meeting, {"seq": ctx.seq})

    @state.reverser("fund.deposited")
    def _undo_other(st: State, body: BaseModel, ctx: Ctx, correction: Ctx) -> None:
        pass

    for fn in (_held, _undo_other):
        fn.__module__ = module.__name__
        setattr(module, fn.__name__, fn)
    assert unregistered([module], kinds.KINDS) == [
        "ledger.rules.meetings._held applies meeting.held, not registered",
        "ledger.rules.meetings._undo_other reverses fund.deposited, not registered",
    ]
    registry = {
        **kinds.KINDS,
        "meeting.held": KindSpec("meeting.held", "coop-admin", MeetingHeld, _held),
    }
    assert unregistered([module], registry) == [
        "ledger.rules.meetings._undo_other reverses fund.deposited, not registered",
    ]


def test_every_registered_line_points_at_its_own_marked_functions() -> None:
    for name, spec in kinds.KINDS.items():
        assert getattr(spec.apply, KIND_MARK, None) == name, name
        if spec.reverse is not None:
            assert getattr(spec.reverse, REVERSER_MARK, None) == name, name
        assert spec.apply.__module__ in {m.__name__ for m in kinds.RULES_MODULES}, name


def test_every_rules_module_with_a_kind_is_in_the_registry_imports() -> None:
    defining = {
        m.__name__
        for m in rules_modules()
        if any(getattr(v, KIND_MARK, None) for v in vars(m).values())
    }
    assert defining == {m.__name__ for m in kinds.RULES_MODULES}


def test_every_registered_kind_has_a_body_schema_and_every_schema_a_kind() -> None:
    missing = [k for k in kinds.KINDS if not (SCHEMAS / f"{k}.schema.json").is_file()]
    assert missing == []
    orphans = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))
    assert orphans == sorted(kinds.KINDS)


def test_the_gem_export_reads_the_registry() -> None:
    from ledger.export import gem

    assert gem.GEM_KINDS == kinds.GEM_KINDS
    assert set(gem.GEM_KINDS) == {k for k, s in kinds.KINDS.items() if s.gem}
    assert "property.sold" in gem.GEM_KINDS and "member.admitted" not in gem.GEM_KINDS


def test_writer_and_auditor_replay_through_the_one_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ledger import service
    from ledger.verify import audit

    assert state.load_kinds() is kinds.KINDS
    # Both write path and replay call the one apply_entry, which reads that table.
    assert service.apply_entry is state.apply_entry
    assert audit.apply_entry is state.apply_entry
    # A kind taken out of the table is unknown to both at once.
    monkeypatch.delitem(kinds.KINDS, "member.admitted")
    with pytest.raises(RuleViolationError, match=r"unknown entry kind 'member\.admitted'"):
        state.apply_entry(
            MemoryState(),
            "member.admitted",
            {},
            1,
            date(2026, 1, 1),
            "2026-01-01T00:00:00Z",
            "k",
            None,
            ["k"],
        )


def test_no_kind_is_registered_by_importing_a_module() -> None:
    source = (Path(state.__file__)).read_text()
    assert "import_module" not in source and "DOMAIN_MODULES" not in source
