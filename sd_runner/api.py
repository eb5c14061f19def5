"""What the commands do: load the model and levers once, run and compare scenarios.

Every long call takes ``progress``, called as ``progress(stage, done, total)``
(:mod:`sd_runner.progress`); by default nothing is shown.

This module is the public API that ``sd_runner`` exports, one function per command, and is
longer than the others (about 730 lines) on purpose: each function only checks its arguments,
loads what it needs and calls the stage that does the work, so the whole API reads in one
place, in the order of the command line.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

from sd_runner import __version__, resources
from sd_runner.errors import ArgumentError, InputError
from sd_runner.feedback.comparison import DEFAULT_WINDOW, compare_loops
from sd_runner.inputs import limits
from sd_runner.inputs.levers import Lever, load_levers
from sd_runner.inputs.scenarios import (
    Scenario,
    bundled_scenario_names,
    check_distinct_names,
    load_scenario,
    scenario_params,
)
from sd_runner.model.loading import SDModel
from sd_runner.progress import Progress, quiet, step
from sd_runner.results.outcomes import KEY_OUTCOMES
from sd_runner.results.runs import Comparison, ScenarioRun
from sd_runner.simulate.comparison import compare_runs
from sd_runner.simulate.simulation import run_scenario

REFERENCE = "baseline"

ENGINES = ("fast", "pysd")

#: Seed of parameter draws and sensitivity samples unless one is given.
DEFAULT_SEED = 2003


#: ``fit`` values: the committed calibration, or none (the ``.mdl``'s own values).
CALIBRATED, UNCALIBRATED = resources.CALIBRATED, resources.UNCALIBRATED


@functools.lru_cache(maxsize=4)
def bundled_model(engine: str = "fast", fit: str = CALIBRATED) -> SDModel:
    """The bundled model, loaded once per process, engine and parameter set.

    ``engine``: ``"fast"`` (default) runs the machine code compiled from the ``.mdl``;
    ``"pysd"`` runs PySD's translation. Both give the same numbers (tests hold them to 1e-9).

    ``fit``: ``"calibrated"`` (default) applies the committed calibration
    (``calibration/fit/parameters.toml``) on top of the ``.mdl``'s values;
    ``"uncalibrated"`` keeps the ``.mdl``'s values; anything else is the path of a fit folder
    or ``parameters.toml`` written by ``sd-runner calibrate``.
    """
    if engine == "pysd":
        model = SDModel()
    elif engine == "fast":
        from sd_runner.engine import FastModel

        model = FastModel()
    else:
        raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if fit != UNCALIBRATED:
        from sd_runner.calibration.fitfile import read_fit

        model.set_parameters(read_fit(resources.fit_dir() if fit == CALIBRATED else fit, model))
    model.freeze()  # shared by every caller in the process: load_model gives a copy to change
    return model


def load_model(engine: str = "fast", fit: str = CALIBRATED) -> SDModel:
    """The bundled model as a model of one's own: ``engine`` and ``fit`` as
    :func:`bundled_model` takes them; its ``set_parameters`` changes no other caller's model."""
    return bundled_model(engine, fit).copy()


@functools.lru_cache(maxsize=2)
def bundled_knockouts(fit: str = CALIBRATED):
    """The bundled model (``fit`` as :func:`bundled_model` takes it) with every named loop of
    ``models/loops.toml`` cuttable (:class:`sd_runner.feedback.knockouts.KnockoutModel`)."""
    from sd_runner.feedback.graph import load_loop_names
    from sd_runner.feedback.knockouts import KnockoutModel

    return KnockoutModel(bundled_model("fast", fit), load_loop_names(resources.loop_names_path()))


@functools.lru_cache(maxsize=1)
def bundled_levers() -> dict[str, Lever]:
    """The bundled lever definitions."""
    return load_levers()


def scenario(name_or_path: str, engine: str = "fast", fit: str = CALIBRATED) -> Scenario:
    """A bundled or user scenario, checked against the bundled model."""
    return load_scenario(name_or_path, bundled_levers(), bundled_model(engine, fit))


def run_one(name_or_path: str, progress: Progress = quiet, engine: str = "fast",
            fit: str = CALIBRATED) -> ScenarioRun:
    """Run one scenario with every variable of the model returned."""
    chosen = scenario(name_or_path, engine, fit)
    step(progress, f"running {chosen.name} ({engine} engine, {fit_label(fit)})")
    return run_scenario(bundled_model(engine, fit), chosen)


def fit_parameters(path) -> str:
    """The fitted parameters a fit folder written by ``sd-runner calibrate`` (or its
    ``parameters.toml``) holds, as an absolute path that ``fit`` takes."""
    from sd_runner.calibration.fitfile import fit_parameters_path

    found = fit_parameters_path(path)
    if not found.is_file():
        raise ArgumentError("fit", str(path), "no fitted parameters there; give a folder "
                            "written by `sd-runner calibrate` or its parameters.toml",
                            typed=str(path))
    return str(found.resolve())


