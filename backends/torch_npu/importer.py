"""Import a recipe's model class for the torch backend: plain Python import machinery, the source as is.

    from backends.torch_npu.importer import import_model_class
    Llama = import_model_class(resolve_model_source("model.py:Llama", "examples/llama"))

Mirrors backends/mindspore/importer.py, which imports the same source through the codemods.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from backends.base import ModelSource
from core.errors import RecipeError


def import_model_class(src: ModelSource):
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
