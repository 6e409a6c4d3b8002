"""transformers.generation on MindSpore: GenerationMixin as an empty base (no .generate() yet)."""


class GenerationMixin:
    pass
