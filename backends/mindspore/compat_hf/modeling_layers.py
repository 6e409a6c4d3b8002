"""transformers.modeling_layers on MindSpore: GradientCheckpointingLayer is a plain Cell (no
recomputation); the Generic* task heads are not converted yet."""

from __future__ import annotations

from mindspore import nn


class GradientCheckpointingLayer(nn.Cell):
    gradient_checkpointing = False


class _NotConverted:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: only the causal-LM head is converted for MindSpore")


class GenericForSequenceClassification(_NotConverted):
    pass


class GenericForQuestionAnswering(_NotConverted):
    pass


class GenericForTokenClassification(_NotConverted):
    pass
