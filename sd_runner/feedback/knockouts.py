"""Loop knockouts: run the model with named feedback loops cut, and see what changes.

A loop is cut at one of its links, the ``cut`` that ``models/loops.toml`` gives it: the link's
target sees the source held at its value at INITIAL TIME (the model starts in its 2003
equilibrium, so that is the reference value), while the rest of the model still sees the
source move. Every cut is a switch of one compiled variant of the model
(:mod:`sd_runner.engine.cuts`), so running any number of knockouts compiles once, and the
variant runs the same parameters (the calibration too) as the model it comes from.

:func:`knockout_table` reports how cutting each loop changes the baseline and each lever's
effect; :func:`knockout_check` says, per loop, whether the cut breaks it in the causal graph
and the cut runs stay within the ranges the model declares.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sd_runner.engine.cuts import compile_with_cuts
from sd_runner.engine.fast import FastModel, Kernel
from sd_runner.errors import InputError
from sd_runner.feedback.graph import CausalGraph
from sd_runner.inputs.scenarios import Scenario, scenario_params
from sd_runner.model.breaches import Breach, first_breaches
from sd_runner.model.mdl_text import clean_name
from sd_runner.results.loops import Loop, LoopName, code_order, loop_id
from sd_runner.results.matrix import BASELINE
from sd_runner.simulate.lever_matrix import lever_matrix
from sd_runner.validation.checks import CheckResult

#: What the knockout table compares.
OUTCOMES = ("Margin", "Buyer Dependence", "Total Profit")

#: The bundled scenario added to the levers of the lever matrix.
COMBINED = "domestic-value-chain"

Link = tuple[str, str]


class KnockoutModel:
    """A fast model whose named loops (and any other causal links) can be cut at run time.

    Parameters
    ----------
    model : FastModel
        The model, with its parameters (a calibration) set; later settings apply too.
    loop_names : iterable of LoopName
        Named loops; each with a ``cut`` can be cut by its code.
    links : iterable of (str, str)
        Further links ``(source, target)`` to make cuttable, by Vensim name.

    Raises
    ------
    InputError
        When a cut or a link is not a causal link of the model.
    """

    def __init__(self, model: FastModel, loop_names: Iterable[LoopName] = (),
                 links: Iterable[Link] = ()):
        if not isinstance(model, FastModel):
            raise InputError("loop knockouts run on the fast engine; give a FastModel")
        self.model = model
        self.graph = CausalGraph(model.path)
        self.names = {entry.code: entry for entry in loop_names if entry.cut}
        self.cuts = {code: self._graph_link(entry.cut, f"loop {code}: ")
                     for code, entry in self.names.items()}
        chosen = set(self.cuts.values()) | {self._graph_link(link) for link in links}
        variant = compile_with_cuts(model.path, sorted(chosen))
        self.variant = model.with_kernel(Kernel(model.path, variant.compiled))
        self.compile_seconds = self.variant.kernel.warm_up()
        constants = variant.compiled.constants
        self.switches = {link: constants[(name, ())] for link, name in variant.switches.items()}

    def _graph_link(self, link, where: str = "") -> Link:
        """``link`` as the causal graph names it; an InputError when it is not one of its
        links."""
        if not (isinstance(link, tuple | list) and len(link) == 2
                and all(isinstance(name, str) for name in link)):
            raise InputError(f"{where}{link!r} is not a link; give (source, target)")
        names = [self.graph.by_clean.get(clean_name(name), name) for name in link]
        if not self.graph.graph.has_edge(*names):
            raise InputError(f"{where}{link[0]} -> {link[1]} is not a causal link of "
                             f"{self.model.path.name}; `sd-runner loops` lists its links")
        return names[0], names[1]

    # ------------------------------------------------------------------ cuts
    @property
    def codes(self) -> list[str]:
        """The codes of the loops that can be cut, in code order."""
        return sorted(self.cuts, key=code_order)

    def link(self, item: str | Sequence[str]) -> Link:
        """The link a cut names: a loop code (``"R1"``) or a link ``(source, target)``."""
        if isinstance(item, str):
            if item not in self.cuts:
                raise InputError(f"cut {item!r} is not a loop with a cut; use one of "
                                 f"{', '.join(self.codes)} or a (source, target) link")
            return self.cuts[item]
        link = self._graph_link(item, "cut ")
        if link not in self.switches:
            raise InputError(f"cut {link[0]} -> {link[1]}: this knockout model cannot cut it; "
                             "name it in links= when making the model")
        return link

    def constants_vector(self, params: dict | None = None,
                         cut: str | Iterable = ()) -> np.ndarray:
        """The variant's constants with ``params`` (PySD-style) applied and ``cut`` made."""
        consts = self.variant.constants_vector(params)
        for item in [cut] if isinstance(cut, str) else cut:
            consts[self.switches[self.link(item)]] = 1.0
        return consts

    def run(self, params: dict | None = None, cut: str | Iterable = (), *,
            return_columns=None, time_step=None, saveper=None, final_time=None,
            check_finite=True) -> pd.DataFrame:
        """Run once with the loops (codes) or links in ``cut`` cut; otherwise as
        :meth:`FastModel.run`, with the same result layout."""
        return self.variant.run_constants(
            self.constants_vector(params, cut), return_columns=return_columns,
            time_step=time_step, saveper=saveper, final_time=final_time,
            check_finite=check_finite)

    def run_many(self, params: list[dict], cuts: list, columns: list[str]) -> np.ndarray:
        """Every parameter set under every cut (each an argument ``cut`` of :meth:`run`), in
        one call of the kernel: ``[cut, parameter set, saved time, column]``, unchecked."""
        consts = np.stack([self.constants_vector(p, c) for c in cuts for p in params])
        slots = np.asarray(self.variant._column_slots(columns), dtype=np.int64)
        out = self.variant.kernel.run(consts, self.variant.time_axis(), slots)
        return out.reshape(len(cuts), len(params), *out.shape[1:])

    # ------------------------------------------------------------------ loops
    @functools.cached_property
    def loops(self) -> list[Loop]:
        """Every feedback loop of the model."""
        return self.graph.loops()

    def broken(self, item: str | Sequence[str]) -> list[Loop]:
        """The loops that cutting ``item`` (a code or a link) breaks: those through it."""
        link = self.link(item)
        return [loop for loop in self.loops
                if any((k.source, k.target) == link for k in loop.links)]

    def named_broken(self, item: str | Sequence[str]) -> list[str]:
        """The codes of the named loops that cutting ``item`` breaks."""
        ids = {loop.id for loop in self.broken(item)}
        return [code for code in self.codes
                if loop_id(self.names[code].variables) in ids]


