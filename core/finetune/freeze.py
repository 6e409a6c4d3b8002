"""`model.freeze`: which parameters get no gradient and no optimizer state (both backends).

    model:
      freeze: [vision_tower, projector, "model.layers.0.*", model.embed_tokens]

An entry is either a convenience key for the parts of multimodal models (CONVENIENCE: the name
prefixes of the common Hugging Face VLM classes) or an fnmatch pattern on parameter names. A pattern
also matches the parameters under a module of that name ("model.embed_tokens" freezes
"model.embed_tokens.weight"). An entry that matches no parameter is a one-line RecipeError naming
the key, so a typo never trains the whole model silently. Framework-neutral.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Iterable

from core.errors import RecipeError

KEY = "model.freeze"
_VISION = ("visual", "model.visual", "vision_tower", "model.vision_tower", "vision_model", "model.vision_model")
_PROJECTOR = ("visual.merger", "model.visual.merger", "multi_modal_projector", "model.multi_modal_projector",
              "visual.deepstack_merger_list", "model.visual.deepstack_merger_list")  # Qwen3-VL's deepstack mergers
_LANGUAGE = ("language_model", "model.language_model", "lm_head",
             "model.layers", "model.embed_tokens", "model.norm")  # the last three: Qwen2-VL's layout before transformers 4.52
# key -> (name prefixes, prefixes excluded again): Qwen2-VL/Qwen2.5-VL keep their projector (`merger`) inside `visual`
CONVENIENCE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "vision_tower": (_VISION, _PROJECTOR),
    "projector": (_PROJECTOR, ()),
    "multi_modal_projector": (_PROJECTOR, ()),
    "language_model": (_LANGUAGE, ()),
}


def check_entries(entries: list[str]) -> None:
    """Recipe validation: non-empty strings (types are checked by the schema)."""
    for i, e in enumerate(entries):
        if not e.strip():
            raise RecipeError(f"recipe key '{KEY}[{i}]' is empty; give a parameter-name pattern such as "
                              f"'model.layers.0.*' or one of {', '.join(CONVENIENCE)}")


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _matches(entry: str, name: str) -> bool:
    if entry in CONVENIENCE:
        include, exclude = CONVENIENCE[entry]
        return any(_under(name, p) for p in include) and not any(_under(name, p) for p in exclude)
    return fnmatchcase(name, entry) or fnmatchcase(name, entry + ".*")


def frozen_names(names: Iterable[str], entries: list[str]) -> set[str]:
    """The parameter names the entries freeze; a RecipeError for an entry that matches none of them."""
    names = list(names)
    out: set[str] = set()
    for i, entry in enumerate(entries):
        hit = {n for n in names if _matches(entry, n)}
        if not hit:
            example = ", ".join(names[:3])
            raise RecipeError(f"recipe key '{KEY}[{i}]' ({entry!r}) matches no parameter of the model "
                              f"(names look like: {example}, ...)")
        out |= hit
    return out
