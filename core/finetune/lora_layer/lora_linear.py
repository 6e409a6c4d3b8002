"""A LoRA linear layer in plain torch, for MindSpore: converted by the codemods like any model source.

    LoraLinear(base_layer, in_features, out_features, r, alpha, dropout)   # y = base(x) + B(A(drop(x))) * alpha/r

It computes what peft's `peft.tuners.lora.layer.Linear` computes (fp32, no DoRA/rsLoRA) and holds the
same submodule names (`base_layer`, `lora_A.default`, `lora_B.default`, `lora_dropout.default`), so
the converted model's parameter names are peft's and weights copy across by name. On torch the
adapters are peft's own; this file runs on torch only in the test that checks it against peft
(tests/finetune/test_lora.py). backends/mindspore/finetune.py loads its conversion. The folder has no
__init__.py on purpose: the converter then treats this file alone as the user's code.
"""

import torch
from torch import nn


class LoraLinear(nn.Module):
    def __init__(self, base_layer, in_features, out_features, r, alpha, dropout=0.0):
        super().__init__()
        self.base_layer = base_layer
        self.lora_dropout = nn.ModuleDict({"default": nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()})
        self.lora_A = nn.ModuleDict({"default": nn.Linear(in_features, r, bias=False)})
        self.lora_B = nn.ModuleDict({"default": nn.Linear(r, out_features, bias=False)})
        self.scaling = alpha / r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.base_layer(x)
        lora_a, lora_b, dropout = self.lora_A["default"], self.lora_B["default"], self.lora_dropout["default"]
        return result + lora_b(lora_a(dropout(x))) * self.scaling
