"""Regenerate the Vensim sketch (the diagram) of a .mdl model from its equations.

Usage::

    python models/tools/make_sketch.py models/value_chain_capture.mdl

The script reads the equations section of the model (everything before the line
``\\\\\\---/// Sketch information ...``), works out

* the sector of each variable: the group marked by ``.Name`` between rows of asterisks,
* which variables are stocks (``INTEG (inflows - outflows, initial)``) and which are the
  flows that appear as bare terms of a stock's rate,
* which variables each equation references,

and rewrites ONLY the sketch section in place, with one view per group, named after the
group. Everything before the sketch line is kept byte for byte, and so is the trailing
settings block (from the ``///---\\\\\\`` line to the end of the file).

Layout of a view, on a grid so that nothing overlaps:

* stocks and their flows in a row across the middle: a stock's first inflow comes from the
  left, its first outflow leaves to the right, further flows enter from above or leave
  below; a flow whose other end is not a stock of the view starts or ends in a cloud; a
  flow between two stocks of the view links them in a chain;
* auxiliaries, constants and lookup tables of the sector, and shadow (ghost) copies of the
  variables the sector uses but another sector defines (and of ``Time``), in the rows above
  and below, each near the objects it is linked to;
* one causal arrow for every dependency between two objects of the view.

Lookup tables are drawn as plain variables of their sector (with an arrow to the variables
that use them) because PySD, when it splits a model by views, wants every model element in
some view. Subscript ranges and the time controls (INITIAL TIME, FINAL TIME, TIME STEP,
SAVEPER) get no object of their own; a group holding nothing else gets no view.

Nothing here knows about particular variables of the model: everything is derived from the
equations, so the script can be run again after variables are added, renamed or moved, and
running it twice gives the same file. It reads the equations with sd-runner's own readers
(:mod:`sd_runner.model.mdl_text`), so it runs where sd-runner is installed.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from sd_runner.model.mdl_text import SKETCH_MARK, clean_name, parsed_content, split_top_level

SETTINGS_MARK = "///---\\\\\\"  # the literal ///---\\\ that closes the sketch
VIEW_HEADER = (
    SKETCH_MARK + " Sketch information - do not modify anything except names",
    "V300  Do not put anything below this section - it will be ignored",
)
VIEW_FONT = (
    "$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0"
)

# Vensim's built-in time variable and its simulation controls.
TIME = "time"
CONTROL_NAMES = {"initial time", "final time", "time step", "saveper"}

# Grid pitch of the layout, in sketch pixels.
COL_WIDTH = 150
ROW_HEIGHT = 80
MARGIN_X = 100
MARGIN_Y = 60
TEXT_MAX_HALF_WIDTH = 55  # names wrap at about 110 px
CHAR_WIDTH = 6.5  # average width of a 12 pt Times character
LINE_HALF_HEIGHT = 7.5


def norm(name: str) -> str:
    """Vensim's identity of a name: case-, space- and underscore-insensitive."""
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
    return clean_name(name)


# --------------------------------------------------------------------------- equations


@dataclass
class Variable:
    name: str  # as written in its (first) equation
    key: str  # norm(name)
    group: str | None
    kind: str  # "stock", "aux", "lookup", "control"; "flow" is set after parsing
    expressions: list[str] = field(default_factory=list)  # right-hand sides
    refs: list[str] = field(default_factory=list)  # keys referenced, in order
    inflows: list[str] = field(default_factory=list)  # stocks only
    outflows: list[str] = field(default_factory=list)  # stocks only
    other_rate_refs: list[str] = field(default_factory=list)  # stocks: non-flow rate terms
    initial_refs: list[str] = field(default_factory=list)  # stocks


