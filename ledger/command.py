"""Commands (what a user asks) and facts (the entry body a rule decided): the rules-service contract."""

from __future__ import annotations

import dataclasses
import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

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


def arg_json(value: Any) -> Any:
    """A command argument as JSON (dates ISO, decimals and enums as strings): what `args` holds."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return arg_json(value.value)
    if isinstance(value, date | Decimal):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, tuple | list):
        return [arg_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): arg_json(v) for k, v in value.items()}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"command argument of type {type(value).__name__} has no JSON form")


@dataclass(frozen=True)
class Command(ABC):
    """An intent: a frozen dataclass per command, its fields the arguments. `name` and `args`
    are what a request id is checked against (log_guard.request_hash); `decide` turns the intent
    into a fact against the current state, reading and never writing it.

    A subclass names itself (`name: ClassVar[str] = "share.sell"`) and implements `decide`;
    `args` is every field in JSON form, in field order, unless the class says otherwise."""

    name: ClassVar[str]

    @property
    def args(self) -> Mapping[str, Any]:
        return {f.name: arg_json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @abstractmethod
    def decide(self, state: State, ctx: Ctx) -> Fact: ...


class LegacyCommand(Command):
    """TRANSITION (issue 13): a command built as a closure plus a hand-made args dict; goes once
    every constructor is a Command subclass."""

    def __init__(
        self, name: str, args: Mapping[str, Any], decide: Callable[[State, Ctx], Fact]
    ) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_args", args)
        object.__setattr__(self, "_decide", decide)

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name  # type: ignore[attr-defined,no-any-return]

    @property
    def args(self) -> Mapping[str, Any]:
        return self._args  # type: ignore[attr-defined,no-any-return]

    def decide(self, state: State, ctx: Ctx) -> Fact:
        return self._decide(state, ctx)  # type: ignore[attr-defined,no-any-return]
