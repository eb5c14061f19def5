"""Read the equations section of a Vensim ``.mdl`` as text: names, units, comments, groups.

PySD translates the equations; this module only reads what the modeller wrote, for the model
documentation and checks. It understands the subset of the format that Vensim writes: entries
ending in ``|``, fields separated by ``~``, groups marked by ``.Name`` between rows of ``*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SKETCH_MARK = "\\\\\\---///"
_NUMBER = r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
_NUMBERS = re.compile(rf"^\s*{_NUMBER}(\s*,\s*{_NUMBER})*\s*$")
_RANGE = re.compile(r"^(?P<units>.*?)\s*\[(?P<range>[^\]]*)\]\s*$")


@dataclass(frozen=True)
class MdlEntry:
    """One entry of the equations section.

    Attributes
    ----------
    name : str
        Variable, lookup or subscript-range name.
    subscripts : str
        What follows the name in brackets (``"Cluster"``), or ``""``.
    kind : str
        ``"stock"``, ``"constant"`` (numbers only), ``"lookup"``, ``"subscript"`` or
        ``"auxiliary"`` (any other equation).
    expression : str
        Right-hand side, whitespace collapsed (for lookups: the table).
    units : str
        Units without the range.
    value_range : str
        The declared range (``"0,1"``), or ``""``.
    comment : str
        The documentation.
    group : str
        The sector (``.Name`` group) the entry is in.
    """

    name: str
    subscripts: str
    kind: str
    expression: str
    units: str
    value_range: str
    comment: str
    group: str

    @property
    def label(self) -> str:
        """Name with its subscripts, as Vensim shows it."""
        return f"{self.name}[{self.subscripts}]" if self.subscripts else self.name


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\\\n", " ")).strip()


def read_mdl(path: str | Path) -> list[MdlEntry]:
    """Entries of the equations section of ``path``, in file order."""
    text = Path(path).read_text(encoding="utf-8")
    text = text.split(_SKETCH_MARK, 1)[0].replace("{UTF-8}", "", 1)
    entries: list[MdlEntry] = []
    group = ""
    for chunk in text.split("|"):
        if not chunk.strip():
            continue
        fields = chunk.split("~")
        head = fields[0].strip()
        if head.startswith("*"):
            match = re.search(r"^\s*\.(.+?)\s*$", head, flags=re.M)
            group = match.group(1) if match else group
            continue
        units_field = _collapse(fields[1]) if len(fields) > 1 else ""
        comment = _collapse(fields[2]) if len(fields) > 2 else ""
        ranged = _RANGE.match(units_field)
        units, value_range = (ranged["units"], ranged["range"]) if ranged else (units_field, "")
        entries.append(_entry(head, units.strip(), value_range.strip(), comment, group))
    return entries


def _entry(head: str, units: str, value_range: str, comment: str, group: str) -> MdlEntry:
    equal = head.find("=")
    colon = head.find(":")
    if colon != -1 and (equal == -1 or colon < equal) and "(" not in head[:colon]:
        name = head[:colon].strip()
        return MdlEntry(name, "", "subscript", _collapse(head[colon + 1:]), units, value_range,
                        comment, group)
    if equal == -1:
        paren = head.find("(")
        return MdlEntry(_collapse(head[:paren]), "", "lookup", _collapse(head[paren:]), units,
                        value_range, comment, group)
    lhs, rhs = head[:equal], _collapse(head[equal + 1:])
    match = re.match(r"^\s*(?P<name>[^\[]+?)\s*(\[(?P<subs>[^\]]*)\])?\s*$", lhs)
    name, subs = _collapse(match["name"]), _collapse(match["subs"] or "")
    if rhs.upper().startswith("INTEG"):
        kind = "stock"
    elif _NUMBERS.match(rhs):
        kind = "constant"
    else:
        kind = "auxiliary"
    return MdlEntry(name, subs, kind, rhs, units, value_range, comment, group)


def split_top_level(text: str, separators: str) -> list[tuple[str, str]]:
    """Split ``text`` at ``separators`` outside parentheses and brackets.

    Returns ``(separator_before, part)`` pairs; the first part's separator is ``""``.
    """
    parts: list[tuple[str, str]] = []
    depth, start, sign = 0, 0, ""
    for index, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0 and char in separators:
            parts.append((sign, text[start:index].strip()))
            sign, start = char, index + 1
    parts.append((sign, text[start:].strip()))
    return parts


def stock_flows(entry: MdlEntry) -> tuple[list[str], list[str], str]:
    """Inflows, outflows and the initial value of a stock entry."""
    inner = entry.expression[entry.expression.index("(") + 1: entry.expression.rindex(")")]
    rate, initial = (part for _, part in split_top_level(inner, ","))
    inflows, outflows = [], []
    for sign, term in split_top_level(rate, "+-"):
        if term:
            (outflows if sign == "-" else inflows).append(term)
    return inflows, outflows, initial


def abstract_model(path):
    """PySD's abstract model of the ``.mdl`` at ``path`` (the structure PySD builds every
    model from); a model PySD cannot parse is an :class:`InputError` naming the file."""
    from pysd.translators.vensim.vensim_file import VensimFile

    from sd_runner.errors import InputError

    try:
        vensim = VensimFile(path)
        vensim.parse()
        return vensim.get_abstract_model()
    except Exception as exc:  # noqa: BLE001 - PySD raises many types for bad models
        raise InputError(f"{path}: PySD cannot parse this model ({exc})") from None


def clean_name(name: str) -> str:
    """Vensim's identity of a name, as PySD's references spell it."""
    return " ".join(name.replace("_", " ").split()).lower()
