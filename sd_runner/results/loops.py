"""Feedback loops as data: a loop, its links, its stable identifier and the human names of the
loop names file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    """One causal link ``source -> target`` and its polarity (+1, -1 or 0 for unknown)."""

    source: str
    target: str
    kind: str  # "flow" (into a stock) or "aux"
    polarity: int


@dataclass(frozen=True)
class Loop:
    """One feedback loop.

    Attributes
    ----------
    id : str
        Stable identifier: ``"L"`` and 8 hex digits of a hash of ``variables``.
    variables : tuple of str
        The loop's variables in causal order, starting from the alphabetically first.
    polarity : str
        ``"R"`` reinforcing, ``"B"`` balancing, ``"?"`` undetermined.
    links : tuple of Link
        Its links, in order (the last closes the loop).
    name : str
        Human name from the loop names file, if it names this loop.
    """

    id: str
    variables: tuple[str, ...]
    polarity: str
    links: tuple[Link, ...]
    name: str = ""

    @property
    def stocks(self) -> tuple[str, ...]:
        """The stocks on the loop (targets of its flow links)."""
        return tuple(link.target for link in self.links if link.kind == "flow")


def loop_id(variables) -> str:
    """The stable identifier of the loop through ``variables`` (any rotation)."""
    return "L" + hashlib.sha1(" -> ".join(canonical(variables)).encode()).hexdigest()[:8]


def canonical(variables) -> tuple[str, ...]:
    """``variables`` rotated to start at the alphabetically first."""
    variables = tuple(variables)
    start = variables.index(min(variables))
    return variables[start:] + variables[:start]


@dataclass(frozen=True)
class LoopName:
    """A human name for a loop, given by its variables in the names file."""

    code: str
    name: str
    variables: tuple[str, ...]
    description: str
    #: The link ``(source, target)`` that a knockout of the loop cuts
    #: (:mod:`sd_runner.feedback.knockouts`).
    cut: tuple[str, str] | None = None
    #: The stock this loop keeps within its declared range: a knockout of the loop must let
    #: it leave the range (a first-order adjustment cut becomes a pure integrator).
    keeps_in_range: str = ""


def code_order(code: str) -> tuple[str, int]:
    """Sort key of loop codes: by letter, then by number (B2 before B10)."""
    return code[0], int(code[1:] or 0)
