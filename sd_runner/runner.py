"""What the commands do: load the model and levers once, run and compare scenarios."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

from sd_runner import __version__
from sd_runner.comparison import Comparison, compare_runs
from sd_runner.errors import InputError
from sd_runner.levers import Lever, load_levers
from sd_runner.model import SDModel
from sd_runner.scenarios import Scenario, bundled_scenario_names, load_scenario
from sd_runner.simulation import KEY_OUTCOMES, ScenarioRun, run_scenario

REFERENCE = "baseline"

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


ENGINES = ("fast", "pysd")


@functools.lru_cache(maxsize=2)
def bundled_model(engine: str = "fast") -> SDModel:
    """The bundled model, loaded once per process and engine.

    ``"fast"`` (default) runs the numba kernel compiled from the ``.mdl``; ``"pysd"`` runs
    PySD's translation. Both give the same numbers (tests hold them to 1e-9).
    """
    if engine == "pysd":
        return SDModel()
    if engine == "fast":
        from sd_runner.engine import FastModel

        return FastModel()
    raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")


@functools.lru_cache(maxsize=1)
def bundled_levers() -> dict[str, Lever]:
    """The bundled lever definitions."""
    return load_levers()


def scenario(name_or_path: str, engine: str = "fast") -> Scenario:
    """A bundled or user scenario, checked against the bundled model."""
    return load_scenario(name_or_path, bundled_levers(), bundled_model(engine))


def run_one(name_or_path: str, progress: Progress = _quiet, engine: str = "fast") -> ScenarioRun:
    """Run one scenario with every variable of the model returned."""
    chosen = scenario(name_or_path, engine)
    progress(f"running {chosen.name} ({engine} engine)")
    return run_scenario(bundled_model(engine), chosen)


def compare(names: list[str], progress: Progress = _quiet, engine: str = "fast") -> Comparison:
    """Run ``names`` (every bundled scenario when empty) and the baseline, and compare them.

    Scenarios are all read and checked before the first run, so a bad file fails at once.
    """
    names = names or bundled_scenario_names()
    chosen = [scenario(name, engine) for name in names]
    if not any(s.name == REFERENCE for s in chosen):
        chosen.insert(0, scenario(REFERENCE, engine))
    chosen.sort(key=lambda s: s.name != REFERENCE)
    seen = set()
    unique = []
    for s in chosen:
        if s.name not in seen:
            unique.append(s)
            seen.add(s.name)
    runs = []
    for number, s in enumerate(unique, start=1):
        progress(f"running {s.name} ({number}/{len(unique)}, {engine} engine)")
        runs.append(run_scenario(bundled_model(engine), s))
    clusters = bundled_model(engine).subscripts["Cluster"]
    return compare_runs(runs, clusters, KEY_OUTCOMES)


def wide_csv(result: ScenarioRun) -> str:
    """The run as a wide CSV: a ``time`` column, then one column per variable and element."""
    buffer = io.StringIO()
    # Floats throughout, so both engines (PySD keeps integer constants as integers) write
    # the same text.
    result.frame.astype(float).to_csv(buffer, index=True, index_label="time",
                                      lineterminator="\n")
    return buffer.getvalue()


def comparison_csvs(comparison: Comparison) -> dict[str, str]:
    """File name to CSV text: one wide CSV per scenario and ``outcomes.csv``."""
    files = {f"{run.scenario.name}.csv": wide_csv(run) for run in comparison.runs}
    buffer = io.StringIO()
    comparison.table.to_csv(buffer, index=False, lineterminator="\n")
    files["outcomes.csv"] = buffer.getvalue()
    return files


def comparison_html(comparison: Comparison) -> str:
    """The HTML report of a comparison."""
    from sd_runner.report import comparison_report

    model = bundled_model()
    return comparison_report(
        comparison,
        generated_by=f"sd-runner {__version__}, model {model.path.name} "
        f"(sha256 {model.digest[:12]})",
    )


def outcome_summary(comparison: Comparison, year: int = 2035) -> str:
    """A plain-text table of margin and buyer dependence in ``year``, with differences."""
    table = comparison.table
    rows = table[(table["year"] == year) & table["outcome"].isin(["Margin", "Buyer Dependence"])]
    wide = rows.pivot_table(index=["outcome", "scenario"], columns="cluster",
                            values="value", sort=False)
    return f"Outcomes in {year} (fractions):\n" + wide.round(4).to_string()


def describe_levers_and_scenarios() -> list[str]:
    """Lines listing the levers, their settings and the bundled scenarios."""
    lines = ["Levers (the paper's seven countermeasures):"]
    for lever in bundled_levers().values():
        lines.append(f"  {lever.id}  [{lever.number}] {lever.title} "
                     f"(from {lever.start_year:g}, ramp {lever.ramp_years:g} years)")
        for s in lever.settings:
            lines.append(f"      {s.variable}  {s.unit}  range [{s.min:g}, {s.max:g}], "
                         f"off {s.default:g}, full {s.full:g}")
    lines.append("")
    lines.append("Bundled scenarios:")
    for name in bundled_scenario_names():
        # Listing needs names only: PySD's translation loads faster than the kernel.
        lines.append(f"  {name}  {scenario(name, 'pysd').description}")
    return lines