def fit_label(fit: str) -> str:
    return {CALIBRATED: "calibrated", UNCALIBRATED: "uncalibrated"}.get(fit, f"fit {fit}")


def report_provenance(fit: str = CALIBRATED) -> str:
    """What a report's header says produced it: the version, the model file and its hash, and
    the parameters."""
    model = bundled_model(fit=fit)
    return (f"sd-runner {__version__}, model {model.path.name} (sha256 "
            f"{model.file_sha256[:12]}), {fit_label(fit)} parameters")


def compare(names: list[str], progress: Progress = quiet, engine: str = "fast",
            fit: str = CALIBRATED, loops: bool = False,
            loop_window: float = DEFAULT_WINDOW, uncertainty: int | None = None,
            sample: str = "posterior", seed: int = DEFAULT_SEED,
            workers: int | None = None, scheduler: str | None = None,
            factors_path: str | None = None) -> Comparison:
    """Run ``names`` (every bundled scenario when empty) and the baseline, and compare them.

    Scenarios are all read and checked before the first run, so a bad file fails at once.
    ``loops``: also score the model's feedback loops in every run (Loops That Matter) and
    find the dominant ones over windows of ``loop_window`` years. ``uncertainty``: also run
    every scenario over that many parameter sets (``None``: none) drawn with ``seed`` from
    ``sample`` (``"posterior"``, the fit's sample, or ``"priors"``, the settings' bounds and
    priors), with the constants of the factors file ``factors_path``, if given, varied too.
    Sizes the machine cannot hold are refused before anything runs.
    """
    # Every option is checked, also one the run will not use: a mistake is still a mistake.
    limits.check_workers("workers", workers)
    if scheduler is not None:
        limits.check_scheduler("scheduler", scheduler)
    limits.check_seed("seed", seed)
    model = bundled_model("fast", fit)
    limits.check_window("loop_window", loop_window, model.control("SAVEPER"),
                        model.control("FINAL TIME") - model.control("INITIAL TIME"))
    if factors_path and uncertainty is None:
        raise ArgumentError("factors_path", factors_path, "give uncertainty too, the number of "
                            "parameter sets: the factors are varied in them")
    names = names or bundled_scenario_names()
    sets = None
    if uncertainty is not None:
        _check_uncertainty_size(uncertainty, seed, len(set(names)) + 1, fit, workers,
                                scheduler)
        sets = parameter_sets(uncertainty, sample, seed, fit, factors_path)
    chosen = [scenario(name, engine, fit) for name in names]
    if not any(s.name == REFERENCE for s in chosen):
        chosen.insert(0, scenario(REFERENCE, engine, fit))
    chosen.sort(key=lambda s: s.name != REFERENCE)
    unique = check_distinct_names(chosen)
    runs = []
    for number, s in enumerate(unique, start=1):
        step(progress, f"running {s.name} ({number}/{len(unique)}, {engine} engine, "
                       f"{fit_label(fit)})")
        runs.append(run_scenario(bundled_model(engine, fit), s))
    clusters = bundled_model(engine, fit).subscripts["Cluster"]
    from sd_runner.calibration.observed import observed_points
    from sd_runner.feedback.graph import load_loop_names

    # The report describes the named loops whether or not they are scored, and draws the
    # observations of the outcomes the calibration compares.
    comparison = dataclasses.replace(
        compare_runs(runs, clusters, KEY_OUTCOMES),
        named_loops=tuple(load_loop_names(resources.loop_names_path())),
        observed=observed_points(KEY_OUTCOMES))
    if sets is not None:
        from sd_runner.uncertainty.comparison import compare_uncertain

        summary = compare_uncertain(bundled_model("fast", fit), unique, sets, KEY_OUTCOMES,
                                    clusters, workers=workers, scheduler=scheduler,
                                    progress=progress)
        comparison = dataclasses.replace(comparison, uncertainty=summary)
    if not loops:
        return comparison
    inventory = loop_inventory(fit)
    step(progress, f"scoring {len(inventory.loops)} feedback loops in {len(unique)} runs "
                   f"({engine} engine)")
    scored = compare_loops(bundled_model("fast", fit), inventory.loops, unique,
                           inventory.method, loop_window,
                           run_with=None if engine == "fast" else bundled_model(engine, fit))
    return dataclasses.replace(comparison, loops=scored)


def _check_uncertainty_size(members, seed, scenarios: int, fit: str, workers, scheduler):
    from sd_runner.engine.ensemble import PARALLEL_FROM, check_scheduler_answers
    from sd_runner.uncertainty.comparison import memory_needed

    limits.check_count("uncertainty", members, "parameter sets (leave it out for none)")
    limits.check_seed("seed", seed)
    model = bundled_model("fast", fit)
    needed = memory_needed(model, members, scenarios, len(KEY_OUTCOMES),
                           len(model.subscripts["Cluster"]))
    # A cluster's size is unknown here: only the memory of the gathered results is checked.
    runs = 0 if scheduler else members * scenarios
    limits.check_needs("uncertainty", members, needed, runs,
                       limits.processes_for(members, workers, PARALLEL_FROM),
                       "give fewer parameter sets")
    if scheduler:
        check_scheduler_answers(scheduler)


