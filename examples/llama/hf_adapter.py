"""Hugging Face `LlamaForCausalLM` weights <-> this folder's model.py: parameter names and config keys.

Both use rotate-half RoPE, so no weight permutation is needed; only names and config keys differ.
mindbridge finds this file beside model.py (core/checkpoint/hf.py) for:

    python -m core.checkpoint hf-import HF_DIR llama.safetensors
    python -m core.checkpoint hf-export runs/tiny/checkpoints OUT_DIR
    model.init_from: hf:HF_DIR                                           # in a recipe

Unsupported configs raise ValueError with a one-line reason.
"""

from __future__ import annotations

import re

MODEL_TYPES = ("llama",)  # HF config.json model_type values this adapter reads
ARCHITECTURE = "LlamaForCausalLM"
MODEL_SOURCE = "model.py:Llama"  # the model these weights load into, relative to this file
TIED = ("lm_head.weight", "tok_emb.weight")  # (head, embedding): one tensor when tie_embeddings

# model.py LlamaConfig defaults (kept equal by tests/core/test_hf.py)
DEFAULTS = {"vocab_size": 256, "dim": 128, "n_layers": 4, "n_heads": 4, "n_kv_heads": 2, "hidden_dim": 352,
            "max_seq_len": 256, "rope_theta": 10000.0, "norm_eps": 1e-5, "tie_embeddings": False, "init_std": 0.02}
# our model.config key -> HF config.json key (rope_theta is handled apart: HF moved it into rope_parameters)
CONFIG_KEYS = {"vocab_size": "vocab_size", "dim": "hidden_size", "n_layers": "num_hidden_layers",
               "n_heads": "num_attention_heads", "n_kv_heads": "num_key_value_heads", "hidden_dim": "intermediate_size",
               "max_seq_len": "max_position_embeddings", "norm_eps": "rms_norm_eps",
               "tie_embeddings": "tie_word_embeddings"}
# (HF name pattern, our name pattern); {i} is the layer index
NAMES = [("model.embed_tokens.weight", "tok_emb.weight"), ("model.norm.weight", "norm.weight"),
         ("lm_head.weight", "lm_head.weight")] + [
    (f"model.layers.{{i}}.{hf}.weight", f"layers.{{i}}.{ours}.weight") for hf, ours in (
        ("self_attn.q_proj", "attn.wq"), ("self_attn.k_proj", "attn.wk"), ("self_attn.v_proj", "attn.wv"),
        ("self_attn.o_proj", "attn.wo"), ("mlp.gate_proj", "ffn.w1"), ("mlp.up_proj", "ffn.w3"),
        ("mlp.down_proj", "ffn.w2"), ("input_layernorm", "attn_norm"), ("post_attention_layernorm", "ffn_norm"))]
_IGNORED = re.compile(r"^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$")  # recomputed, stored by old exports


def _pattern(template: str) -> re.Pattern:
    return re.compile("^" + re.escape(template).replace(re.escape("{i}"), r"(\d+)") + "$")


_TO_OURS = [(_pattern(h), o) for h, o in NAMES]
_TO_HF = [(_pattern(o), h) for h, o in NAMES]


def _rename(name: str, table) -> str | None:
    for pat, template in table:
        m = pat.match(name)
        if m:
            return template.replace("{i}", m.group(1)) if m.groups() else template
    return None


def to_ours(name: str) -> str | None:
    return _rename(name, _TO_OURS)


def to_hf(name: str) -> str | None:
    return _rename(name, _TO_HF)


def ignored(name: str) -> bool:
    """An HF tensor with no place in model.py that is safe to drop."""
    return bool(_IGNORED.match(name))


def expected_keys(cfg: dict) -> list[str]:
    n = {**DEFAULTS, **cfg}["n_layers"]
    return ["tok_emb.weight", "norm.weight", "lm_head.weight"] + [
        o.replace("{i}", str(i)) for i in range(n) for _, o in NAMES[3:]]


def is_tied(cfg: dict) -> bool:
    return bool({**DEFAULTS, **cfg}["tie_embeddings"])


def config_from_hf(hf: dict) -> dict:
    """model.config from an HF LlamaConfig dict; what model.py cannot represent is a ValueError."""
    arch = hf.get("architectures") or []
    if hf.get("model_type") not in MODEL_TYPES and ARCHITECTURE not in arch:
        raise ValueError(f"model_type {hf.get('model_type')!r} / architectures {arch} is not a Llama "
                         f"({ARCHITECTURE}) model")
    missing = [k for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                           "intermediate_size") if k not in hf]
    if missing:
        raise ValueError(f"missing key(s) {missing}")
    rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    problems = []
    if hf.get("hidden_act", "silu") != "silu":
        problems.append(f"hidden_act={hf['hidden_act']!r} (examples/llama uses silu)")
    for key in ("attention_bias", "mlp_bias"):
        if hf.get(key):
            problems.append(f"{key}=true (examples/llama has no biases)")
    if hf.get("head_dim") not in (None, hf["hidden_size"] // hf["num_attention_heads"]):
        problems.append(f"head_dim={hf['head_dim']} != hidden_size / num_attention_heads")
    if rope.get("rope_type", rope.get("type", "default")) != "default":
        problems.append(f"rope type {rope.get('rope_type', rope.get('type'))!r} (examples/llama has plain RoPE)")
    if problems:
        raise ValueError(f"not representable by examples/llama: {'; '.join(problems)}")
    cfg = {ours: hf[key] for ours, key in CONFIG_KEYS.items() if key in hf}
    cfg.setdefault("n_kv_heads", hf["num_attention_heads"])
    cfg.setdefault("norm_eps", 1e-6)  # the HF LlamaConfig default
    cfg.setdefault("tie_embeddings", False)
    cfg["rope_theta"] = float(hf.get("rope_theta") or rope.get("rope_theta") or 10000.0)
    return cfg


def config_to_hf(cfg: dict) -> dict:
    """An HF config.json dict (LlamaForCausalLM) for a model.config of model.py."""
    unknown = sorted(set(cfg) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"model.config has key(s) {unknown} that examples/llama does not take")
    full = {**DEFAULTS, **cfg}
    hf = {"architectures": [ARCHITECTURE], "model_type": "llama", "hidden_act": "silu",
          "attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0,
          "head_dim": full["dim"] // full["n_heads"], "initializer_range": full["init_std"], "dtype": "float32"}
    hf.update({key: full[ours] for ours, key in CONFIG_KEYS.items()})
    hf["rope_theta"] = float(full["rope_theta"])  # older transformers read this key ...
    hf["rope_parameters"] = {"rope_theta": float(full["rope_theta"]), "rope_type": "default"}  # ... newer this one
    return hf
