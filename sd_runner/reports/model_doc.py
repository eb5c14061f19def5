"""Generate the reference tables of ``models/README.md`` from the ``.mdl``.

Run ``python -m sd_runner.reports.model_doc models/README.md`` after editing the model to refresh
the tables between the ``<!-- generated:start -->`` and ``<!-- generated:end -->`` markers;
``--check`` only reports whether they are current (the test suite runs the same check).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from sd_runner.model.mdl_text import MdlEntry, read_mdl, split_top_level, stock_flows
from sd_runner.results.loops import code_order

START = "<!-- generated:start -->"
END = "<!-- generated:end -->"

#: Words in a comment that say where a value comes from, in the order they are looked for.
BASIS_WORDS = (
    ("estimated by calibration", "calibrated to data"),
    ("data row", "data"), ("export rows", "data"), ("derived", "derived from data"),
    ("statistical yearbook", "data"), ("regulations of the prc", "law"),
    ("paper", "paper"), ("literature", "literature"), ("assumed", "assumed"),
    ("lever", "policy input (off by default)"),
)
_CONTROLS = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}


def basis(entry: MdlEntry) -> str:
    """Where a parameter's value comes from, read off its comment; ``""`` when it does not say."""
    if entry.kind == "auxiliary":
        return "computed from other parameters"
    comment = entry.comment.casefold()
    if BASIS_WORDS[0][0] in comment:  # a calibrated value's source is the calibration
        return BASIS_WORDS[0][1]
    found = [(comment.find(word), label) for word, label in BASIS_WORDS if word in comment]
    return min(found)[1] if found else ""


def is_parameter(entry: MdlEntry) -> bool:
    """Constants, lookup tables and computed initial values: what a reader must source."""
    if entry.name in _CONTROLS:
        return False
    if entry.kind in ("constant", "lookup"):
        return True
    return entry.kind == "auxiliary" and entry.name.startswith("Initial ")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _value(entry: MdlEntry, ranges: dict[str, list[str]]) -> str:
    if entry.kind == "lookup":
        return f"table {entry.expression}"
    if entry.kind == "auxiliary":
        return f"= {entry.expression}"
    numbers = [part for _, part in split_top_level(entry.expression, ",")]
    elements = ranges.get(entry.subscripts, [])
    if len(numbers) > 1 and len(numbers) == len(elements):
        return "; ".join(f"{e} {n}" for e, n in zip(elements, numbers, strict=True))
    return numbers[0]


def _range(entry: MdlEntry) -> str:
    """The range the units field declares, as written (``[0,1]``), or nothing."""
    return f"[{entry.value_range}]" if entry.value_range else ""


def _calibrated(entry: MdlEntry, fitted: dict[str, float]) -> str:
    values = []
    for name, value in fitted.items():
        base, _, element = name.partition("[")
        if base.strip().casefold() == entry.name.casefold():
            label = element.rstrip("]").strip()
            values.append(f"{label} {value:.4g}" if label else f"{value:.4g}")
    return "; ".join(values)


def default_fit(mdl: str | Path) -> dict[str, float]:
    """The committed fit beside the model's folder (``../calibration/fit``), if any."""
    path = Path(mdl).resolve().parent.parent / "calibration" / "fit" / "parameters.toml"
    if not path.is_file():
        return {}
    return {k: float(v) for k, v in tomllib.loads(path.read_text("utf-8"))["parameters"].items()}


def generated_markdown(mdl: str | Path, fitted: dict[str, float] | None = None) -> str:
    """The generated part of the model README for ``mdl``, with the calibrated values of
    ``fitted`` (default: the committed fit) beside the ``.mdl``'s own."""
    fitted = default_fit(mdl) if fitted is None else fitted
    entries = read_mdl(mdl)
    ranges = {e.name: [p for _, p in split_top_level(e.expression, ",")]
              for e in entries if e.kind == "subscript"}
    lines = [START, "", "### Stocks and flows", "",
             "| Stock | Unit | Inflows | Outflows | Initial value | Sector |",
             "|---|---|---|---|---|---|"]
    for e in entries:
        if e.kind == "stock":
            inflows, outflows, initial = stock_flows(e)
            lines.append(f"| {_cell(e.label)} | {e.units} | {_cell(', '.join(inflows))} | "
                         f"{_cell(', '.join(outflows) or '-')} | {_cell(initial)} | {e.group} |")
    lines += _loop_names(Path(mdl).parent / "loops.toml")
    lines += ["", "### Parameters and initial values", "",
              "The calibrated column holds the committed fit (`calibration/fit/parameters.toml`), "
              "which runs apply on top of the `.mdl`'s values.", "",
              "| Name | Unit | Value | Basis | Calibrated | Range | Source and meaning |",
              "|---|---|---|---|---|---|---|"]
    for e in entries:
        if is_parameter(e):
            lines.append(f"| {_cell(e.label)} | {e.units} | {_cell(_value(e, ranges))} | "
                         f"{basis(e) or '**missing**'} | {_calibrated(e, fitted)} | "
                         f"{_range(e)} | {_cell(e.comment)} |")
    lines += ["", "### Time settings", "", "| Name | Value | Unit |", "|---|---|---|"]
    for e in entries:
        if e.name in _CONTROLS:
            lines.append(f"| {e.name} | {e.expression} | {e.units} |")
    groups = [g for g in dict.fromkeys(e.group for e in entries) if g and g != "Control"]
    lines += ["", "### Equations by sector", ""]
    for group in groups:
        lines += [f"#### {group}", "", "| Variable | Equation | Unit | Meaning |",
                  "|---|---|---|---|"]
        for e in entries:
            if e.group == group and e.kind in ("stock", "auxiliary"):
                lines.append(f"| {_cell(e.label)} | `{_cell(e.expression)}` | {e.units} | "
                             f"{_cell(e.comment)} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def _loop_names(path: Path) -> list[str]:
    """The named loops of the loop names file beside the model, if there is one."""
    if not path.is_file():
        return []
    named = tomllib.loads(path.read_text(encoding="utf-8")).get("loops", {})
    order = sorted(named, key=code_order)
    lines = ["", "### Named feedback loops", "",
             f"From `{path.name}` (R reinforcing, B balancing, E polarity changes with the "
             "state); `sd-runner loops` lists every loop with the polarity worked out from the "
             "equations, and the tests check each name against the model.", "",
             "| Loop | Variables, in causal order | What it means |", "|---|---|---|"]
    for code in order:
        entry = named[code]
        lines.append(f"| {code} {_cell(entry.get('name', ''))} | "
                     f"{_cell(' → '.join(entry['variables']))} | "
                     f"{_cell(entry.get('description', ''))} |")
    return lines


def refresh(readme: str | Path, mdl: str | Path) -> tuple[str, str]:
    """The README's current text and the text with its generated part refreshed."""
    text = Path(readme).read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), flags=re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme}: no {START} ... {END} markers; add them where the tables go")
    return text, pattern.sub(lambda _: generated_markdown(mdl), text)


def main(argv: list[str] | None = None) -> int:
    """Refresh (or with ``--check`` verify) the tables of a model README."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    readme = Path(args[0]) if args else Path("models/README.md")
    mdl = Path(args[1]) if len(args) > 1 else readme.parent / "value_chain_capture.mdl"
    current, refreshed = refresh(readme, mdl)
    if check:
        if current != refreshed:
            print(f"{readme}: tables are out of date; run "
                  f"python -m sd_runner.reports.model_doc {readme}")
            return 1
        return 0
    Path(readme).write_text(refreshed, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
