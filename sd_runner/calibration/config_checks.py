"""Checks of calibration settings against what they will meet: the model (its run length, its
constants and their declared ranges) and this machine (the worst case of the fit and the MCMC
sample). Every error names the settings file's line.
"""

from __future__ import annotations

from sd_runner.calibration.config import CalibrationConfig
from sd_runner.engine.ensemble import ParameterSpace
from sd_runner.errors import InputError
from sd_runner.inputs import limits
from sd_runner.inputs.tomlfile import TomlFile


def check_against_model(config: CalibrationConfig, model) -> None:
    """``final_time`` must make a run ``model`` can take, and every estimated parameter must be
    a constant of it, with bounds within the range the ``.mdl`` declares for it; the error
    names the line."""
    try:
        model.time_axis(final_time=config.final_time)
    except InputError as exc:
        source = TomlFile(config.path, "calibration settings file")
        raise source.error("final_time", f"final_time {config.final_time:g}: {exc}") from None
    first, last = model.control("INITIAL TIME"), model.control("FINAL TIME")
    if not first < config.final_time <= last:
        source = TomlFile(config.path, "calibration settings file")
        raise source.error("final_time", f"final_time {config.final_time:g} must be after "
                           f"INITIAL TIME {first:g} and at most FINAL TIME {last:g} of the "
                           "model; give the year the last row to fit ends", "fit")
    for parameter in config.parameters:
        try:
            ParameterSpace(model, [parameter.name])
        except InputError as exc:
            source = TomlFile(config.path, "calibration settings file")
            raise source.error(parameter.name, f"{exc}; estimate a constant of the model, "
                               "by its Vensim name") from None
        problem = (model.range_error(parameter.name, parameter.lower)
                   or model.range_error(parameter.name, parameter.upper))
        if problem:
            source = TomlFile(config.path, "calibration settings file")
            raise source.error(parameter.name, f"{parameter.name}: bounds [{parameter.lower:g}, "
                               f"{parameter.upper:g}] reach outside the range the model "
                               f"declares ({problem}); keep them inside it")


#: Members of a differential-evolution population per estimated parameter.
EVOLUTION_POPSIZE = 15


def check_effort(config: CalibrationConfig, method: str, run_bytes: int,
                 uncertainty: bool = True) -> None:
    """Refuse settings whose worst case this machine cannot meet (see
    :mod:`sd_runner.inputs.limits`): the fit's runs, the MCMC sample's runs and chain, and the batch
    of runs one step simulates together (``run_bytes`` each). The error names the keys.
    """
    d = len(config.parameters)
    search = config.max_evaluations * (d + 2)  # each iteration: a run and a Jacobian batch
    if method == "differential-evolution":
        what = (f"the fit (generations {config.generations}, max_evaluations "
                f"{config.max_evaluations})")
        runs = (config.generations + 1) * EVOLUTION_POPSIZE * d + search
        batch = EVOLUTION_POPSIZE * d
    else:
        what = f"the fit (starts {config.starts}, max_evaluations {config.max_evaluations})"
        runs = (config.starts + 1) * search
        batch = d + 1
    needed = batch * run_bytes + limits.FLOAT_BYTES * 3 * (config.starts + 1) * d
    _refuse_beyond(config, "fit", what, needed, runs, "lower them")
    if not uncertainty:
        return
    walkers, steps = config.mcmc_walkers, config.mcmc_steps
    kept = (steps - config.mcmc_burn) // config.mcmc_thin * walkers
    # emcee keeps every step's positions and log-probabilities; the kept part is copied twice
    chain = limits.FLOAT_BYTES * (steps * walkers * (d + 1) + 2 * kept * d)
    _refuse_beyond(config, "uncertainty", f"the MCMC sample (mcmc_walkers {walkers}, "
                   f"mcmc_steps {steps})", chain + walkers * run_bytes, walkers * steps,
                   "give fewer walkers or steps")


def _refuse_beyond(config, table: str, what: str, needed: int, runs: int, fix: str) -> None:
    problem = limits.shortfall(needed, runs)
    if problem is None:
        return
    message = f"{what}, at worst, {problem}; {fix}"
    try:
        source = TomlFile(config.path, "calibration settings file")
    except InputError:  # the file changed since it was read: name it without a line
        raise InputError(f"{config.path}: {message}") from None
    raise source.error(table, message)
