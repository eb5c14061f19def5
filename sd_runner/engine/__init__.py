"""The fast engine: the model compiled from PySD's abstract model into a numba kernel."""

from sd_runner.engine.compiler import UnsupportedModelError
from sd_runner.engine.fast import FastModel, TimeAxis

__all__ = ["FastModel", "TimeAxis", "UnsupportedModelError"]
