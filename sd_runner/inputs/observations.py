"""Read observation files: one row per statistic observed over a period, with its source.

The format is documented in ``calibration/data/README.md``. It is the column layout of the
observation file the project started from, with the meaning of each field pinned down:

``series, cluster[, region], period_start, period_end, value, unit, basis, source[, evidence]``

``region`` is where the value was observed (``Zhejiang``, ``Wenzhou city``, ``China``); a
file without the column holds Zhejiang's own statistics (:data:`DEFAULT_REGION`).

``period_start`` and ``period_end`` are ISO dates and the period includes both days;
``basis`` begins with ``reported`` or ``derived`` (anything after that word is kept as a
note). Every malformed row is rejected with the file, the line and the fix.

Numbers and dates are read strictly (:data:`NUMBER`, :data:`DATE`): Python's ``float`` also
takes ``1_000``, `` 5 ``, ``infinity``, ``nan`` and digits of other scripts, and
``date.fromisoformat`` takes ``20030101`` and week dates, none of which a statistics table
means to say. A value's magnitude must lie within :data:`MAGNITUDE` (or be zero): no statistic
is observed beyond it in any unit, and the fit statistics of larger (or tinier) values overflow.
Series and cluster names are read strictly too: a name with spaces around it is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from sd_runner.errors import InputError

REQUIRED_COLUMNS = ("series", "cluster", "period_start", "period_end", "value", "unit",
                    "basis", "source")
OPTIONAL_COLUMNS = ("region", "evidence")
#: The region of every row of a file without a ``region`` column.
DEFAULT_REGION = "Zhejiang"
BASES = ("reported", "derived")
MAX_BYTES = 5_000_000  # observation files are a few kilobytes; refuse what cannot be one

#: A number: optional sign, ASCII digits with at most one decimal point, optional exponent
#: (``91.40``, ``-0.5``, ``.5``, ``1.5e3``); nothing around it.
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

#: Smallest and largest magnitude of a nonzero value, in the row's unit.
MAGNITUDE = (1e-12, 1e12)

#: A date: ``YYYY-MM-DD`` in ASCII digits.
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: What a number that does not match :data:`NUMBER` probably meant, and the fix.
_NUMBER_FIXES = (
    (lambda t: t != t.strip(), "remove the spaces around it"),
    (lambda t: t.strip().casefold().lstrip("+-") in ("nan", "inf", "infinity"), ""),
    (lambda t: "_" in t, "write it without '_' between digits"),
    (lambda t: "," in t, "use a point for decimals and no thousands separator (1234.5)"),
    (lambda t: t.strip().casefold().lstrip("+-").startswith(("0x", "0o", "0b")),
     "write it in decimal"),
    (lambda t: any(c.isdigit() and not c.isascii() for c in t), "write it with digits 0-9"),
)


@dataclass(frozen=True)
class Observation:
    """One observed value.

    Attributes
    ----------
    series, cluster : str
        What was observed and for which cluster (as the file names them, lower case).
    start, end : datetime.date
        First and last day of the period (inclusive).
    value : float
        The observed value, in ``unit``.
    unit : str
        Unit as the file gives it.
    basis : str
        ``"reported"`` (published as is) or ``"derived"`` (computed from reported figures).
    basis_note : str
        Anything the file adds after the basis word.
    source, evidence : str
        Where the value comes from, and the quoted text behind it.
    line : int
        Line of the file (1-based, header is line 1).
    file : str
        The file it was read from, as given.
    region : str
        Where the value was observed, as the file gives it (:data:`DEFAULT_REGION` for a
        file without a ``region`` column).
    """

    series: str
    cluster: str
    start: dt.date
    end: dt.date
    value: float
    unit: str
    basis: str
    basis_note: str
    source: str
    evidence: str
    line: int
    file: str = ""
    region: str = DEFAULT_REGION

    @property
    def where(self) -> str:
        """``file:line`` for messages."""
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"

    @property
    def place(self) -> str:
        """``name:line`` (the file's name without its folder), which tells the rows of two
        files apart in tables."""
        return f"{Path(self.file).name}:{self.line}" if self.file else f"line {self.line}"

    @property
    def start_year(self) -> float:
        """Start of the period in decimal years (midnight at the start of ``start``)."""
        return decimal_year(self.start)

    @property
    def end_year(self) -> float:
        """End of the period in decimal years (midnight at the end of ``end``)."""
        return decimal_year(self.end + dt.timedelta(days=1))

    def label(self) -> str:
        """``series/cluster/start..end`` for messages and tables, with ``@region`` for a
        region other than :data:`DEFAULT_REGION`."""
        region = "" if self.region == DEFAULT_REGION else f"@{self.region}"
        return (f"{self.series}/{self.cluster}{region}/{self.start.isoformat()}.."
                f"{self.end.isoformat()}")


def decimal_year(day: dt.date) -> float:
    """Midnight at the start of ``day`` as a decimal year (2008-07-01 -> 2008.4959)."""
    first = dt.date(day.year, 1, 1)
    length = (dt.date(day.year + 1, 1, 1) - first).days
    return day.year + (day - first).days / length


def load_observations(path: str | Path) -> list[Observation]:
    """Read and check an observation file.

    Parameters
    ----------
    path : path-like
        A CSV file (UTF-8, header row) in the format described in the module docstring.

    Raises
    ------
    InputError
        Naming the file, the line and the field of the first malformed row.
    """
    path = Path(path)
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = _header(path, reader)
    rows = _rows(path, reader, header)
    if not rows:
        raise InputError(f"{path}: no data rows under the header; add observations")
    return rows


def _read_text(path: Path) -> str:
    """The file's text, refused unless it is a UTF-8 text file of sensible size."""
    if not path.exists():
        raise InputError(f"{path}: observation file not found; check the path")
    if not path.is_file():
        raise InputError(f"{path}: is not a file; give an observation file (.csv)")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise InputError(f"{path}: {size} bytes is too large for an observation file (at most "
                         f"{MAX_BYTES}); give the right file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: byte {exc.start} is not UTF-8; save the file as "
                         "UTF-8 text") from None
    if "\x00" in text:
        raise InputError(f"{path}: contains NUL bytes; an observation file is CSV text")
    if not text.strip():
        raise InputError(f"{path}: the file is empty; it needs a header row "
                         f"({','.join(REQUIRED_COLUMNS)}) and data rows")
    return text


def _header(path: Path, reader) -> list[str]:
    """The header row: every required column, no unknown or repeated one."""
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise InputError(f"{path}:1: not valid CSV ({exc}); fix the header row") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}:1: missing column(s) {', '.join(missing)}; the header must "
                         f"name {','.join(REQUIRED_COLUMNS)}")
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise InputError(f"{path}:1: unknown column {unknown[0]!r}; allowed: "
                         f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"{path}:1: column {repeated[0]!r} appears twice; keep one")
    return header