def parameter_sets(n: int, sample: str, seed: int, fit: str = CALIBRATED,
                   factors_path: str | None = None):
    """``n`` parameter sets from the fit's posterior sample or from the settings' priors,
    with the constants of a factors file, if given, drawn within its bounds."""
    from sd_runner.uncertainty.parameter_sets import (
        SOURCES,
        posterior_sets,
        prior_sets,
        with_factors,
    )

    if sample not in SOURCES:
        raise ArgumentError("sample", sample, f"use one of {', '.join(SOURCES)}")
    limits.check_count("n", n, "parameter sets")
    limits.check_seed("seed", seed)
    factors = _factors(factors_path, fit) if factors_path else None
    if sample == "priors":
        sets = prior_sets(_calibration_config(), n, seed)
    elif fit == UNCALIBRATED:
        raise ArgumentError("fit", fit, "has no posterior sample to draw from; use "
                            "sample='priors', or a fit written by calibrate", joint=" ")
    else:
        from sd_runner.calibration.fitfile import read_sample

        folder = resources.fit_dir() if fit == CALIBRATED else fit
        sets = posterior_sets(read_sample(folder, bundled_model("fast", fit)), n, seed)
    return with_factors(sets, factors) if factors else sets


def _factors(path: str, fit: str):
    from sd_runner.inputs.factors import load_factors

    return load_factors(input_file(path, "factors", "factors_path")[0], bundled_model("fast", fit))


def input_file(text: str | None, kind: str, argument: str) -> tuple[Path, str]:
    """The file an argument (``argument``) names and how to name it again from anywhere.

    ``text`` is a bundled file's name (see :func:`resources.bundled_inputs`), which wins over a
    file of the same name without an extension, as bundled scenario names do; or a path,
    named as given; or ``None``, the bundled default of ``kind``. No machine path is made up.
    """
    bundled = resources.bundled_inputs(kind)
    if text is None:
        (name, path), = bundled.items()
        return path, name
    if text in bundled:
        return bundled[text], text
    if not Path(text).exists():
        raise ArgumentError(argument, text, f"{_INPUT_NOUNS[kind]} not found; give its path, "
                            f"or a bundled name: {', '.join(bundled)}", typed=str(text))
    return Path(text), text


_INPUT_NOUNS = {"factors": "factors file", "observations": "observation file",
                "settings": "calibration settings file",
                "policy_factors": "policy factors file", "problem": "problem file"}


def _calibration_config():
    from sd_runner.calibration.config import load_config
    from sd_runner.inputs.observations import load_observation_files

    return load_config(resources.calibration_config_path(),
                       load_observation_files(resources.observation_paths()))


def observation_files(texts, argument: str = "data_path") -> tuple[list[Path], list[str]]:
    """The observation files ``texts`` name (one text, several, or none: every bundled
    file), and how to name each again from anywhere."""
    if texts is None or isinstance(texts, str | Path):
        texts = [] if texts is None else [texts]
    if not texts:
        bundled = resources.bundled_inputs("observations")
        return list(bundled.values()), list(bundled)
    found = [input_file(str(t), "observations", argument) for t in texts]
    return [path for path, _ in found], [label for _, label in found]


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


# ---------------------------------------------------------------------- calibration
#: ``uncertainty`` values of :func:`calibrate`: what is measured after the fit.
UNCERTAINTY = ("full", "profiles", "none")


def calibrate(config_path: str | None = None, data_path=None, method: str | None = None,
              seed: int | None = None, progress: Progress = quiet, notice=None, *,
              uncertainty: str = "full", rows=None):
    """Calibrate the model (from the ``.mdl``'s own values) against observation files
    (``data_path``: one, a list, or ``None``).

    Defaults: the bundled settings and every bundled observation file. ``uncertainty``:
    ``"full"`` (profile-likelihood intervals and the MCMC sample, minutes), ``"profiles"``
    (the intervals only) or ``"none"`` (linearised standard errors only). ``rows``: keep only
    the observations ``rows(observation)`` is true for, e.g. to hold some out (the result
    still records the whole files' hashes). Returns a
    :class:`~sd_runner.calibration.calibrate.Calibration`.
    """
    from sd_runner.calibration.calibrate import calibrate as run_calibration
    from sd_runner.calibration.config import METHODS, load_config
    from sd_runner.calibration.config_checks import check_against_model
    from sd_runner.inputs.observations import load_observation_files

    if method is not None and method not in METHODS:
        raise ArgumentError("method", method, f"is not an optimiser; use one of "
                            f"{', '.join(METHODS)}", joint=" ")
    if seed is not None:  # emcee seeds numpy's legacy generator, which takes 32 bits
        limits.check_seed("seed", seed, limits.LEGACY_SEED_MAX)
    if uncertainty not in UNCERTAINTY:
        raise InputError(f"uncertainty={uncertainty!r}: use one of {', '.join(UNCERTAINTY)}")
    data, data_label = observation_files(data_path)
    settings, settings_label = input_file(config_path, "settings", "config_path")
    observations = [o for o in load_observation_files(data) if rows is None or rows(o)]
    config = load_config(settings, observations)
    check_against_model(config, bundled_model("fast", UNCALIBRATED))
    result = run_calibration(bundled_model("fast", UNCALIBRATED), config, observations,
                             data_path=data_label, data_file=data, method=method, seed=seed,
                             uncertainty=uncertainty, progress=progress,
                             notice=notice or (lambda _: None))
    result.config_path = settings_label
    return result


