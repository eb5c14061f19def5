"""Read the equations section of a Vensim ``.mdl`` as text: names, units, comments, groups.

PySD translates the equations; this module only reads what the modeller wrote, for the model
documentation and checks. It understands the subset of the format that Vensim writes: entries
ending in ``|``, fields separated by ``~``, groups marked by ``.Name`` between rows of ``*``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

#: The literal \\\---/// that ends the equations section and opens each view of the sketch.
SKETCH_MARK = "\\\\\\---///"
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
    """Entries of the equations section of ``path``, in file order (parsed once per content:
    see :func:`parsed_mdl`)."""
    return list(parsed_mdl(path).entries)


def _entries(text: str) -> list[MdlEntry]:
    text = text.split(SKETCH_MARK, 1)[0].replace("{UTF-8}", "", 1)
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
    """Split ``text`` at ``separators`` outside parentheses, brackets, braces and quoted names.

    Returns ``(separator_before, part)`` pairs, parts stripped; the first part's separator is
    ``""``. A ``+`` or ``-`` that is a sign (at the start, after an operator or a comma, or
    the exponent sign of a number such as ``1e-5``) does not split.
    """
    parts: list[tuple[str, str]] = []
    depth, start, sign, quoted = 0, 0, "", False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in separators:
            if char in "+-" and _is_sign(text[:index]):
                continue
            parts.append((sign, text[start:index].strip()))
            sign, start = char, index + 1
    parts.append((sign, text[start:].strip()))
    return parts


_EXPONENT = re.compile(r"(?:^|[^\w.])(?:\d+\.?\d*|\.\d+)[eE]$")


def _is_sign(before: str) -> bool:
    """Whether a ``+`` or ``-`` after ``before`` is a sign rather than an addition."""
    stripped = before.rstrip()
    return (not stripped or stripped[-1] in "+-*/^(,<>=:"
            or _EXPONENT.search(before) is not None)


def stock_flows(entry: MdlEntry) -> tuple[list[str], list[str], str]:
    """Inflows, outflows and the initial value of a stock entry."""
    inner = entry.expression[entry.expression.index("(") + 1: entry.expression.rindex(")")]
    rate, initial = (part for _, part in split_top_level(inner, ","))
    inflows, outflows = [], []
    for sign, term in split_top_level(rate, "+-"):
        negative = sign == "-"
        while term[:1] in ("-", "+"):
            negative ^= term[0] == "-"
            term = term[1:].strip()
        if term:
            (outflows if negative else inflows).append(term)
    return inflows, outflows, initial


@dataclass(frozen=True, eq=False)
class ParsedModel:
    """A ``.mdl`` read once: the entries of its equations section and PySD's abstract model,
    shared by every reader of a file with the same content (see :func:`parsed_mdl`). Each
    part is parsed when first asked for, then kept.

    Attributes
    ----------
    sha256 : str
        The sha256 of the file's bytes, the hash that names the model everywhere.
    data : bytes
        The file's bytes.
    """

    sha256: str
    data: bytes = field(repr=False)
    _parts: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def entries(self) -> tuple[MdlEntry, ...]:
        """Entries of the equations section, in file order."""
        return self._once("entries", lambda: tuple(_entries(_text(self.data))))

    def abstract(self, path: str | Path):
        """PySD's abstract model (the structure PySD builds every model from), parsed the
        first time from ``path``, a file with this content; a model PySD cannot parse is an
        :class:`InputError` naming the file.

        Shared by every reader: never modify it; take :meth:`abstract_copy` to rewrite it.
        """
        return self._once("abstract", lambda: _pysd_parse(Path(path)))

    def abstract_copy(self, path: str | Path):
        """A copy of :meth:`abstract` of one's own, to rewrite."""
        return copy.deepcopy(self.abstract(path))

    def _once(self, part: str, build):
        with self._lock:
            if part not in self._parts:
                self._parts[part] = build()
            return self._parts[part]


def _text(data: bytes) -> str:
    """The file's text as ``Path.read_text`` gives it (universal newlines)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _pysd_parse(path: Path):
    from pysd.translators.vensim.vensim_file import VensimFile

    from sd_runner.errors import InputError

    try:
        vensim = VensimFile(path)
        vensim.parse()
        return vensim.get_abstract_model()
    except Exception as exc:  # noqa: BLE001 - PySD raises many types for bad models
        raise InputError(f"{path}: PySD cannot parse this model ({exc})") from None


@dataclass(frozen=True)
class _Content:
    """A file's bytes as a cache key: equal to every other read of the same content."""

    sha256: str
    data: bytes = field(compare=False, repr=False)


def parsed_mdl(path: str | Path) -> ParsedModel:
    """The parsed model of the ``.mdl`` at ``path``: one object per content (the sha256 of
    its bytes) in this process, however many files and readers share it."""
    return parsed_content(Path(path).read_bytes())


def parsed_content(data: bytes) -> ParsedModel:
    """The parsed model of a ``.mdl``'s bytes, shared as :func:`parsed_mdl` shares it (for a
    reader that holds the text, not a file: the sketch tool)."""
    return _parsed(_Content(content_sha256(data), data))


def content_sha256(data: bytes) -> str:
    """The sha256 that names a model: of its file's bytes."""
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=16)
def _parsed(content: _Content) -> ParsedModel:
    return ParsedModel(content.sha256, content.data)


def abstract_model(path: str | Path, private: bool = False):
    """PySD's abstract model of the ``.mdl`` at ``path``, parsed once per content and shared:
    never modify it (``private=True`` gives a copy of one's own, to rewrite). A model PySD
    cannot parse is an :class:`InputError` naming the file."""
    parsed = parsed_mdl(path)
    return parsed.abstract_copy(path) if private else parsed.abstract(path)


def clean_name(name: str) -> str:
    """Vensim's identity of a name, as PySD's references spell it."""
    return " ".join(name.replace("_", " ").split()).lower()
