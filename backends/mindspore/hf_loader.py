"""A Hugging Face family on MindSpore: transformers' own modeling source, converted on import.

    from backends.mindspore.hf_loader import load_family
    modeling = load_family("llama")                      # transformers/models/llama/modeling_llama.py
    model = modeling.LlamaForCausalLM(LlamaConfig(...))  # a mindspore.nn.Cell, HF parameter names

The modeling file is converted by the codemods and cached like any model source
(backends/mindspore/importer.converted_source). Its relative imports are then pointed elsewhere:
transformers' torch-bound shared machinery to backends/mindspore/compat_hf (PreTrainedModel, masks,
activations, rope, the attention registry, AutoModel; see its table), the framework-neutral rest (the
family's configuration class, modeling_outputs, most of utils) to transformers itself. A diagnostic from the
converter, or an import of a transformers module that is neither, is a one-line error naming the file.

`load_family` takes a folder name or a config's model_type (`clip_vision_model` is modeling_clip, as
transformers' model_type_to_module_name says). A torch-bound module of transformers' top level that
holds only tensor code (vision_utils) is converted like a modeling file (`load_shared`), and compat_hf
re-exports it.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

from backends.base import BackendError

_COMPAT = {"activations", "cache_utils", "generation", "initialization", "integrations", "masking_utils",
           "modeling_layers", "modeling_rope_utils", "modeling_utils", "pytorch_utils", "utils.generic",
           "utils", "utils.output_capturing", "vision_utils"}
_NEUTRAL = {"modeling_outputs", "processing_utils", "utils.deprecation", "configuration_utils",
            "modeling_flash_attention_utils"}
_RELATIVE = re.compile(r"^from (\.+)([\w.]*) import", re.M)
_LOADED: dict[str, types.ModuleType] = {}


def family_folder(model_type: str) -> str:
    """The folder under transformers/models of a model_type (`clip_vision_model` -> `clip`)."""
    from transformers.models.auto.configuration_auto import model_type_to_module_name

    return model_type_to_module_name(model_type)


def modeling_file(model_type: str) -> Path:
    import transformers

    folder = family_folder(model_type)
    path = Path(transformers.__file__).parent / "models" / folder / f"modeling_{folder}.py"
    if not path.is_file():
        raise BackendError(f"transformers {transformers.__version__} has no modeling file for model_type '{model_type}'")
    return path


def _retarget(code: str, folder: str | None, path: Path) -> str:
    """Point the relative imports of a converted file elsewhere. `folder`: the family's folder, or None for a
    module of transformers' top level (whose `.X` is what a family's `...X` is)."""
    top = 3 if folder is not None else 1

    def target(match):
        dots, name = match.group(1), match.group(2)
        if folder is not None and len(dots) == 1:  # the family's own folder: its configuration
            return f"from transformers.models.{folder}.{name} import"
        if folder is not None and len(dots) == 2 and name in ("auto", "auto.modeling_auto"):
            return "from backends.mindspore.compat_hf.auto import"  # AutoModel.from_config of a sub-config
        if len(dots) == top:
            if not name:  # `from ... import initialization as init`: names are modules of the package
                return "from backends.mindspore.compat_hf import"
            if name in _COMPAT:
                return f"from backends.mindspore.compat_hf.{name.rpartition('.')[2]} import"
            if name in _NEUTRAL:
                return f"from transformers.{name} import"
        raise BackendError(f"{path}: imports '{dots}{name}', which backends/mindspore/compat_hf does not provide "
                           "(the family is not supported on MindSpore yet)")
    return _RELATIVE.sub(target, code)


def load_family(model_type: str) -> types.ModuleType:
    """The converted modeling module of `model_type` (a folder name or a config's model_type; once per process)."""
    path = modeling_file(model_type)
    return _load(path, path.parent.name, f"modeling_{path.parent.name}")


def load_shared(module: str) -> types.ModuleType:
    """transformers' top-level module `module` (e.g. "vision_utils"), converted like a modeling file."""
    import transformers

    return _load(Path(transformers.__file__).parent / f"{module}.py", None, module)


def _load(path: Path, folder: str | None, stem: str) -> types.ModuleType:
    if stem in _LOADED:
        return _LOADED[stem]
    from backends.mindspore.importer import converted_source

    out, problems = converted_source(path)
    if problems:
        raise BackendError(f"{path}: the converter cannot translate {len(problems)} torch API use(s): {problems[0]}")
    code = _retarget(out.read_text(encoding="utf-8"), folder, path)
    name = f"_mindbridge_hf.{stem}"
    module = types.ModuleType(name)
    module.__file__ = str(out)
    sys.modules[name] = module
    try:
        exec(compile(code, str(out), "exec"), module.__dict__)
    except ImportError as e:
        del sys.modules[name]
        if (e.name or "").startswith("backends.mindspore.compat_hf"):
            raise BackendError(f"{path}: {e.msg.split(' (')[0]} (the family is not supported on MindSpore yet)") from None
        raise
    except BaseException:
        del sys.modules[name]
        raise
    _LOADED[stem] = module
    return module
