"""Where a recipe's model class lives: `model.source` parsed into a file or module and a class name.

    model:
      source: model.py:Llama            # a file, relative to the recipe's folder
      source: mypkg.models.llama:Llama  # or an importable module

Backends import the class their own way (torch: as is; MindSpore: through the codemods), so this
module only resolves and imports plain Python; it imports no framework itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from core.recipe import RecipeError


@dataclass(frozen=True)
class ModelSource:
    module: str  # dotted module name to import it under
    attr: str  # class name inside the module
    path: Path | None  # the .py file, when the recipe names a file
    search_root: Path | None  # folder to put on sys.path so the file's own imports resolve

    @property
    def display(self) -> str:
        return f"{self.path or self.module}:{self.attr}"


def resolve_model_source(spec: str, base_dir: str | Path = ".") -> ModelSource:
    target, _, attr = spec.rpartition(":")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_absolute():
            path = Path(base_dir) / path
        path = path.resolve()
        if not path.is_file():
            raise RecipeError(f"recipe key 'model.source': file not found: {path}")
        # A file inside a package (folders with __init__.py) is imported as part of that package,
        # so its relative imports work; a loose file is imported from its own folder.
        parts = [path.stem]
        root = path.parent
        while (root / "__init__.py").is_file():
            parts.insert(0, root.name)
            root = root.parent
        return ModelSource(".".join(parts), attr, path, root)
    if not all(p.isidentifier() for p in target.split(".")):
        raise RecipeError(f"recipe key 'model.source': '{target}' is neither a .py file nor a module name")
    return ModelSource(target, attr, None, None)


def import_model_class(src: ModelSource):
    """Import the model class with plain Python import machinery (the torch backend's way)."""
    if src.search_root is not None and str(src.search_root) not in sys.path:
        sys.path.insert(0, str(src.search_root))
    try:
        module = importlib.import_module(src.module)
    except ModuleNotFoundError as e:
        raise RecipeError(f"recipe key 'model.source': cannot import '{src.module}': {e}") from None
    if src.path is not None and Path(getattr(module, "__file__", "") or "").resolve() != src.path:
        # Another module of the same name was imported first; load this exact file under a private name.
        spec = importlib.util.spec_from_file_location(f"_mindbridge_model_{abs(hash(src.path))}", src.path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    try:
        return getattr(module, src.attr)
    except AttributeError:
        raise RecipeError(f"recipe key 'model.source': {src.display} has no class '{src.attr}'") from None