def calibration_settings(calibration) -> dict:
    """What a calibration was run with, as options that rerun it from anywhere."""
    paths = calibration.data_paths or [calibration.data_path]
    return {"config_path": calibration.config_path,
            "data_path": paths[0] if len(paths) == 1 else paths,
            "method": calibration.method, "seed": calibration.seed}


def calibration_files(calibration) -> dict[str, str]:
    """File name to text for a calibration's output folder, report included."""
    from sd_runner.calibration.fitfile import fit_files
    from sd_runner.calibration.report import fit_report

    model = bundled_model("fast", UNCALIBRATED)
    html = fit_report(calibration, generated_by=f"sd-runner {__version__}, model "
                      f"{model.path.name} (sha256 {model.file_sha256[:12]})")
    return fit_files(calibration, html)


def validate(data_path=None, fit: str = CALIBRATED, config_path: str | None = None, *,
             rows=None):
    """Compare a fitted model with observation files (``data_path``: one, a list, or
    ``None``: every bundled file): every row accounted for, the compared rows and their
    statistics. ``fit`` as :func:`bundled_model` takes it, or a :func:`calibrate` result;
    ``rows``: compare only the observations ``rows(observation)`` is true for."""
    from sd_runner.calibration.config import load_config
    from sd_runner.calibration.validate import validate as run_validation
    from sd_runner.inputs.observations import load_observation_files

    observations = [o for o in load_observation_files(observation_files(data_path)[0])
                    if rows is None or rows(o)]
    # Priors play no part in comparing a fit with data, so their rows need not be present.
    config = load_config(input_file(config_path, "settings", "config_path")[0], None)
    if isinstance(fit, str):
        model = bundled_model("fast", fit)
    else:  # a calibration just made, not written to a folder
        model = load_model("fast", UNCALIBRATED)
        model.set_parameters(fit.values())
    return run_validation(model, config, observations)


# ---------------------------------------------------------------------- loops
@dataclass(frozen=True)
class LoopInventory:
    """The model's feedback loops and how they were found.

    ``method``: ``"exhaustive"`` (every loop) or ``"strongest-path"`` (the model has more
    loops than :data:`sd_runner.feedback.graph.MAX_LOOPS`; those that matter in the baseline run).
    """

    loops: list
    method: str


def loop_inventory(fit: str = CALIBRATED) -> LoopInventory:
    """Every feedback loop of the bundled model, named where ``models/loops.toml`` names it.

    Products and quotients are signed with the ranges variables take over the baseline run.
    """
    from sd_runner.feedback import graph as loop_module
    from sd_runner.feedback.graph import CausalGraph, load_loop_names, named_loops, value_ranges

    model = bundled_model("fast", fit)
    params = scenario_params(scenario(REFERENCE, "fast", fit), model)
    graph = CausalGraph(model.path, value_ranges(model.run(params)))
    try:
        found, method = graph.loops(max_loops=loop_module.MAX_LOOPS), "exhaustive"
    except loop_module.TooManyLoops:
        from sd_runner.feedback.discovery import strongest_path_loops

        found, method = strongest_path_loops(graph, model, params), "strongest-path"
    names = load_loop_names(resources.loop_names_path())
    return LoopInventory(named_loops(found, names, graph), method)


# ---------------------------------------------------------------------- sensitivity
DEFAULT_SENSITIVITY_OUTCOMES = ("Margin", "Buyer Dependence")