def knockout_scenarios(model: FastModel) -> list[Scenario]:
    """The baseline, every lever of the lever matrix at its full programme, and the bundled
    combined strategy."""
    from sd_runner.inputs.levers import load_levers
    from sd_runner.inputs.scenarios import load_scenario

    levers = load_levers()
    members = [m.scenario for m in lever_matrix(levers)
               if m.lever == BASELINE or (m.lever != "all" and m.level == 1.0)]
    return [*members, load_scenario(COMBINED, levers, model)]


def _labels(scenarios: list[Scenario]) -> list[str]:
    """Scenario names as the table gives them: a lever's, not its matrix member's."""
    return [s.name.removesuffix("@1") for s in scenarios]


def knockout_table(knockouts: KnockoutModel, scenarios: list[Scenario] | None = None,
                   codes: list[str] | None = None, outcomes: Sequence[str] = OUTCOMES,
                   year: float | None = None) -> pd.DataFrame:
    """How cutting each loop changes the baseline and each lever's effect in ``year``.

    Parameters
    ----------
    knockouts : KnockoutModel
    scenarios : list of Scenario, optional
        The first is the baseline; default :func:`knockout_scenarios`.
    codes : list of str, optional
        Loops to cut, one at a time; default every loop with a cut.
    outcomes : sequence of str
        Subscripted outcomes, reported per element.
    year : float, optional
        Default FINAL TIME.

    Returns
    -------
    pandas.DataFrame
        Columns ``loop``, ``scenario``, ``cluster``, ``outcome``, ``intact``, ``cut`` and
        ``change`` (cut minus intact). For the baseline (first scenario) the values are the
        outcome's; for every other scenario its effect, the scenario minus the baseline.
    """
    model = knockouts.variant
    scenarios = scenarios or knockout_scenarios(model)
    codes = codes or knockouts.codes
    columns = model.expand_columns(list(outcomes))
    year = model.control("FINAL TIME") if year is None else year
    at = int(np.argmin(np.abs(model.time_axis().times - year)))
    params = [scenario_params(s, model) for s in scenarios]
    values = knockouts.run_many(params, [(), *([code] for code in codes)], columns)[:, :, at]
    values[:, 1:] -= values[:, :1]  # lever effects against the baseline in the same state
    rows = []
    for number, code in enumerate(codes, start=1):
        for index, name in enumerate(_labels(scenarios)):
            for position, column in enumerate(columns):
                outcome, _, element = column.partition("[")
                intact, cut = values[0, index, position], values[number, index, position]
                rows.append((code, name, element.rstrip("]"), outcome, intact, cut,
                             cut - intact))
    return pd.DataFrame(rows, columns=["loop", "scenario", "cluster", "outcome", "intact",
                                       "cut", "change"])


