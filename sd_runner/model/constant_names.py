"""When two names set the same model constant: Vensim names ignore case and spacing, and a
whole variable (``"Initial Export Sales"``) covers each of its elements
(``"Initial Export Sales[Textile]"``)."""

from __future__ import annotations


def _parts(name: str) -> tuple[str, str]:
    """(variable, element) of ``name``, case folded and with runs of spaces made one."""
    base, _, element = name.partition("[")
    variable = " ".join(base.split()).casefold()
    return variable, " ".join(element.rstrip().removesuffix("]").split()).casefold()


def overlap(name: str, other: str) -> bool:
    """Whether ``name`` and ``other`` set at least one value in common."""
    (variable, element), (other_variable, other_element) = _parts(name), _parts(other)
    return variable == other_variable and (
        element == other_element or not element or not other_element)


def first_overlap(names: list[str]) -> tuple[str, str] | None:
    """The first name that sets what an earlier one sets, with that earlier one; or None."""
    for position, name in enumerate(names):
        for earlier in names[:position]:
            if overlap(name, earlier):
                return name, earlier
    return None
