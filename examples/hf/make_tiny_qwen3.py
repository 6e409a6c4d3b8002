"""Make examples/hf/tiny-qwen3/: a tiny random Qwen3 (2 layers, hidden 32, 34k parameters, byte vocabulary)
saved by transformers itself, so `model.source: hf:tiny-qwen3/` has a real Hugging Face folder offline.

    python examples/hf/make_tiny_qwen3.py            # rewrites the folder (deterministic: seed 0)

The folder is shipped (about 140 KB); this script is how it was made.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import transformers

OUT = Path(__file__).resolve().parent / "tiny-qwen3"
CONFIG = dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, head_dim=8, max_position_embeddings=128, rope_theta=10000.0,
              tie_word_embeddings=False, bos_token_id=None, eos_token_id=None, pad_token_id=None)


def main() -> int:
    torch.manual_seed(0)
    model = transformers.Qwen3ForCausalLM(transformers.Qwen3Config(**CONFIG))
    model.save_pretrained(OUT)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {OUT} ({n:,} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
