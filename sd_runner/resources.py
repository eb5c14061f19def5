"""Where the bundled model, levers and scenarios live.

In the repository they live once, in ``models/`` and ``calibration/``; an installed wheel
carries copies in ``sd_runner/bundled/`` (see ``pyproject.toml``). The installed copy wins
when present.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE_DIR / "bundled", _PACKAGE_DIR.parent / "models")

#: ``fit`` values: the committed calibration (:func:`fit_dir`), or none (the ``.mdl``'s own
#: values).
CALIBRATED = "calibrated"
UNCALIBRATED = "uncalibrated"


def bundled_dir() -> Path:
    """Folder holding ``value_chain_capture.mdl``, ``levers.toml`` and ``scenarios/``."""
    for folder in _CANDIDATES:
        if (folder / "value_chain_capture.mdl").is_file():
            return folder
    raise FileNotFoundError(
        "the bundled model is missing: reinstall sd-runner (pip install .) from a full checkout"
    )


def calibration_dir() -> Path:
    """Folder holding ``config.toml``, ``data/`` and the committed fit ``fit/``."""
    for folder in (_PACKAGE_DIR / "bundled" / "calibration", _PACKAGE_DIR.parent / "calibration"):
        if (folder / "config.toml").is_file():
            return folder
    raise FileNotFoundError(
        "the bundled calibration is missing: reinstall sd-runner (pip install .) from a full "
        "checkout"
    )


def calibration_config_path() -> Path:
    """The calibration settings that made the committed fit."""
    return calibration_dir() / "config.toml"


def observations_path() -> Path:
    """The bundled Zhejiang observations."""
    return calibration_dir() / "data" / "zhejiang_observations.csv"


def more_observations_path() -> Path:
    """The bundled second observation file: other regions and aggregates, with a ``region``
    column."""
    return calibration_dir() / "data" / "more_observations.csv"


def observation_paths() -> list[Path]:
    """Every bundled observation file, in the order the calibration reads them."""
    return [observations_path(), more_observations_path()]


def fit_dir() -> Path:
    """The committed fit: the default parameter set of every run."""
    return calibration_dir() / "fit"


def model_path() -> Path:
    """Path of the bundled Vensim model."""
    return bundled_dir() / "value_chain_capture.mdl"


def levers_path() -> Path:
    """Path of the lever definitions."""
    return bundled_dir() / "levers.toml"


def loop_names_path() -> Path:
    """Human names of the model's main feedback loops."""
    return bundled_dir() / "loops.toml"


def checks_path() -> Path:
    """The behaviour assertions ``sd-runner check`` holds the model to."""
    return bundled_dir() / "checks.toml"


def scenarios_dir() -> Path:
    """Folder of the bundled scenario files."""
    return bundled_dir() / "scenarios"


def factors_path() -> Path:
    """The bundled factors file: assumed constants and the bounds they are varied within."""
    return bundled_dir() / "assumed_factors.toml"


def policy_factors_path() -> Path:
    """The bundled policy factors: each lever's programme size and unit costs, with bounds."""
    return bundled_dir() / "policy_factors.toml"


def policy_problem_path() -> Path:
    """The bundled policy design problem of ``sd-runner optimize``."""
    return bundled_dir() / "policy_problem.toml"


#: Kinds of bundled input file that options can name instead of giving a path.
_BUNDLED_INPUTS = {"factors": (factors_path,),
                   "observations": (observations_path, more_observations_path),
                   "settings": (calibration_config_path,),
                   "policy_factors": (policy_factors_path,),
                   "problem": (policy_problem_path,)}


def bundled_inputs(kind: str) -> dict[str, Path]:
    """The bundled files of ``kind`` (``"factors"``, ``"observations"``, ``"settings"``) by
    name: the file's name without its extension, as bundled scenarios are named."""
    return {path.stem: path for path in (make() for make in _BUNDLED_INPUTS[kind])}
