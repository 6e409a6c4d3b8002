"""transformers.cache_utils on MindSpore: no KV cache yet (training and full-sequence forward only)."""

from __future__ import annotations


class Cache:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("the KV cache (generation) is not converted for MindSpore yet: call the model "
                                  "with use_cache=False")


class DynamicCache(Cache):
    pass


class EncoderDecoderCache(Cache):
    pass
