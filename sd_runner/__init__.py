"""System-dynamics model of value-chain capture in Zhejiang's labour-intensive clusters."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sd-runner")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"
