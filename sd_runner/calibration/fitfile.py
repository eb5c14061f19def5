"""Write a calibration to a folder, and read the fitted parameter set back.

A fit folder holds:

``parameters.toml``   the fitted values (what ``run`` and ``compare`` apply) and how they were
                      made: method, seed, chi-square, hashes of settings, data and model
``parameters.cin``    the same values as a Vensim changes file, to run the fit in Vensim
``identifiability.csv`` estimate, bounds, standard error, profile interval, posterior
                      quantiles, prior, strongest correlation and verdict per parameter
``correlation.csv``   correlation matrix of the estimates
``rows.csv``          every compared observation, observed against simulated
``statistics.csv``    fit statistics per series and overall
``sample.csv``        parameter sets drawn from the posterior (for Monte Carlo runs)
``report.html``       the fit report

Nothing machine-specific (times, absolute paths) is written, so rerunning the same command
writes the same bytes.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sd_runner import __version__
from sd_runner.calibration.calibrate import Calibration
from sd_runner.errors import InputError
from sd_runner.tomlfile import TomlFile

PARAMETERS_FILE = "parameters.toml"
SAMPLE_FILE = "sample.csv"


def fit_files(calibration: Calibration, report_html: str | None = None) -> dict[str, str]:
    """File name to text for everything a calibration writes."""
    files = {
        PARAMETERS_FILE: _parameters_toml(calibration),
        "parameters.cin": _changes_file(calibration),
        "identifiability.csv": _csv(calibration.parameters),
        "correlation.csv": _csv(calibration.correlation.rename_axis("parameter"), index=True),
        "rows.csv": _csv(calibration.rows),
        "statistics.csv": _csv(calibration.statistics),
    }
    if calibration.posterior is not None:
        files[SAMPLE_FILE] = _csv(pd.DataFrame(calibration.posterior.sample,
                                               columns=calibration.names))
    if report_html is not None:
        files["report.html"] = report_html
    return files


def _csv(frame: pd.DataFrame, index: bool = False) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=index, lineterminator="\n")
    return buffer.getvalue()


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ("nan" if math.isnan(value)
                                                           else ("inf" if value > 0 else "-inf"))


def _parameters_toml(c: Calibration) -> str:
    lines = [
        "# Fitted parameter set, written by `sd-runner calibrate`. Regenerate it with",
        "# calibration/run.sh rather than editing it: the values below are what every",
        "# `sd-runner run` and `compare` applies on top of the model's own values.",
        "",
        "[fit]",
        f"method = {_toml_string(c.method)}",
        f"seed = {c.seed}",
        f"chi_square = {_number(c.chi_square)}",
        f"degrees_of_freedom = {c.dof}",
        f"interval_scale = {_number(c.scale)}",
        f"rows_compared = {len(c.rows)}",
        f"settings_sha256 = {_toml_string(c.config.digest)}",
        f"data_sha256 = {_toml_string(c.data_digest)}",
        f"model_sha256 = {_toml_string(c.model_digest)}",
        f"sd_runner_version = {_toml_string(__version__)}",
    ]
    if c.posterior is not None:
        config = c.config
        lines += [
            f"mcmc_walkers = {config.mcmc_walkers}",
            f"mcmc_steps = {config.mcmc_steps}",
            f"mcmc_burn = {config.mcmc_burn}",
            f"mcmc_acceptance = {_number(c.posterior.acceptance)}",
            "# longest integrated autocorrelation time of the chain, in steps; the kept steps",
            "# should be many times longer (emcee suggests 50)",
            f"mcmc_autocorrelation_steps = {_number(c.posterior.longest_autocorrelation)}",
            f"sample_size = {len(c.posterior.sample)}",
        ]
    lines += ["", "[parameters]"]
    lines += [f"{_toml_string(name)} = {_number(value)}" for name, value in c.values().items()]
    return "\n".join(lines) + "\n"


def _changes_file(c: Calibration) -> str:
    return "".join(f"{name} = {float(value)!r}\n" for name, value in c.values().items())


def fit_parameters_path(path: str | Path) -> Path:
    """``path`` itself if it is a file, else ``path/parameters.toml``."""
    path = Path(path)
    return path / PARAMETERS_FILE if path.is_dir() else path


def read_fit(path: str | Path, model=None) -> dict[str, float]:
    """The fitted parameter set of a fit folder (or its ``parameters.toml``).

    With ``model``, every name must be a constant of it and every value within the range its
    ``.mdl`` declares: a fit made for another model is refused at the line that does not fit.
    """
    file = fit_parameters_path(path)
    if not file.is_file():
        raise InputError(f"{file}: fitted parameters not found; give a folder written by "
                         "`sd-runner calibrate` or its parameters.toml")
    source = TomlFile(file, "fitted-parameters file")
    table = source.data.get("parameters")
    if not isinstance(table, dict) or not table:
        raise InputError(f"{file}: no [parameters] table; rerun `sd-runner calibrate`")
    values = {name: source.number(value, name, f"parameter {name!r}", "parameters")
              for name, value in table.items()}
    if model is not None:
        for name, value in values.items():
            _check_fitted(source, name, value, model)
    return values


def _is_constant(model, name: str) -> bool:
    try:
        return model.variable(name.partition("[")[0].strip()).kind == "Constant"
    except KeyError:
        return False


def _check_fitted(source: TomlFile, name: str, value: float, model) -> None:
    if not _is_constant(model, name):
        raise source.error(name, f"{name!r} is not a constant of the model; this fit was made "
                           "for another model: rerun `sd-runner calibrate`", "parameters")
    problem = model.range_error(name, value)
    if problem:
        raise source.error(name, f"{problem}; rerun `sd-runner calibrate` with bounds inside "
                           "that range", "parameters")


def read_sample(path: str | Path, model=None) -> pd.DataFrame:
    """The posterior sample saved with a fit: one parameter set per row.

    With ``model``, every column must be a constant of it and every value within the range
    its ``.mdl`` declares; the error names the file's line and the column.
    """
    folder = Path(path)
    folder = folder if folder.is_dir() else folder.parent
    file = folder / SAMPLE_FILE
    if not file.is_file():
        raise InputError(f"{file}: no posterior sample; calibrate with uncertainty to make one")
    frame = pd.read_csv(file)
    if frame.empty or not np.isfinite(frame.to_numpy(dtype=float)).all():
        raise InputError(f"{file}: the sample is empty or not all finite; rerun calibration")
    if model is not None:
        for column in frame.columns:
            if not _is_constant(model, column):
                raise InputError(f"{file}:1: column {column!r} is not a constant of the model; "
                                 "this sample was made for another model: rerun calibration")
            lower, upper = model.declared_range(column)
            outside = ~frame[column].between(lower, upper)
            if outside.any():
                row = int(np.argmax(outside.to_numpy()))
                problem = model.range_error(column, float(frame[column].iloc[row]))
                raise InputError(f"{file}:{row + 2}: {problem}; rerun calibration with bounds "
                                 "inside that range")
    return frame
