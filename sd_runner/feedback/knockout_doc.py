"""Generate the loop-knockout tables of ``models/README.md``.

Run ``python -m sd_runner.feedback.knockout_doc models/README.md`` after changing the model, its
calibration, the levers or ``models/loops.toml`` to refresh the tables between the
``<!-- knockouts:start -->`` and ``<!-- knockouts:end -->`` markers; ``--check`` only reports
whether they are current (the test suite runs the same check). It runs the calibrated model
with every named loop cut in turn (:mod:`sd_runner.feedback.knockouts`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

from sd_runner.feedback.knockouts import (
    KnockoutModel,
    capture_table,
    cut_breaches,
    knockout_scenarios,
    knockout_table,
)
from sd_runner.outputs.files import write_text

START = "<!-- knockouts:start -->"
END = "<!-- knockouts:end -->"

#: Levers named per row, by how much cutting the loop changes their effect.
TOP_LEVERS = 2
#: Loops shown beside R1 in the capture table: those whose cut lowers dependence most.
CAPTURE_ROWS = 3


def _number(value: float, digits: int) -> str:
    """Signed, and plain 0 where it rounds to zero (no "-0.00")."""
    text = f"{value:+.{digits}f}"
    return text if float(text) else f"{0:.{digits}f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def knockout_markdown(knockouts: KnockoutModel) -> str:
    """The generated part of the "Loop knockouts" section, markers included."""
    model = knockouts.variant
    scenarios = knockout_scenarios(model)
    table = knockout_table(knockouts, scenarios)
    breaches = cut_breaches(knockouts, scenarios, knockouts.codes)
    year = model.control("FINAL TIME")
    baseline = table[table.scenario == table.scenario.iloc[0]]
    levers = table[table.scenario != table.scenario.iloc[0]]
    lines = [START, "",
             f"Each loop cut in turn at its `cut` link; changes in {year:g}, cut minus intact: "
             "margin in percentage points and buyer dependence averaged over the four "
             "clusters, total profit summed over them (100 million USD a year). For a lever, "
             "the change of its effect (scenario minus baseline, each with the loop cut). "
             f"Loops broken: of the model's {len(knockouts.loops)}. Cut runs: whether the "
             f"{len(scenarios)} runs (baseline, the seven levers at their full programme and "
             "domestic-value-chain) stay within the ranges the model declares.", "",
             "| Loop | Cut link | Loops broken | Baseline: margin, dependence, profit | "
             "Lever effects changed most: margin (profit) | Lever effect on dependence "
             "changed most | Cut runs |",
             "|---|---|---:|---|---|---|---|"]
    for code in knockouts.codes:
        entry = knockouts.names[code]
        source, target = knockouts.cuts[code]
        others = [c for c in knockouts.named_broken(code) if c != code]
        broken = str(len(knockouts.broken(code))) + (f" (also {', '.join(others)})"
                                                     if others else "")
        base = _means(baseline[baseline.loop == code])
        effects = _means(levers[levers.loop == code], by="scenario")
        margin = effects["Margin"].abs().sort_values(ascending=False, kind="stable")
        changed = "; ".join(
            f"{name} {_number(100 * effects.loc[name, 'Margin'], 2)} "
            f"({_number(effects.loc[name, 'Total Profit'], 1)})"
            for name in margin.index[:TOP_LEVERS])
        dependence = effects["Buyer Dependence"].abs().idxmax()
        runs = "within ranges"
        if breaches[code]:
            name, breach = breaches[code][0]
            runs = (f"{len(breaches[code])} of {len(scenarios)} out of range: {breach.column} "
                    f"{breach.kind} {breach.limit:g} from {breach.time:g} in "
                    f"{name.removesuffix('@1')}")
        lines.append(
            f"| {code} {_cell(entry.name)} | {_cell(source)} → {_cell(target)} | {broken} | "
            f"{_number(100 * base['Margin'], 2)}, {_number(base['Buyer Dependence'], 3)}, "
            f"{_number(base['Total Profit'], 1)} | {changed} | {dependence} "
            f"{_number(effects.loc[dependence, 'Buyer Dependence'], 3)} | {_cell(runs)} |")
    lines += ["", *_capture_lines(knockouts, breaches, year), "", END]
    return "\n".join(lines)


def _means(rows: pd.DataFrame, by: str | None = None) -> pd.DataFrame | pd.Series:
    """Changes of the clusters combined: fractions averaged, profit summed."""
    keys = ([by] if by else []) + ["outcome"]
    mean = rows.groupby(keys)["change"].mean()
    total = rows.groupby(keys)["change"].sum()
    combined = mean.where(mean.index.get_level_values("outcome") != "Total Profit", total)
    return combined.unstack("outcome") if by else combined


def _capture_lines(knockouts: KnockoutModel, breaches: dict, year: float) -> list[str]:
    """Dependence and margin squeeze per cluster, intact, with R1 cut and with the cuts that
    lower dependence most in every cluster (among runs within ranges)."""
    capture = capture_table(knockouts)
    cut = capture[capture.loop != ""]
    lowering = cut.groupby("loop")["dependence_change"].agg(["max", "mean"])
    within = [not breaches[code] for code in lowering.index]
    lowering = lowering[(lowering["max"] < 0).to_numpy() & within]
    shown = ["R1", *lowering.sort_values("mean").index[:CAPTURE_ROWS]]
    clusters = list(dict.fromkeys(capture.cluster))
    lines = [f"Capture per cluster in {year:g}, baseline: buyer dependence and the margin "
             "squeeze (the margin with `Buyer Squeeze Strength` 0 minus the margin, points), "
             "intact and changed by R1's cut and by the cuts that lower dependence most in "
             "every cluster.", "",
             "| | " + " | ".join(clusters) + " |", "|---|" + "---:|" * len(clusters)]
    intact = capture[capture.loop == ""].set_index("cluster")
    for label, column, change, scale, digits in (
            ("Dependence", "dependence", "dependence_change", 1, 3),
            ("Squeeze", "squeeze", "squeeze_change", 100, 2)):
        lines.append(f"| {label}, intact | " + " | ".join(
            f"{scale * intact.loc[c, column]:.{digits}f}" for c in clusters) + " |")
        for code in shown:
            rows = cut[cut.loop == code].set_index("cluster")
            lines.append(f"| {label}, {code} cut | " + " | ".join(
                _number(scale * rows.loc[c, change], digits) for c in clusters) + " |")
    return lines


def refresh(readme: str | Path, knockouts: KnockoutModel) -> tuple[str, str]:
    """The README's current text and the text with its knockout tables refreshed."""
    text = Path(readme).read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), flags=re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme}: no {START} ... {END} markers; add them where the tables go")
    generated = knockout_markdown(knockouts)
    return text, pattern.sub(lambda _: generated, text)


def main(argv: list[str] | None = None) -> int:
    """Refresh (or with ``--check`` verify) the knockout tables of the model README."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    readme = Path(args[0]) if args else Path("models/README.md")
    from sd_runner import api

    current, refreshed = refresh(readme, api.bundled_knockouts())
    if check:
        if current != refreshed:
            print(f"{readme}: knockout tables are out of date; run "
                  f"python -m sd_runner.feedback.knockout_doc {readme}")
            return 1
        return 0
    write_text(readme, refreshed, "README")
    return 0


if __name__ == "__main__":
    sys.exit(main())
