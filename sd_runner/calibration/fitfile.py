"""Write a calibration to a folder, and read the fitted parameter set back.

A fit folder holds:

``parameters.toml``   the fitted values (what ``run`` and ``compare`` apply) and how they were
                      made: method, seed, chi-square, hashes of settings, data and model
``parameters.cin``    the same values as a Vensim changes file, to run the fit in Vensim
``identifiability.csv`` estimate, bounds, standard error, profile interval, posterior
                      quantiles, prior, strongest correlation and verdict per parameter
``correlation.csv``   correlation matrix of the estimates
``rows.csv``          every compared observation, observed against simulated
``row_accounting.csv`` every row of every observation file: fitted, check, prior or not
                      compared (with the reason), and the simulated value where compared
``statistics.csv``    fit statistics per series and overall
``sample.csv``        parameter sets drawn from the posterior (for Monte Carlo runs)
``report.html``       the fit report

Nothing machine-specific (times, absolute paths) is written, so rerunning the same command
writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from sd_runner import __version__
from sd_runner.calibration.calibrate import Calibration
from sd_runner.errors import InputError
from sd_runner.inputs.tomlfile import TomlFile
from sd_runner.model.constant_names import first_overlap

PARAMETERS_FILE = "parameters.toml"
SAMPLE_FILE = "sample.csv"
#: A posterior sample is a few thousand rows of a few dozen numbers: a few megabytes.
MAX_SAMPLE_BYTES = 100_000_000
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def fit_files(calibration: Calibration, report_html: str | None = None) -> dict[str, str]:
    """File name to text for everything a calibration writes."""
    files = {
        PARAMETERS_FILE: _parameters_toml(calibration),
        "parameters.cin": _changes_file(calibration),
        "identifiability.csv": _csv(calibration.parameters),
        "correlation.csv": _csv(calibration.correlation.rename_axis("parameter"), index=True),
        "rows.csv": _csv(calibration.rows),
        "row_accounting.csv": _csv(calibration.accounting),
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
        f"data_sha256 = {_digests(c.data_digest)}",
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


def _digests(joined: str) -> str:
    """One file's sha256 as a string; several files' as a list, in the order read."""
    digests = joined.split(", ")
    if len(digests) == 1:
        return _toml_string(digests[0])
    return "[" + ", ".join(_toml_string(d) for d in digests) + "]"


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
    twice = first_overlap(list(values))
    if twice is not None:
        raise source.error(twice[0], f"{twice[0]!r} sets what {twice[1]!r} already sets; keep "
                           "one (or rerun `sd-runner calibrate`)", "parameters")
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
    frame = _sample_frame(file)
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
                raise InputError(f"{file}:{frame.index[row]}: {problem}; rerun calibration "
                                 "with bounds inside that range")
    return frame


def _sample_frame(file: Path) -> pd.DataFrame:
    """The sample's numbers under its header of parameter names; the first cell, row or name
    that is not as ``calibrate`` writes it is named by line and column."""
    size = file.stat().st_size
    if size > MAX_SAMPLE_BYTES:
        raise InputError(f"{file}: {size} bytes is too large for a posterior sample (at most "
                         f"{MAX_SAMPLE_BYTES}); give the sample.csv of a fit")
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{file}: byte {exc.start} is not UTF-8; save the sample as UTF-8 "
                         "text or rerun calibration") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        names = _sample_header(file, next(reader, []))
        rows, lines = [], []
        for row in reader:
            if row:  # a blank line holds nothing
                rows.append(_sample_row(file, reader.line_num, names, row))
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"{file}:{reader.line_num}: not valid CSV ({exc}); fix the line or "
                         "rerun calibration") from None
    if not rows:
        raise InputError(f"{file}: no parameter sets under the header; rerun calibration "
                         "with uncertainty")
    return pd.DataFrame(rows, columns=names, index=pd.Index(lines, name="line"))


def _sample_header(file: Path, header: list[str]) -> list[str]:
    names = [cell.strip() for cell in header]
    if not any(names):
        raise InputError(f"{file}:1: no header; the first line must name the parameters, as "
                         "calibrate writes it")
    for position, name in enumerate(names, start=1):
        if not name:
            raise InputError(f"{file}:1: column {position} has no name; name the parameter "
                             "it holds (its Vensim name)")
        if _NUMBER.fullmatch(name):
            raise InputError(f"{file}:1: the first line holds the number {name!r} where a "
                             "parameter name belongs: the header is missing; add a line naming "
                             "the parameters (Vensim names) or rerun calibration")
    twice = first_overlap(names)
    if twice is not None:
        raise InputError(f"{file}:1: column {twice[0]!r} sets what column {twice[1]!r} "
                         "already sets; keep one")
    return names


def _sample_row(file: Path, line: int, names: list[str], row: list[str]) -> list[float]:
    if len(row) != len(names):
        raise InputError(f"{file}:{line}: {len(row)} fields where the header names "
                         f"{len(names)}; give one value per column")
    values = []
    for name, cell in zip(names, row, strict=True):
        text = cell.strip()
        problem = ("is empty" if not text else None if _NUMBER.fullmatch(text)
                   else f"{text!r} is not a number")
        value = float(text) if problem is None else math.nan
        if problem is None and not math.isfinite(value):
            problem = f"{text} is not a finite number"
        if problem:
            raise InputError(f"{file}:{line}: column {name!r}: {problem}; give a finite "
                             "number, as calibrate writes it, or rerun calibration")
        values.append(value)
    return values
