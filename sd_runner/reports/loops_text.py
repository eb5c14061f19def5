"""The text and JSON forms of the model's loop inventory (:class:`sd_runner.api.LoopInventory`),
as ``sd-runner loops`` prints them."""

from __future__ import annotations

import json

_SIGNS = {1: "+", -1: "-", 0: "?"}


def loops_json(inventory) -> str:
    """How the loops were found and every loop: id, polarity, name, variables, stocks, links."""
    records = [{"id": loop.id, "polarity": loop.polarity, "name": loop.name,
                "variables": list(loop.variables), "stocks": list(loop.stocks),
                "links": [{"from": k.source, "to": k.target, "kind": k.kind,
                           "polarity": _SIGNS[k.polarity]} for k in loop.links]}
               for loop in inventory.loops]
    return json.dumps({"method": inventory.method, "loops": records}, indent=1)


def loops_text(inventory) -> str:
    """A count by polarity, then a table: id, polarity, length, name and variables."""
    found = inventory.loops
    counts = {p: sum(loop.polarity == p for loop in found) for p in ("R", "B", "?")}
    how = ("every loop" if inventory.method == "exhaustive" else
           "too many to list all: those the strongest-path search finds in the baseline run")
    lines = [f"{len(found)} feedback loops ({how}): {counts['R']} reinforcing, "
             f"{counts['B']} balancing, {counts['?']} whose polarity changes with the state",
             f"{'id':<9} {'polarity':<8} {'length':>6}  [name]  variables"]
    for loop in found:
        name = f"  [{loop.name}]" if loop.name else ""
        lines.append(f"{loop.id:<9} {loop.polarity:<8} {len(loop.variables):>6}{name}  "
                     + " -> ".join(loop.variables))
    return "\n".join(lines)
