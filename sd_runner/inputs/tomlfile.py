"""Read TOML data files with errors that name the file, the line and the fix."""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any

from sd_runner.errors import InputError

MAX_BYTES = 1_000_000  # scenario, lever and config files are a few kilobytes


class TomlFile:
    """A parsed TOML file that remembers its text, to point errors at lines.

    Parameters
    ----------
    path : path-like
        The file to read.
    what : str
        What the file is meant to be (``"scenario file"``), for error messages.
    """

    def __init__(self, path: str | Path, what: str):
        self.path = Path(path)
        self.what = what
        if not self.path.exists():
            raise InputError(f"{self.path}: {what} not found; check the path")
        if not self.path.is_file():
            raise InputError(f"{self.path}: is not a file; give the path of a {what} (.toml)")
        size = self.path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(
                f"{self.path}: {size} bytes is too large for a {what} (at most {MAX_BYTES}); "
                "give the right file"
            )
        raw = self.path.read_bytes()
        try:
            # utf-8-sig drops a leading byte-order mark, which some editors write and TOML
            # parsers refuse.
            self.text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{self.path}: byte {exc.start} is not UTF-8; save the {what} as UTF-8 text"
            ) from None
        if "\x00" in self.text:
            raise InputError(f"{self.path}: contains NUL bytes; a {what} is TOML text")
        try:
            self.data: dict[str, Any] = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(
                f"{self.path}: not valid TOML: {exc}; fix the syntax there"
            ) from None
        if not self.data:
            raise InputError(f"{self.path}: the {what} is empty; see the bundled examples")

    def line_of(self, key: str, within: str | None = None) -> int | None:
        """First line (1-based) where ``key`` appears as a TOML key or table name.

        With ``within``, the search starts at the first line that mentions ``within`` (the
        table the key belongs to).
        """
        lines = self.text.splitlines()
        offset = 0
        if within is not None:
            offset = (self.line_of(within) or 1) - 1
        pattern = re.compile(
            r'^\s*(\[\[?[^\]]*)?("|\')?' + re.escape(key) + r'("|\')?\s*(=|\]|\.)'
        )
        loose = re.compile(re.escape(key))
        for matcher in (pattern, loose):
            for number, line in enumerate(lines[offset:], start=offset + 1):
                if matcher.search(line):
                    return number
        return None

    def where(self, key: str, within: str | None = None) -> str:
        """``path:line`` for ``key``, or the path alone when the key is not found."""
        line = self.line_of(key, within)
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, key: str, message: str, within: str | None = None) -> InputError:
        """An :class:`InputError` located at ``key`` (in table ``within``)."""
        return InputError(f"{self.where(key, within)}: {message}")

    def number(self, value: Any, key: str, field: str, within: str | None = None) -> float:
        """``value`` as a finite float, or an error naming ``field``."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"{field} must be a number, not {value!r}", within)
        if not math.isfinite(value):
            raise self.error(key, f"{field} must be a finite number, not {value!r}", within)
        return float(value)

    def table(self, value: Any, key: str, field: str) -> dict[str, Any]:
        """``value`` as a table, or an error naming ``field``."""
        if not isinstance(value, dict):
            raise self.error(key, f"{field} must be a table ([{field}]), not {value!r}")
        return value

    def text_field(self, value: Any, key: str, field: str, within: str | None = None) -> str:
        """``value`` as a string, or an error naming ``field``."""
        if not isinstance(value, str):
            raise self.error(key, f"{field} must be a string in quotes, not {value!r}", within)
        return value

    def no_unknown_keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        """Raise for the first key of ``table`` not in ``allowed``."""
        for key in table:
            if key not in allowed:
                raise self.error(
                    key,
                    f"unknown key {key!r} in {where}; allowed: {', '.join(sorted(allowed))}",
                )