def sensitivity(method: str, samples: int, outcomes: list[str], year: float,
                scenario_name: str = REFERENCE, seed: int = DEFAULT_SEED,
                fit: str = CALIBRATED, workers: int | None = None,
                scheduler: str | None = None, chunk_size: int = 32768,
                progress: Progress = quiet,
                factors_path: str | None = None, second_order: bool = True):
    """Sobol or Morris indices of ``outcomes`` in ``year`` for every estimated parameter,
    uniform within its declared bounds (or the factors of ``factors_path``), in runs of one
    scenario."""
    from sd_runner.engine.ensemble import check_scheduler_answers
    from sd_runner.uncertainty.parameter_sets import (
        estimated_factors,
        expand_outcomes,
        outcome_function,
    )
    from sd_runner.uncertainty.sensitivity import analyse, check_size

    limits.check_workers("workers", workers)
    if scheduler is not None:
        limits.check_scheduler("scheduler", scheduler)
    limits.check_seed("seed", seed)
    model = bundled_model("fast", fit)
    chosen = scenario(scenario_name, "fast", fit)
    targets = expand_outcomes(model, outcomes or list(DEFAULT_SENSITIVITY_OUTCOMES), year)
    factors = (_factors(factors_path, fit) if factors_path
               else estimated_factors(_calibration_config()))
    run_bytes = limits.ensemble_bytes(1, len(model.kernel.compiled.constant_defaults),
                                      len(model.time_axis().times), len(targets))
    check_size("samples", method, samples, len(factors.names), len(targets), second_order,
               workers, run_bytes, chunk_size)
    if scheduler:
        check_scheduler_answers(scheduler)
    evaluate = outcome_function(model, factors.names, targets, scenario_params(chosen, model),
                                workers=workers, scheduler=scheduler)
    return analyse(evaluate, factors, [t.label for t in targets], method, samples, seed,
                   second_order=second_order, chunk_size=chunk_size, progress=progress,
                   workers=workers)




# ---------------------------------------------------------------------- lever ranks
def lever_ranks(members: int, seed: int = DEFAULT_SEED, with_assumed: bool = False,
                with_posterior: bool = False, factors_path: str | None = None,
                fit: str = CALIBRATED, workers: int | None = None,
                scheduler: str | None = None, progress: Progress = quiet):
    """Rank probabilities of the levers over ``members`` draws of the policy factors
    (``factors_path``, default the bundled ``policy_factors``), with the bundled assumed
    factors and the fit's posterior sample varied too when asked."""
    import numpy as np

    from sd_runner.engine.ensemble import PARALLEL_FROM, check_scheduler_answers
    from sd_runner.inputs.policy_factors import load_policy_factors
    from sd_runner.results.uncertainty import ParameterSets
    from sd_runner.uncertainty.lever_ranks import RANKED
    from sd_runner.uncertainty.lever_ranks import lever_ranks as rank_levers
    from sd_runner.uncertainty.parameter_sets import with_factors

    limits.check_count("members", members, "members")
    limits.check_seed("seed", seed)
    limits.check_workers("workers", workers)
    if scheduler is not None:
        limits.check_scheduler("scheduler", scheduler)
    model = bundled_model("fast", fit)
    levers = bundled_levers()
    runs = members * (len(levers) + 1)
    clusters = len(model.subscripts["Cluster"])
    limits.check_needs("members", members, limits.ensemble_bytes(
        runs, len(model.kernel.compiled.constant_defaults), 2, len(RANKED) * clusters),
        0 if scheduler else runs, limits.processes_for(runs, workers, PARALLEL_FROM),
        "give fewer members")
    if scheduler:
        check_scheduler_answers(scheduler)
    path = input_file(factors_path, "policy_factors", "factors_path")[0]
    factors = load_policy_factors(path, model, levers)
    others, label = None, []
    if with_posterior:
        others = parameter_sets(members, "posterior", seed, fit)
        label.append("the posterior sample")
    if with_assumed:
        empty = ParameterSets((), np.empty((members, 0)), "", seed)
        others = with_factors(others or empty, _factors("assumed_factors", fit))
        label.append("the assumed factors")
    if others is not None:
        others = dataclasses.replace(others, source=f"with {' and '.join(label)}")
    return rank_levers(model, levers, factors, members, seed, others, workers=workers,
                       scheduler=scheduler, progress=progress)


