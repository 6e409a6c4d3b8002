"""Where a recipe's model class lives: `model.source` parsed into a file or module and a class name.

    model:
      source: model.py:Llama            # a file, relative to the recipe's folder
      source: mypkg.models.llama:Llama  # or an importable module

Each backend imports the class its own way (backends/<name>/importer.py: torch as is, MindSpore
through the codemods), so this module only parses and locates; it imports nothing of the model.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from backends.base import ModelSource
from core.errors import RecipeError


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


def source_file(src: ModelSource) -> Path:
    """The .py file that defines the model (found without importing it)."""
    if src.path is not None:
        return src.path
    spec = importlib.util.find_spec(src.module)
    if spec is None or not spec.origin:
        raise RecipeError(f"recipe key 'model.source': cannot find module '{src.module}'")
    return Path(spec.origin)