def matching_paren(text: str, open_index: int) -> int:
    depth = 0
    for i in range(open_index, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced parentheses in: {text!r}")


def references(expression: str, known: dict[str, str]) -> list[str]:
    """Keys of the known names used in an expression, in order of first use."""
    text = re.sub(r"\{[^}]*\}", " ", expression)  # inline comments
    text = re.sub(r"\[[^\]]*\]", " ", text)  # subscripts and lookup ranges
    found = []
    for token in re.findall(r'"[^"]*"|[^-+*/^(),<>=:"!]+', text):
        key = norm(token)
        if key in known and key not in found:
            found.append(key)
    return found


def parse_equations(text: str) -> dict[str, Variable]:
    """Variables of the equations section, keyed by norm(name), in file order, from the
    entries of sd_runner's one parse of the .mdl (shared with the engine and the checks)."""
    variables: dict[str, Variable] = {}
    for entry in parsed_content(text.encode("utf-8")).entries:
        if entry.kind == "subscript":
            continue  # subscript range or equivalence
        key = norm(entry.name)
        if entry.kind == "lookup":
            kind, expression = "lookup", ""
        else:
            expression = entry.expression
            kind = ("control" if key in CONTROL_NAMES else
                    "stock" if entry.kind == "stock" else "aux")
        var = variables.get(key)
        if var is None:
            var = variables[key] = Variable(entry.name, key, entry.group or None, kind)
        elif kind == "stock":
            var.kind = "stock"
        var.expressions.append(expression)

    known = {key: var.name for key, var in variables.items()}
    known.setdefault(TIME, "Time")
    for var in variables.values():
        for expression in var.expressions:
            for ref in references(expression, known):
                if ref != var.key and ref not in var.refs:
                    var.refs.append(ref)
            if var.kind == "stock" and re.match(r"(?i)INTEG\s*\(", expression):
                _parse_stock(var, expression, variables, known)

    # Flows: variables that are bare terms of some stock's rate.
    for var in variables.values():
        for flow in var.inflows + var.outflows:
            variables[flow].kind = "flow"
    return variables


def _parse_stock(var: Variable, expression: str, variables: dict, known: dict) -> None:
    open_index = expression.index("(")
    inside = expression[open_index + 1:matching_paren(expression, open_index)]
    args = [part for _, part in split_top_level(inside, ",")]
    rate, initial = args[0], ",".join(args[1:])
    for sign, term in split_top_level(rate, "+-"):
        term = term.strip()
        negative = sign == "-"
        while term.startswith("-") or term.startswith("+"):
            negative ^= term.startswith("-")
            term = term[1:].strip()
        bare = re.fullmatch(r'("[^"]*"|[^-+*/^(),<>=:"\[\]]+)\s*(\[[^\]]*\])?', term)
        key = norm(bare.group(1)) if bare else None
        target = var.outflows if negative else var.inflows
        if key in variables and variables[key].kind in ("aux", "flow") and key != var.key:
            if key not in target:
                target.append(key)
        else:
            for ref in references(term, known):
                if ref not in var.other_rate_refs:
                    var.other_rate_refs.append(ref)
    for ref in references(initial, known):
        if ref not in var.initial_refs:
            var.initial_refs.append(ref)


# --------------------------------------------------------------------------- layout


def text_size(name: str, half_width: int = TEXT_MAX_HALF_WIDTH) -> tuple[int, int]:
    """Half width and half height of a name wrapped in at most 3 lines (wider if need be)."""
    while True:
        lines = textwrap.wrap(name, max(4, int(2 * half_width / CHAR_WIDTH))) or [name]
        if len(lines) <= 3:
            break
        half_width += 10
    longest = max(len(line) for line in lines)
    return (max(20, min(half_width, math.ceil(longest * CHAR_WIDTH / 2) + 2)),
            max(8, math.ceil(len(lines) * LINE_HALF_HEIGHT)))


@dataclass(eq=False)
class Obj:
    """One object of a view: 'stock', 'aux', 'shadow', 'valve', 'flowvar' or 'cloud'.

    x and y are its centre; w and h its half width and half height, its name included.
    """

    kind: str
    name: str = ""
    key: str = ""
    x: float = 0
    y: float = 0
    w: int = 10
    h: int = 8
    vertical: bool = False  # valves: the pipes run up and down
    id: int = 0


@dataclass(eq=False)
class Pipe:
    valve: Obj
    end: Obj  # a stock or a cloud
    arrowhead: bool  # True at the end the flow goes into


def box(o: Obj, margin: float = 0) -> tuple[float, float, float, float]:
    return o.x - o.w - margin, o.y - o.h - margin, o.x + o.w + margin, o.y + o.h + margin


def overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class ViewLayout:
    """Places the objects of one view and renders them as sketch lines.

    Stocks and flows go in a row at y = 0; every other object goes on a grid of
    COL_WIDTH x ROW_HEIGHT cells above and below it, in the free cell nearest to the
    objects it is linked to.
    """

    def __init__(self, title: str, variables: dict[str, Variable]):
        self.title = title
        self.variables = variables
        members = [v for v in variables.values() if v.group == title]
        self.stocks = [v.key for v in members if v.kind == "stock"]
        self.flows = [v.key for v in members if v.kind == "flow"]
        self.others = [v.key for v in members if v.kind in ("aux", "lookup")]
        self.objects: list[Obj] = []
        self.by_key: dict[str, Obj] = {}  # variable key -> its object in this view
        self.valves: dict[str, Obj] = {}  # flow key -> its valve
        self.pipes: list[Pipe] = []
        self.arrows: list[tuple[Obj, Obj]] = []

    # -- helpers
    def add(self, obj: Obj) -> Obj:
        self.objects.append(obj)
        if obj.kind == "valve":
            self.valves[obj.key] = obj
        elif obj.key:
            self.by_key[obj.key] = obj
        return obj

    def name(self, key: str) -> str:
        return self.variables[key].name if key in self.variables else "Time"

    def fits(self, obj: Obj) -> bool:
        """True if obj, where it is, keeps clear of every object placed so far."""
        mine = box(obj, 6)
        return not any(overlap(mine, box(o)) for o in self.objects)

    def free_spot(self, obj: Obj, x: float, y: float, middle_row: bool) -> None:
        """Move obj to the free grid cell nearest to (x, y), rows nearer 0 preferred."""
        xs = [o.x for o in self.objects] or [0]
        ys = [o.y for o in self.objects] or [0]
        span = 3 + int(math.sqrt(len(self.objects) + 1))
        c0, c1 = int(min(xs) // COL_WIDTH) - span, int(max(xs) // COL_WIDTH) + span
        r0, r1 = int(min(ys) // ROW_HEIGHT) - span, int(max(ys) // ROW_HEIGHT) + span
        best = None
        for c in range(c0, c1 + 1):
            for r in range(r0, r1 + 1):
                if r == 0 and not middle_row:
                    continue
                obj.x, obj.y = c * COL_WIDTH, r * ROW_HEIGHT
                cost = (obj.x - x) ** 2 + (obj.y - y) ** 2 + (0.5 * obj.y) ** 2
                if (best is None or (cost, abs(r), r, c) < best[0]) and self.fits(obj):
                    best = ((cost, abs(r), r, c), obj.x, obj.y)
        if best is None:  # everything taken: go below all that is there
            obj.x, obj.y = x, max(ys) + 2 * ROW_HEIGHT
        else:
            obj.x, obj.y = best[1], best[2]

    def add_valve(self, flow: str, x: float, y: float, vertical: bool) -> Obj:
        """A valve and, next to it, its flow's name: below it, or right of a vertical one."""
        valve = self.add(Obj("valve", key=flow, x=x, y=y, w=6, h=8, vertical=vertical))
        name = self.variables[flow].name
        w, h = text_size(name)
        label = Obj("flowvar", name, flow, w=w, h=h)
        label.x, label.y = (x + w + 12, y) if vertical else (x, y + h + 10)
        self.add(label)
        return valve

    def ends(self, flow: str) -> tuple[str | None, str | None]:
        """In-view stock the flow drains (source) and the one it fills (destination)."""
        src = next((s for s in self.stocks if flow in self.variables[s].outflows), None)
        dst = next((s for s in self.stocks if flow in self.variables[s].inflows), None)
        return src, dst

    # -- stock and flow row
    def layout_stocks_and_flows(self) -> None:
        ends = {f: self.ends(f) for f in self.flows}
        links = [f for f in self.flows if all(ends[f])]

        # Chains of stocks joined by transfer flows, in equation order.
        chains, placed = [], set()
        for stock in self.stocks:
            if stock in placed:
                continue
            head, seen = stock, {stock}
            while True:  # walk back to the first stock of the chain
                prev = [ends[f][0] for f in links if ends[f][1] == head
                        and ends[f][0] not in placed and ends[f][0] not in seen]
                if not prev:
                    break
                head = prev[0]
                seen.add(head)
            chain, cur = [(None, head)], head
            placed.add(head)
            while True:
                nxt = [(f, ends[f][1]) for f in links
                       if ends[f][0] == cur and ends[f][1] not in placed]
                if not nxt:
                    break
                chain.append(nxt[0])
                cur = nxt[0][1]
                placed.add(cur)
            chains.append(chain)
        chained = {f for chain in chains for f, _ in chain if f}

        # The side of its stock each other flow takes; the owner is the stock it fills,
        # else the one it drains. Inflows come from the left, outflows leave to the right,
        # further ones enter from above or leave below.
        sides: dict[str, dict[str, str]] = {s: {} for s in self.stocks}
        for chain in chains:
            for i, (f, stock) in enumerate(chain):
                if f:
                    sides[stock]["left"] = f
                    sides[chain[i - 1][1]]["right"] = f
        extra, loose = [], []
        for f in self.flows:
            if f in chained:
                continue
            src, dst = ends[f]
            owner = dst or src
            if owner is None:
                loose.append(f)  # no stock of this view at either end
                continue
            order = ["left", "top", "bottom"] if owner == dst else ["right", "bottom", "top"]
            side = next((s for s in order if s not in sides[owner]), None)
            if side:
                sides[owner][side] = f
            else:
                extra.append((f, owner))

        def cloud(f: str, owner: str | None, x: float, y: float) -> None:
            """A cloud at the end of flow f away from its owner stock, if no stock is there."""
            src, dst = ends[f]
            if (src if owner == dst else dst) is None:
                end = self.add(Obj("cloud", x=x, y=y))
                # the cloud is the sink of an outflow, the source of an inflow
                self.pipes.append(Pipe(self.valves[f], end, owner != dst))

        def label_width(f: str) -> int:
            return text_size(self.variables[f].name)[0]

        # Walk the chains left to right; x is the right edge of what is placed so far.
        gap = 20
        x = 0.0
        for chain in chains:
            for f, stock in chain:
                left = f or sides[stock].get("left")
                if left:
                    has_cloud = not f and None in ends[left]
                    vx = x + (2 * gap if has_cloud else gap) + label_width(left)
                    self.add_valve(left, vx, 0, vertical=False)
                    if has_cloud:
                        cloud(left, stock, x + gap, 0)
                    x = vx + label_width(left)
                name = self.variables[stock].name
                w, h = text_size(name, 40)
                w, h = max(40, w), max(20, h + 4)
                sx = x + gap + w
                self.add(Obj("stock", name, stock, sx, 0, w, h))
                for side, sign in (("top", -1), ("bottom", 1)):
                    fv = sides[stock].get(side)
                    if fv:
                        self.add_valve(fv, sx, sign * ROW_HEIGHT, vertical=True)
                        cloud(fv, stock, sx, sign * 2 * ROW_HEIGHT)
                x = sx + w
                right = sides[stock].get("right")
                if right and right not in chained:
                    vx = x + gap + label_width(right)
                    self.add_valve(right, vx, 0, vertical=False)
                    x = vx + label_width(right)
                    if None in ends[right]:
                        cloud(right, stock, x + gap, 0)
                        x += 2 * gap
            x += 4 * gap  # between chains
        for f in loose:  # cloud -> valve -> cloud
            vx = x + 2 * gap + label_width(f)
            self.add_valve(f, vx, 0, vertical=False)
            cloud(f, None, x + gap, 0)
            sink = self.add(Obj("cloud", x=vx + label_width(f) + gap, y=0))
            self.pipes.append(Pipe(self.valves[f], sink, True))
            x = vx + label_width(f) + 6 * gap
        for f, owner in extra:  # no side of the stock left: the nearest free cell
            stock = self.by_key[owner]
            probe = Obj("aux", w=label_width(f), h=ROW_HEIGHT // 2 - 4)  # valve and name
            self.free_spot(probe, stock.x, stock.y + ROW_HEIGHT, middle_row=False)
            self.add_valve(f, probe.x, probe.y - 20, vertical=False)
            probe = Obj("cloud")
            valve = self.valves[f]
            self.free_spot(probe, valve.x - COL_WIDTH, valve.y, middle_row=False)
            cloud(f, owner, probe.x, probe.y)

        # Pipes between the valves and the stocks of this view at their ends.
        for f, valve in self.valves.items():
            src, dst = ends[f]
            for stock, into in ((src, False), (dst, True)):
                if stock:
                    self.pipes.append(Pipe(valve, self.by_key[stock], into))

    # -- everything else
    def arrow_sources(self, key: str) -> list[str]:
        """Keys drawn as arrows into the object of `key` (pipes are not arrows)."""
        var = self.variables[key]
        if var.kind != "stock":
            return var.refs
        piped = {p.valve.key for p in self.pipes if p.end.key == key}
        flows = [f for f in var.inflows + var.outflows if f not in piped]
        return list(dict.fromkeys(var.other_rate_refs + var.initial_refs + flows))

    def layout_others(self) -> None:
        """Auxiliaries, constants, lookups and shadows, each near what it is linked to."""
        members = self.stocks + self.flows + self.others
        shadows = []
        links: dict[str, set[str]] = {}  # both directions
        for key in members:
            for ref in self.arrow_sources(key):
                if ref not in members and ref not in shadows:
                    shadows.append(ref)
                links.setdefault(key, set()).add(ref)
                links.setdefault(ref, set()).add(key)
        pending = self.others + shadows
        order = {k: i for i, k in enumerate(pending)}
        middle_row = not self.stocks and not self.flows
        row_length = max(4, math.ceil(math.sqrt(len(pending))))
        unlinked = None  # grid cell (column, row) of the last object with no links

        def placed_neighbours(key: str) -> list[Obj]:
            return [self.by_key[n] for n in sorted(links.get(key, ())) if n in self.by_key]

        while pending:
            key = max(pending, key=lambda k: (len(placed_neighbours(k)), -order[k]))
            pending.remove(key)
            name = self.name(key)
            w, h = text_size(name)
            obj = Obj("aux" if key in members else "shadow", name, key, w=w, h=h)
            near = placed_neighbours(key)
            if near:  # the free cell nearest to what it is linked to
                self.free_spot(obj, sum(o.x for o in near) / len(near),
                               sum(o.y for o in near) / len(near), middle_row)
            else:  # nothing to be near: fill rows in reading order, below what is there
                if unlinked is None:
                    bottom = max((o.y for o in self.objects), default=-ROW_HEIGHT)
                    left = math.floor(min((o.x for o in self.objects), default=0) / COL_WIDTH)
                    unlinked = (-1, math.floor(bottom / ROW_HEIGHT) + 1)
                column, row = unlinked
                while True:
                    column += 1
                    if column >= row_length:
                        column, row = 0, row + 1
                    obj.x, obj.y = (left + column) * COL_WIDTH, row * ROW_HEIGHT
                    if (row != 0 or middle_row) and self.fits(obj):
                        break
                unlinked = (column, row)
            self.add(obj)

        for key in members:
            target = self.by_key[key]
            for ref in self.arrow_sources(key):
                if (self.by_key[ref], target) not in self.arrows:
                    self.arrows.append((self.by_key[ref], target))

    def arrow_point(self, source: Obj, target: Obj) -> tuple[float, float]:
        """Point the arrow's arc passes through: the midpoint, or off to one side if the
        straight arrow would cross another object."""
        skip = {id(source), id(target)}
        for end in (source, target):  # a flow's name and its valve count as one object
            if end.kind == "flowvar":
                skip.add(id(self.valves[end.key]))
        boxes = [box(o, 4) for o in self.objects if id(o) not in skip]
        (ax, ay), (bx, by) = (source.x, source.y), (target.x, target.y)
        length = math.hypot(bx - ax, by - ay) or 1.0
        nx, ny = (ay - by) / length, (bx - ax) / length  # unit normal
        mx, my = (ax + bx) / 2, (ay + by) / 2
        best = None
        for offset in (0, 20, -20, 40, -40, 60, -60, 80, -80, 110, -110):
            if abs(offset) > 0.3 * length:  # no loops on short arrows
                continue
            cx, cy = mx + nx * offset, my + ny * offset
            qx, qy = 2 * cx - mx, 2 * cy - my  # Bezier control through (cx, cy) at t=1/2
            hits = 0
            for i in range(1, 20):
                t = i / 20
                px = (1 - t) ** 2 * ax + 2 * t * (1 - t) * qx + t ** 2 * bx
                py = (1 - t) ** 2 * ay + 2 * t * (1 - t) * qy + t ** 2 * by
                hits += sum(x0 < px < x1 and y0 < py < y1 for x0, y0, x1, y1 in boxes)
            if best is None or hits < best[0]:
                best = (hits, cx, cy)
            if hits == 0:
                break
        return best[1], best[2]

    # -- output
    def render(self) -> list[str]:
        """The view's lines: header, objects, pipes, arrows; ids numbered from 1."""
        x0 = min(o.x - o.w for o in self.objects)
        y0 = min(o.y - o.h for o in self.objects)
        for o in self.objects:  # shift to the top left corner, whole pixels
            o.x, o.y = round(o.x - x0 + MARGIN_X / 2), round(o.y - y0 + MARGIN_Y / 2)
        for number, o in enumerate(self.objects, start=1):
            o.id = number
        lines = [*VIEW_HEADER, "*" + self.title, VIEW_FONT]
        lines += [render_object(o) for o in self.objects]
        next_id = len(self.objects) + 1
        for pipe in self.pipes:
            px, py = (pipe.valve.x + pipe.end.x) // 2, (pipe.valve.y + pipe.end.y) // 2
            lines.append(f"1,{next_id},{pipe.valve.id},{pipe.end.id},"
                         f"{4 if pipe.arrowhead else 100},0,0,22,0,0,0,-1--1--1,,1|({px},{py})|")
            next_id += 1
        for source, target in self.arrows:
            px, py = self.arrow_point(source, target)
            lines.append(f"1,{next_id},{source.id},{target.id},0,0,0,0,0,64,0,-1--1--1,,1|"
                         f"({round(px)},{round(py)})|")
            next_id += 1
        return lines


def render_object(o: Obj) -> str:
    where = f"{o.id},{o.name},{o.x},{o.y},{o.w},{o.h}"
    if o.kind == "stock":
        return f"10,{where},3,3,0,0,0,0,0,0"
    if o.kind == "aux":
        return f"10,{where},8,3,0,0,0,0,0,0"
    if o.kind == "shadow":
        return f"10,{where},8,2,0,3,-1,0,0,0,128-128-128,0-0-0,|12||128-128-128"
    if o.kind == "flowvar":
        return f"10,{where},40,3,0,0,-1,0,0,0"
    if o.kind == "valve":
        if o.vertical:
            return f"11,{o.id},0,{o.x},{o.y},8,6,33,3,0,0,4,0,0,0"
        return f"11,{o.id},0,{o.x},{o.y},6,8,34,3,0,0,1,0,0,0"
    if o.kind == "cloud":
        return f"12,{o.id},48,{o.x},{o.y},10,8,0,3,0,0,-1,0,0,0"
    raise ValueError(o.kind)


def check_layout(view: ViewLayout) -> None:
    """Fail loudly if two objects of a view overlap (boxes, names included)."""
    for i, a in enumerate(view.objects):
        for b in view.objects[i + 1:]:
            if overlap(box(a), box(b)):
                raise RuntimeError(f"view {view.title}: {a.kind} {a.name or a.key!r} "
                                   f"overlaps {b.kind} {b.name or b.key!r}")


# --------------------------------------------------------------------------- file


def build_sketch(equations: str) -> tuple[str, list[ViewLayout]]:
    variables = parse_equations(equations)
    for var in variables.values():
        if var.group is None:  # equations before the first group marker
            var.group = "Ungrouped"
    groups = list(dict.fromkeys(v.group for v in variables.values()))
    views = []
    for group in groups:
        drawn = [v for v in variables.values()
                 if v.group == group and v.kind in ("stock", "flow", "aux", "lookup")]
        if not drawn:
            continue  # e.g. the time controls
        view = ViewLayout(group, variables)
        view.layout_stocks_and_flows()
        view.layout_others()
        views.append(view)
    lines = []
    for view in views:
        lines += view.render()
        check_layout(view)
    return "\n".join(lines), views


def rewrite(path: Path) -> list[ViewLayout]:
    with path.open(encoding="utf-8", newline="") as f:
        text = f.read()
    start = text.find(SKETCH_MARK)
    head = text if start < 0 else text[:start]
    tail = "" if start < 0 else text[start:]
    end = tail.find(SETTINGS_MARK)
    settings = "" if end < 0 else tail[end:]
    newline = "\r\n" if "\r\n" in head else "\n"
    if start < 0 and not head.endswith(newline):
        head += newline
    sketch, views = build_sketch(head)
    new_text = head + sketch.replace("\n", newline) + newline + settings
    if new_text != text:
        with path.open("w", encoding="utf-8", newline="") as f:
            f.write(new_text)
    return views


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mdl", type=Path, help="Vensim model to rewrite in place")
    args = parser.parse_args(argv)
    for view in rewrite(args.mdl):
        print(f"{view.title}: {len(view.objects)} objects, {len(view.pipes)} pipes, "
              f"{len(view.arrows)} arrows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