def optimize(problem_path: str | None = None, fit: str = CALIBRATED,
             checkpoint: str | None = None, resume: bool = False,
             workers: int | None = None, scheduler: str | None = None,
             progress: Progress = quiet):
    """The best lever mixes of a policy design problem (``problem_path``, default the bundled
    ``policy_problem``): a many-objective search over each lever's level and start year,
    under a budget, each candidate run over the problem's parameter sets. A checkpoint is
    saved after each generation to ``checkpoint``; ``resume`` continues from it."""
    import numpy as np

    from sd_runner.engine.ensemble import check_scheduler_answers
    from sd_runner.inputs.policy_problem import load_problem
    from sd_runner.optimize.policy_design import design_policy
    from sd_runner.optimize.search import identity_of
    from sd_runner.results.uncertainty import ParameterSets
    from sd_runner.uncertainty.parameter_sets import with_factors

    limits.check_workers("workers", workers)
    if scheduler is not None:
        limits.check_scheduler("scheduler", scheduler)
    model = bundled_model("fast", fit)
    path, _ = input_file(problem_path, "problem", "problem_path")
    problem = load_problem(path, bundled_levers(), list(model.subscripts["Cluster"]),
                           model.control("INITIAL TIME"), model.control("FINAL TIME"))
    if problem.sample == "posterior":
        sets = parameter_sets(problem.sets, "posterior", problem.uncertainty_seed, fit)
    else:
        sets = ParameterSets((), np.empty((1, 0)), "the calibrated model",
                             problem.uncertainty_seed)
    if problem.with_assumed:
        sets = with_factors(sets, _factors("assumed_factors", fit))
    runs = problem.sets * (problem.evaluations + 2 * problem.population + 1)
    too_much = limits.shortfall(limits.ensemble_bytes(
        problem.sets * problem.population, len(model.kernel.compiled.constant_defaults),
        len(model.time_axis().times), 2 * len(model.subscripts["Cluster"]) + 2),
        0 if scheduler else runs, 1)
    if too_much:
        raise InputError(f"{path}: {too_much}; give fewer sets, a smaller population or "
                         "fewer evaluations")
    if scheduler:
        check_scheduler_answers(scheduler)
    reference = scenario("domestic-value-chain", "fast", fit)
    identity = identity_of(path.read_text(encoding="utf-8"), model.kernel.key, fit_label(fit))
    return design_policy(model, problem, sets, reference,
                         checkpoint=Path(checkpoint) if checkpoint else None,
                         identity=identity, resume=resume, workers=workers,
                         scheduler=scheduler, progress=progress)


def lever_ranks_scenarios() -> list[Scenario]:
    """The scenarios :func:`lever_ranks` runs, as its manifest records them: the baseline and
    every lever alone at full strength (the policy factors then vary each)."""
    from sd_runner.simulate.lever_matrix import BASELINE, lever_matrix

    levers = bundled_levers()
    return [m.scenario for m in lever_matrix(levers)
            if m.lever == BASELINE or (m.lever in levers and m.level == 1.0)]


# ---------------------------------------------------------------------- scenario discovery
def discover(scenario_name: str, reference: str = REFERENCE, outcome: str = "Margin",
             year: float = 2035.0, cluster: str | None = None, condition: str = "not-better",
             threshold: float | None = None, members: int = 1000, sample: str = "posterior",
             seed: int = DEFAULT_SEED, with_assumed: bool = False,
             factors_path: str | None = None, fit: str = CALIBRATED,
             mass_min: float | None = None, min_coverage: float | None = None,
             bootstraps: int | None = None, workers: int | None = None,
             scheduler: str | None = None, progress: Progress = quiet):
    """Where, among ``members`` parameter sets (drawn with ``seed`` from ``sample``, with the
    bundled assumed factors and the factors of ``factors_path`` varied too when given), the
    ``condition`` on ``outcome`` in ``year`` holds: ``scenario_name`` does not beat
    (``"not-better"``) or does worse than (``"worse"``) ``reference``, or its outcome is
    ``"below"`` or ``"above"`` ``threshold``; in ``cluster`` (default: every cluster, the
    mean of a fraction, the sum of the rest). PRIM's box with each restriction's quasi-p-value
    and recurrence over ``bootstraps`` resamples, and CART's leaves
    (:class:`sd_runner.results.discovery.Discovery`)."""
    import math

    import numpy as np

    from sd_runner.engine.ensemble import PARALLEL_FROM, check_scheduler_answers
    from sd_runner.results.discovery import CONDITIONS, RELATIVE, Condition
    from sd_runner.results.outcomes import BETTER, TOTAL
    from sd_runner.uncertainty import prim
    from sd_runner.uncertainty.discovery import discover as find_boxes

    limits.check_count("members", members, "members")
    limits.check_seed("seed", seed)
    limits.check_workers("workers", workers)
    if scheduler is not None:
        limits.check_scheduler("scheduler", scheduler)
    mass_min = prim.MASS_MIN if mass_min is None else mass_min
    min_coverage = prim.MIN_COVERAGE if min_coverage is None else min_coverage
    bootstraps = prim.BOOTSTRAPS if bootstraps is None else bootstraps
    _check_share("mass_min", mass_min, 0.5, "a box's least share of the members")
    _check_share("min_coverage", min_coverage, 1.0, "the least coverage of the chosen box")
    limits.check_count("bootstraps", bootstraps, "bootstrap resamples", minimum=0)
    if condition not in CONDITIONS:
        raise ArgumentError("condition", condition, f"use one of {', '.join(CONDITIONS)}")
    if outcome not in KEY_OUTCOMES:
        raise ArgumentError("outcome", outcome, f"is not a key outcome; use one of "
                            f"{', '.join(KEY_OUTCOMES)}", joint=" ")
    relative = condition in RELATIVE
    if relative and outcome not in BETTER:
        raise ArgumentError("outcome", outcome, "has no better direction to beat the reference "
                            "in; use condition below or above with a threshold", joint=" ")
    if relative and threshold is not None:
        raise ArgumentError("threshold", threshold, f"only conditions below and above take a "
                            f"threshold; {condition} compares with the reference")
    if not relative and (threshold is None or not math.isfinite(threshold)):
        raise ArgumentError("condition", condition, "needs a threshold, a finite value of "
                            "the outcome to compare with", joint=" ")
    model = bundled_model("fast", fit)
    clusters = model.subscripts["Cluster"]
    cluster = TOTAL if cluster is None else cluster
    if cluster not in (*clusters, TOTAL):
        raise ArgumentError("cluster", cluster, f"use one of {', '.join(clusters)} or {TOTAL}")
    times = model.time_axis().times
    if not (times[0] < year <= times[-1] and np.isclose(times, year, atol=1e-9).any()):
        raise ArgumentError("year", year, f"give a saved year after {times[0]:g} and at most "
                            f"{times[-1]:g} (every {times[1] - times[0]:g} years)",
                            typed=f"{year:g}")
    chosen = scenario(scenario_name, "fast", fit)
    base = scenario(reference, "fast", fit) if relative else None
    if base is not None and base.name == chosen.name:
        raise ArgumentError("reference", reference, "is the scenario itself; compare it with "
                            "another", joint=" ")
    runs = members * (2 if relative else 1)
    limits.check_needs("members", members, limits.ensemble_bytes(
        runs, len(model.kernel.compiled.constant_defaults), 2, len(clusters)),
        0 if scheduler else runs, limits.processes_for(members, workers, PARALLEL_FROM),
        "give fewer members")
    if scheduler:
        check_scheduler_answers(scheduler)
    sets = _discovery_sets(members, sample, seed, fit, with_assumed, factors_path)
    wanted = Condition(chosen.name, outcome, float(year), cluster, condition,
                       base.name if base else None, threshold)
    return find_boxes(model, wanted, chosen, base, sets, mass_min=mass_min,
                      min_coverage=min_coverage, bootstraps=bootstraps, workers=workers,
                      scheduler=scheduler, progress=progress)