def cut_breaches(knockouts: KnockoutModel, scenarios: list[Scenario],
                 codes: list[str]) -> dict[str, list[tuple[str, Breach]]]:
    """Per loop, the scenarios whose run with the loop cut leaves the ranges the model
    declares (or is not finite) at a saved time, and the first such value of each."""
    model = knockouts.variant
    columns = [c for c in model.output_columns()
               if isinstance(model._column_slots([c])[0], int)]
    lower, upper = model.declared_limits(columns)
    params = [scenario_params(s, model) for s in scenarios]
    values = knockouts.run_many(params, [[code] for code in codes], columns)
    times = model.time_axis().times
    found = {}
    for number, code in enumerate(codes):
        breaches = first_breaches(values[number], times, columns, lower, upper)
        found[code] = [(s.name, b) for s, b in zip(scenarios, breaches, strict=True) if b]
    return found


def knockout_check(knockouts: KnockoutModel, scenarios: list[Scenario] | None = None,
                   codes: list[str] | None = None) -> list[CheckResult]:
    """One check per loop, named ``knockout CODE``: passed when its cut breaks it in the
    causal graph and every scenario (default :func:`knockout_scenarios`) run with it cut
    stays within the ranges the model declares."""
    scenarios = scenarios or knockout_scenarios(knockouts.variant)
    codes = codes or knockouts.codes
    breaches = cut_breaches(knockouts, scenarios, codes)
    results = []
    for code in codes:
        source, target = knockouts.cuts[code]
        broken = knockouts.broken(code)
        breaks = loop_id(knockouts.names[code].variables) in {loop.id for loop in broken}
        others = [c for c in knockouts.named_broken(code) if c != code]
        wrong = breaches[code]
        kept = knockouts.names[code].keeps_in_range
        detail = (f"cutting {source} -> {target} breaks {len(broken)} of "
                  f"{len(knockouts.loops)} loops"
                  + (f" (also {', '.join(others)})" if others else "")
                  + ("" if breaks else f", but not {code} itself") + "; ")
        if wrong:
            detail += (f"{len(wrong)} of {len(scenarios)} runs leave the declared ranges, "
                       f"first {wrong[0][0]}: {wrong[0][1].describe()}")
        else:
            detail += f"all {len(scenarios)} runs stay within the declared ranges"
        if kept:
            # The loop is declared to keep ``kept`` in range: its knockout must let that
            # variable, and only it, leave the range.
            leaves = bool(wrong) and all(
                breach.column.partition("[")[0] == kept for _, breach in wrong)
            detail += (f" (as loops.toml declares: the loop keeps {kept} in range)" if leaves
                       else f"; loops.toml declares that the loop keeps {kept} in range, "
                       "so cutting it should let that, and only that, leave the range")
            passed = breaks and leaves
        else:
            passed = breaks and not wrong
        results.append(CheckResult(f"knockout {code}", passed, detail))
    return results


#: Constants that switch the buyers' squeeze off: the margin squeeze is what that adds to the
#: margin.
SQUEEZE_OFF = {"Buyer Squeeze Strength": 0.0}


def capture_table(knockouts: KnockoutModel, codes: list[str] | None = None,
                  scenario: Scenario | None = None, year: float | None = None) -> pd.DataFrame:
    """Capture per cluster in ``year`` (default FINAL TIME) of ``scenario`` (default the
    baseline), intact and with each loop cut: buyer dependence, and the margin squeeze (the
    margin with :data:`SQUEEZE_OFF` minus the margin).

    Returns
    -------
    pandas.DataFrame
        Columns ``loop`` (``""``: intact), ``cluster``, ``dependence``, ``squeeze``,
        ``dependence_change`` and ``squeeze_change`` (cut minus intact).
    """
    model = knockouts.variant
    codes = codes or knockouts.codes
    params = scenario_params(scenario, model) if scenario else {}
    dependence = model.expand_columns(["Buyer Dependence"])
    margin = model.expand_columns(["Margin"])
    year = model.control("FINAL TIME") if year is None else year
    at = int(np.argmin(np.abs(model.time_axis().times - year)))
    values = knockouts.run_many([params, {**params, **SQUEEZE_OFF}],
                                [(), *([code] for code in codes)], dependence + margin)[..., at, :]
    held = values[:, 0, :len(dependence)]
    squeeze = values[:, 1, len(dependence):] - values[:, 0, len(dependence):]
    rows = []
    for number, code in enumerate(["", *codes]):
        for position, column in enumerate(dependence):
            cluster = column.partition("[")[2].rstrip("]")
            rows.append((code, cluster, held[number, position], squeeze[number, position],
                         held[number, position] - held[0, position],
                         squeeze[number, position] - squeeze[0, position]))
    return pd.DataFrame(rows, columns=["loop", "cluster", "dependence", "squeeze",
                                       "dependence_change", "squeeze_change"])
