"""Rates an entry carries stay within the charter's bounds (edition 2, docs/RULES.md §7.1)."""

from __future__ import annotations

from decimal import Decimal

from ledger.charter import Charter
from ledger.errors import RuleViolationError


def check_rate(charter: Charter, rate: str, what: str) -> None:
    """Refuse, under a version-2 charter, a yearly rate above `plausibility.max_rate` (rates
    are never negative: their decimal strings have no sign). A future rate (a loan's) calls
    this too, so every rate an entry carries has one bound."""
    if not charter.rules_from(2):
        return
    bound = charter.plausibility.max_rate
    if Decimal(rate) > Decimal(bound):
        raise RuleViolationError(
            f"{what}: rate {rate} is above the charter's plausibility.max_rate {bound}"
        )
