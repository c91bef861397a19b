"""Commands (what a user asks) and facts (the entry body a rule decided): the rules-service contract."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel

from ledger.state import Ctx, State


@dataclass(frozen=True)
class Fact:
    """What a command decided: one entry body, plus data kept outside the log."""

    kind: str
    body: BaseModel
    effective: date
    personal: tuple[str, bytes, str] | None = None  # member id, salt, personal-data JSON
    erase_personal: str | None = None  # member id whose personal data is erased


@dataclass(frozen=True)
class Command:
    """An intent: its name and arguments (what a request id is checked against) and the rule
    that turns it into a fact against the current state (reading, never writing, the state)."""

    name: str
    args: Mapping[str, Any]
    decide: Callable[[State, Ctx], Fact]
