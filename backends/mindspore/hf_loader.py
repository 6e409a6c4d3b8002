"""A Hugging Face family on MindSpore: transformers' own modeling source, converted on import.

    from backends.mindspore.hf_loader import load_family
    modeling = load_family("llama")                      # transformers/models/llama/modeling_llama.py
    model = modeling.LlamaForCausalLM(LlamaConfig(...))  # a mindspore.nn.Cell, HF parameter names

The modeling file is converted by the codemods and cached like any model source
(backends/mindspore/importer.converted_source). Its relative imports are then pointed elsewhere:
transformers' torch-bound shared machinery to backends/mindspore/compat_hf (PreTrainedModel, masks,
activations, rope, the attention registry; see its table), the framework-neutral rest (the family's
configuration class, modeling_outputs, utils) to transformers itself. A diagnostic from the
converter, or an import of a transformers module that is neither, is a one-line error naming the file.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

from backends.base import BackendError

_COMPAT = {"activations", "cache_utils", "generation", "initialization", "integrations", "masking_utils",
           "modeling_layers", "modeling_rope_utils", "modeling_utils", "pytorch_utils", "utils.generic",
           "utils.output_capturing"}
_NEUTRAL = {"modeling_outputs", "processing_utils", "utils", "utils.deprecation", "configuration_utils",
            "modeling_flash_attention_utils"}
_RELATIVE = re.compile(r"^from (\.+)([\w.]*) import", re.M)
_LOADED: dict[str, types.ModuleType] = {}


def modeling_file(model_type: str) -> Path:
    import transformers

    path = Path(transformers.__file__).parent / "models" / model_type / f"modeling_{model_type}.py"
    if not path.is_file():
        raise BackendError(f"transformers {transformers.__version__} has no modeling file for model_type '{model_type}'")
    return path


def _retarget(code: str, model_type: str, path: Path) -> str:
    def target(match):
        dots, name = match.group(1), match.group(2)
        if len(dots) == 1:  # the family's own folder: its configuration
            return f"from transformers.models.{model_type}.{name} import"
        if len(dots) == 3:
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
    """The converted modeling module of `model_type` (once per process)."""
    if model_type in _LOADED:
        return _LOADED[model_type]
    from backends.mindspore.importer import converted_source

    path = modeling_file(model_type)
    out, problems = converted_source(path)
    if problems:
        raise BackendError(f"{path}: the converter cannot translate {len(problems)} torch API use(s): {problems[0]}")
    code = _retarget(out.read_text(encoding="utf-8"), model_type, path)
    name = f"_mindbridge_hf.modeling_{model_type}"
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
    _LOADED[model_type] = module
    return module
