"""Backend selection: one table from backend names and aliases to packages, imported lazily.

    canonical_backend("pytorch")          -> "torch"
    capabilities("mindspore").launcher    -> "msrun"        (imports no framework)
    create_backend(recipe)                -> a backends.base.Backend for recipe.backend

Precedence of the name (applied in core.launch.resolve_recipe): `--backend` flag > `--set backend=`
> MINDBRIDGE_BACKEND > recipe `backend:` > "torch". Every route canonicalises here, so a bad name
gives the same one-line error whichever way it arrives. core never imports a framework itself: a
backend package's `__init__` declares its capabilities without importing torch or MindSpore.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from backends.base import Backend, BackendError, Capabilities
from core.errors import RecipeError

BACKENDS = {"torch": "backends.torch_npu", "mindspore": "backends.mindspore"}  # canonical name -> package
ALIASES = {"pytorch": "torch", "torch_npu": "torch", "ms": "mindspore"}
DEFAULT_BACKEND = "torch"


def canonical_backend(name: object) -> str:
    """The canonical backend name for a name or alias (case-insensitive); a RecipeError otherwise."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in BACKENDS:
        raise RecipeError(f"unknown backend '{name}' (valid: {', '.join(BACKENDS)}; aliases: {', '.join(ALIASES)})")
    return key


def backend_package(name: str) -> ModuleType:
    """The backend's package (its __init__ imports no framework)."""
    return importlib.import_module(BACKENDS[canonical_backend(name)])


def backend_module(name: str, module: str) -> ModuleType:
    """One module of a backend package (e.g. 'probes'); imports the framework, after checking it is there."""
    require_framework(name)
    return importlib.import_module(f"{BACKENDS[canonical_backend(name)]}.{module}")


def capabilities(name: str) -> Capabilities:
    return backend_package(name).CAPABILITIES


def available(name: str) -> bool:
    """Is the backend's framework importable here?"""
    return importlib.util.find_spec(capabilities(name).framework) is not None


def require_framework(name: str) -> None:
    caps = capabilities(name)
    if importlib.util.find_spec(caps.framework) is None:
        raise BackendError(f"backend '{canonical_backend(name)}' needs {caps.framework}, which is not installed: "
                           f"pip install -e '.[{caps.install_extra}]' -c constraints/cpu.txt")


def reference_backend() -> str:
    """The backend whose seeded initial weights every other backend starts from (the torch source)."""
    return next(name for name in BACKENDS if capabilities(name).reference_init)


def create_backend(recipe) -> Backend:
    name = canonical_backend(recipe.backend)
    caps = capabilities(name)
    if recipe.train.precision not in caps.precisions:
        raise BackendError(f"train.precision={recipe.train.precision} is not supported by the {name} backend "
                           f"(it runs: {', '.join(caps.precisions)})")
    require_framework(name)
    return backend_package(name).create_backend(recipe)