def _rows(path: Path, reader, header: list[str]) -> list[Observation]:
    """The data rows under ``header`` (blank lines skipped), none repeating another's series,
    cluster, region and period."""
    rows: list[Observation] = []
    seen: dict[tuple, int] = {}
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise InputError(f"{path}:{line}: {len(fields)} fields for {len(header)} "
                                 "columns; quote values that contain commas")
            row = _observation(path, line, dict(zip(header, fields, strict=True)))
            key = (row.series, row.cluster, row.region.casefold(), row.start, row.end)
            if key in seen:
                raise InputError(f"{path}:{line}: duplicate of line {seen[key]} (same series, "
                                 "cluster, region and period); keep one of them")
            seen[key] = line
            rows.append(row)
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: not valid CSV ({exc}); fix the quoting "
                         "on that line") from None
    return rows


def _observation(path: Path, line: int, raw: dict[str, str]) -> Observation:
    where = f"{path}:{line}"
    fields = {k: v.strip() for k, v in raw.items()}
    for name in ("series", "cluster", "region", "unit", "source"):
        if name in fields and not fields[name]:
            raise InputError(f"{where}: field {name} is empty; every row needs its {name}")
    for name in ("series", "cluster", "region"):  # names matched against the settings
        if name in raw and raw[name] != fields[name]:
            raise InputError(f"{where}: field {name} {raw[name]!r} has spaces around it; "
                             "remove the spaces")
    start = _date(where, "period_start", fields["period_start"])
    end = _date(where, "period_end", fields["period_end"])
    if end < start:
        raise InputError(f"{where}: period_end {end} is before period_start {start}; swap "
                         "them or fix the dates")
    value = _number(where, "value", raw["value"])
    low, high = MAGNITUDE
    if value and not low <= abs(value) <= high:
        raise InputError(f"{where}: field value {raw['value']} is beyond what any statistic "
                         f"measures (a magnitude from {low:g} to {high:g} in its unit, or 0); "
                         "check the value and its unit")
    word, _, note = fields["basis"].partition(" ")
    if word.casefold() not in BASES:
        raise InputError(f"{where}: field basis {fields['basis']!r} must begin with "
                         "'reported' or 'derived'; say which the value is")
    return Observation(
        series=fields["series"].casefold(), cluster=fields["cluster"].casefold(),
        start=start, end=end, value=value, unit=fields["unit"], basis=word.casefold(),
        basis_note=note.strip(), source=fields["source"],
        evidence=fields.get("evidence", ""), line=line, file=str(path),
        region=fields.get("region", DEFAULT_REGION),
    )


def _number(where: str, field: str, text: str) -> float:
    if NUMBER.fullmatch(text):
        value = float(text)
        if math.isfinite(value):
            return value
    fix = next((fix for applies, fix in _NUMBER_FIXES if applies(text)),
               "write it as digits with a decimal point (e.g. 91.40)")
    if not fix or NUMBER.fullmatch(text):  # nan, inf, or beyond the largest float
        raise InputError(f"{where}: field {field} is {text!r}; give a finite number or leave "
                         "the row out")
    raise InputError(f"{where}: field {field} {text!r} is not a number; {fix}")


def _date(where: str, field: str, text: str) -> dt.date:
    try:
        if not DATE.fullmatch(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{where}: field {field} {text!r} is not a date; write it as "
                         "YYYY-MM-DD") from None


def load_observation_files(paths: list[str | Path]) -> list[Observation]:
    """Read several observation files: their rows in order, file after file.

    The same file given twice, or one statistic (series, cluster, region and period) in two
    files, is refused: its rows would count twice.
    """
    rows: list[Observation] = []
    files: dict[Path, str] = {}
    seen: dict[tuple, Observation] = {}
    for path in paths:
        resolved = Path(path).resolve()
        if resolved in files:
            raise InputError(f"{path}: given twice (as {files[resolved]} too); give each "
                             "observation file once")
        files[resolved] = str(path)
        for row in load_observations(path):
            key = (row.series, row.cluster, row.region.casefold(), row.start, row.end)
            if key in seen:
                raise InputError(f"{row.where}: the same series, cluster, region and period "
                                 f"as {seen[key].where}; keep one of them")
            seen[key] = row
            rows.append(row)
    return rows
