"""Fine-tuning a part of a model: `model.freeze` (freeze.py) and `model.lora` (lora.py), on both backends.

    model:
      source: hf:Qwen2.5-0.5B/
      freeze: [model.embed_tokens, "model.layers.0.*"]    # or: lora: {r: 8, alpha: 16, target_modules: all-linear}

freeze.py and lora.py are framework-neutral (recipe checks, names, adapter files, merging in numpy);
torch_model.py applies both to a torch model (LoRA through peft itself); backends/mindspore/finetune.py
does the same on MindSpore with lora_layer/lora_linear.py (plain torch source) converted by the codemods.
See docs/finetune.md.
"""
