"""Backend selection: a name -> the backend package, imported lazily (core imports no framework).

Precedence: `--backend` flag > MINDBRIDGE_BACKEND environment variable > recipe `backend:` > torch.
"""

from __future__ import annotations

import importlib
import importlib.util

from backends.base import Backend, BackendError
from core.recipe import BACKEND_ALIASES, BACKENDS

_PACKAGES = {"torch": "backends.torch_npu", "mindspore": "backends.mindspore"}
_FRAMEWORK_MODULE = {"torch": "torch", "mindspore": "mindspore"}


def canonical_backend(name: str) -> str:
    name = BACKEND_ALIASES.get(name.lower(), name.lower())
    if name not in BACKENDS:
        raise BackendError(f"unknown backend '{name}' (valid: {', '.join(BACKENDS)}; aliases: {', '.join(BACKEND_ALIASES)})")
    return name


def create_backend(recipe) -> Backend:
    name = canonical_backend(recipe.backend)
    framework = _FRAMEWORK_MODULE[name]
    if importlib.util.find_spec(framework) is None:
        raise BackendError(
            f"backend '{name}' needs {framework}, which is not installed: "
            f"pip install -e '.[{name}]' -c constraints/cpu.txt"
        )
    package = importlib.import_module(_PACKAGES[name])
    return package.create_backend(recipe)
