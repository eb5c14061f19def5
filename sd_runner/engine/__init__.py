"""The fast engine: the model compiled from PySD's abstract model into machine code (LLVM).

Names are imported on first use, so the engine's modules import their siblings directly and
never this package's names: no module here imports the package that imports it.
"""

from importlib import import_module

#: Public name -> the module that defines it.
_PUBLIC = {
    "FastModel": "sd_runner.engine.fast",
    "TimeAxis": "sd_runner.engine.fast",
    "UnsupportedModelError": "sd_runner.engine.structures",
}

__all__ = list(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sd_runner.engine' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