def _check_share(argument: str, value, largest: float, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not 0 < value <= largest:
        raise ArgumentError(argument, value, f"give {what}, above 0 and at most {largest:g}")


def _discovery_sets(members: int, sample: str, seed: int, fit: str, with_assumed: bool,
                    factors_path: str | None):
    """The posterior (or prior) sets with the assumed factors and a factors file's drawn too,
    in one draw: drawing each file apart would give both the same uniform stream."""
    from sd_runner.results.sensitivity import Factors
    from sd_runner.uncertainty.parameter_sets import with_factors

    sets = parameter_sets(members, sample, seed, fit)
    files = ([("the assumed factors", _factors("assumed_factors", fit))] if with_assumed
             else []) + ([(f"the factors of {factors_path}", _factors(factors_path, fit))]
                         if factors_path else [])
    if not files:
        return sets
    bounds: dict[str, tuple[float, float]] = {}
    for _, factors in files:  # a later file's bounds win
        bounds.update(zip(factors.names, factors.bounds, strict=True))
    drawn = with_factors(sets, Factors(tuple(bounds), tuple(bounds.values())))
    return dataclasses.replace(drawn, source=f"{sample} sample with "
                               f"{' and '.join(label for label, _ in files)}")


# ---------------------------------------------------------------------- model diff
def diff(old: str, new: str | None = None, old_fit: str | None = None,
         new_fit: str | None = None, threshold: float = 1.0, floor: float | None = None,
         progress: Progress = quiet):
    """Run the lever matrix on two versions of the model and list the key outcomes that move
    (:class:`sd_runner.validation.diff.ModelDiff`).

    ``old`` and ``new`` are each a ``.mdl`` file or a fit of the bundled model (``new``
    defaults to the bundled model); ``old_fit`` and ``new_fit`` the parameters applied to a
    ``.mdl``. A series is listed when it moves by more than ``threshold`` % of its largest
    magnitude, measured against at least ``floor`` (in its own units).
    """
    from sd_runner.validation import diff as model_diff

    return model_diff.diff_models(
        model_diff.version_spec("OLD", old, old_fit), model_diff.version_spec("NEW", new, new_fit),
        bundled_model, bundled_levers(), threshold=threshold / 100,
        floor=model_diff.DEFAULT_FLOOR if floor is None else floor, progress=progress)


# ---------------------------------------------------------------------- model checks
def check_model(fit: str = CALIBRATED, checks_path: str | None = None,
                progress: Progress = quiet):
    """Everything ``sd-runner check`` checks
    (:class:`sd_runner.validation.checks.ModelCheck`): units and integration error of the
    bundled model over every bundled scenario, the behaviour assertions of ``checks_path``
    (the bundled ``checks.toml`` by default) on the lever matrix and the bundled scenarios,
    with named loops cut where an assertion says so, and the knockout of every named loop."""
    from sd_runner.feedback.graph import load_loop_names
    from sd_runner.feedback.knockouts import knockout_check
    from sd_runner.simulate.lever_matrix import lever_matrix
    from sd_runner.validation.assertions import RunSource, load_assertions, run_assertions
    from sd_runner.validation.checks import (
        ModelCheck,
        integration_check,
        matrix_checks,
        model_constants,
        model_variables,
        units_check,
    )

    model = bundled_model("fast", fit)
    members = lever_matrix(bundled_levers())
    bundled = [scenario(name, "fast", fit) for name in bundled_scenario_names()]
    scenarios = {member.name: member.scenario for member in members}
    for chosen in bundled:
        scenarios.setdefault(chosen.name, chosen)

    knockouts = bundled_knockouts(fit)

    def simulate(condition):
        chosen = scenarios[condition.scenario]
        chosen = dataclasses.replace(chosen, constants={**chosen.constants,
                                                        **dict(condition.constants)})
        if condition.cut:
            return knockouts.run(scenario_params(chosen, model), cut=condition.cut)
        return model.run(scenario_params(chosen, model))

    runs = RunSource(list(scenarios), simulate)
    assertions = load_assertions(
        checks_path or resources.checks_path(), variables=model_variables(model),
        scenario_names=list(scenarios),
        loop_codes=[name.code for name in load_loop_names(resources.loop_names_path())],
        time_range=(model.control("INITIAL TIME"), model.control("FINAL TIME")),
        constants=model_constants(model))
    step(progress, f"running the lever matrix and the bundled scenarios ({len(scenarios)} "
                   f"runs) against {len(assertions)} behaviour assertions")
    results = run_assertions(assertions, runs)
    matrix = matrix_checks(members, results, runs)
    step(progress, "checking units and integration error")
    checks = [units_check(model), integration_check(model, bundled)]
    step(progress, "knocking out every named loop")
    return ModelCheck(checks=checks, matrix=matrix, assertions=results,
                      knockouts=knockout_check(knockouts))


# ---------------------------------------------------------------------- manifests
#: Posterior sets an explorer page may carry (each redraw with bands runs them all).
EXPLORER_MEMBERS = 1000


def explorer_page(fit: str = CALIBRATED, members: int | None = None, seed: int = DEFAULT_SEED,
                  manifest: str = "") -> str:
    """The lever explorer: one self-contained HTML page in which the model, compiled to
    JavaScript, runs in the browser as the reader moves the levers.

    ``members``: posterior sets the page carries for its 5-95 % bands, 0 to 1000 (0: no
    bands); default 200, or 0 for an uncalibrated model, which has no posterior sample.
    ``seed`` draws them. ``manifest`` is shown at the end of the page.
    """
    from sd_runner.explorer.page import explorer_page as page

    return page(explorer_script(fit, members, seed), report_provenance(fit), manifest)


def explorer_script(fit: str = CALIBRATED, members: int | None = None,
                    seed: int = DEFAULT_SEED) -> str:
    """The explorer's model alone: JavaScript that defines ``sdModel`` (``run``, ``band``,
    ``scenarioToml``; :mod:`sd_runner.explorer.spec`), ``members`` and ``seed`` as
    :func:`explorer_page` takes them."""
    from sd_runner.explorer.spec import BAND_MEMBERS, model_script
    from sd_runner.inputs.scenarios import bundled_scenario_names

    if members is None:
        members = 0 if fit == UNCALIBRATED else BAND_MEMBERS
    limits.check_count("members", members, "posterior sets", minimum=0)
    if members > EXPLORER_MEMBERS:
        raise ArgumentError("members", members, f"give at most {EXPLORER_MEMBERS} posterior "
                            "sets (every redraw with bands runs them all)")
    if members and fit == UNCALIBRATED:
        raise ArgumentError("members", members, "an uncalibrated model has no posterior "
                            "sample; give 0 (no bands), or a fit")
    limits.check_seed("seed", seed)
    sets = None
    if members:
        from sd_runner.calibration.fitfile import read_sample
        from sd_runner.uncertainty.parameter_sets import posterior_sets

        folder = resources.fit_dir() if fit == CALIBRATED else fit
        sets = posterior_sets(read_sample(folder, bundled_model("fast", fit)), members, seed)
    scenarios = [scenario(name, "fast", fit) for name in bundled_scenario_names()]
    return model_script(bundled_model("fast", fit), bundled_levers(), scenarios, sets,
                        _EXPLORER_FITS.get(fit, f"the fit in {fit}"))


#: What the explorer's header says of its parameters.
_EXPLORER_FITS = {CALIBRATED: "the bundled calibration",
                  UNCALIBRATED: "the .mdl's own values, uncalibrated"}


def output_manifest(invocation: dict, fit: str, engine: str, scenarios,
                    seeds: dict | None = None) -> str:
    """The manifest (JSON) of an output: model hash, parameters, scenarios, seeds, versions."""
    from sd_runner.outputs.manifest import manifest_json

    return manifest_json(invocation["command"], bundled_model(engine, fit), fit_label(fit),
                         scenarios, seeds, {**invocation["options"], "engine": engine})
