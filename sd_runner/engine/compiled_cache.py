"""The compiler's result cached on disk by the ``.mdl``'s content, so that a model already
compiled on this machine starts without PySD parsing it again (about 2.5 s of a start)."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pysd

from sd_runner.engine import compiler, emission, expressions, statefuls, structures
from sd_runner.engine.compiler import compile_mdl
from sd_runner.engine.structures import CompiledModel
from sd_runner.model import cache, mdl_text

#: The compiled model in a cache entry.
COMPILED_FILE = "compiled.pickle"

# What the compiled model depends on besides the .mdl: the compiler's modules, the parser of
# the .mdl and PySD, whose abstract model the compiler reads.
_COMPILER_SOURCES = "".join(Path(module.__file__).read_text(encoding="utf-8")
                            for module in (compiler, emission, expressions, statefuls,
                                           structures, mdl_text))


def compiled_key(mdl: Path) -> str:
    digest = hashlib.sha256(Path(mdl).read_bytes())
    digest.update(_COMPILER_SOURCES.encode())
    digest.update(pysd.__version__.encode())
    return digest.hexdigest()[:20]


def compiled_folder(key: str) -> Path:
    return cache.cache_root() / f"compiled-{key}"


def compile_cached(mdl: Path) -> CompiledModel:
    """:func:`~sd_runner.engine.compiler.compile_mdl` of ``mdl``, from the cache when it holds
    a sound entry for this content (a model the engine refuses is refused again each time)."""
    path = cache.entry_file(
        compiled_folder(compiled_key(mdl)), COMPILED_FILE,
        lambda: pickle.dumps(compile_mdl(mdl), protocol=pickle.HIGHEST_PROTOCOL),
        "compiled model", "compiling it again", "compiling-")
    return pickle.loads(path.read_bytes())
