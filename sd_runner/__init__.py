"""System-dynamics model of value-chain capture in Zhejiang's labour-intensive clusters.

The public API, what the ``sd-runner`` commands do, callable from Python::

    import sd_runner

    model = sd_runner.load_model()              # the bundled model, calibrated, your own copy
    baseline = sd_runner.run("baseline")        # a ScenarioRun: .frame, .series(), .tidy()
    comparison = sd_runner.compare(["domestic-value-chain"], loops=True)
    checks = sd_runner.check()                  # units, integration, assertions, knockouts

Names are imported on first use, so ``import sd_runner`` loads neither PySD nor numba.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sd-runner")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

#: Public name -> (module, attribute).
_PUBLIC = {
    "load_model": ("sd_runner.api", "load_model"),
    "levers": ("sd_runner.api", "bundled_levers"),
    "scenario": ("sd_runner.api", "scenario"),
    "run": ("sd_runner.api", "run_one"),
    "compare": ("sd_runner.api", "compare"),
    "parameter_sets": ("sd_runner.api", "parameter_sets"),
    "calibrate": ("sd_runner.api", "calibrate"),
    "validate": ("sd_runner.api", "validate"),
    "loops": ("sd_runner.api", "loop_inventory"),
    "sensitivity": ("sd_runner.api", "sensitivity"),
    "lever_ranks": ("sd_runner.api", "lever_ranks"),
    "discover": ("sd_runner.api", "discover"),
    "optimize": ("sd_runner.api", "optimize"),
    "check": ("sd_runner.api", "check_model"),
    "diff": ("sd_runner.api", "diff"),
    "CALIBRATED": ("sd_runner.api", "CALIBRATED"),
    "UNCALIBRATED": ("sd_runner.api", "UNCALIBRATED"),
    "SDRunnerError": ("sd_runner.errors", "SDRunnerError"),
    "InputError": ("sd_runner.errors", "InputError"),
    "RunError": ("sd_runner.errors", "RunError"),
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sd_runner' has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
