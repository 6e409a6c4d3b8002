"""A Llama-style decoder in plain PyTorch: the single source of truth for both backends.

RMSNorm, rotary position embeddings, grouped-query attention, a SwiGLU MLP and optionally
tied input/output embeddings. Nothing here knows about mindbridge: the same file runs in a
plain torch script, and the MindSpore backend runs it through the codemods.

forward(input_ids, labels=None, attention_mask=None, position_ids=None, segment_ids=None), all (B, T):
attention_mask 1/0 hides padded keys; position_ids pick the rotary angles (packed rows restart them at 0
per sample); segment_ids (1, 2, .. per packed sample, 0 on padding) keep attention inside each sample
(block-diagonal causal). Without them the model is the plain causal one it always was.

    python examples/llama/model.py        # builds the tiny config and prints the loss on random bytes
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class LlamaConfig:
    vocab_size: int = 256  # byte-level tokens
    dim: int = 128  # model width C
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2  # < n_heads: grouped-query attention
    hidden_dim: int = 352  # SwiGLU inner width
    max_seq_len: int = 256
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = False
    init_std: float = 0.02


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # x: (B, T, C); statistics in fp32 for stability under bf16
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return x.to(dtype) * self.weight


def rope_tables(head_dim, max_seq_len, theta):
    """cos/sin tables of shape (max_seq_len, head_dim) for rotate-half RoPE."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    t = torch.arange(max_seq_len, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)  # (T, hd/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (T, hd)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x, cos, sin):
    # x: (B, H, T, hd); cos/sin: (T, hd), or (B, 1, T, hd) with position_ids, broadcast over batch and heads
    return x * cos + rotate_half(x) * sin


def attention_bias(pos, attention_mask, segment_ids):
    """(B, 1, T, T) bool, True where a query may attend: causal, within its segment, to unpadded keys.
    pos: arange(T). Every query keeps its own position, so a padded row always has a key to attend to."""
    allowed = pos[None, None, :] <= pos[None, :, None]  # (1, T, T): key <= query
    if segment_ids is not None:
        allowed = allowed & (segment_ids[:, :, None] == segment_ids[:, None, :])  # (B, T, T)
    if attention_mask is not None:
        allowed = allowed & (attention_mask[:, None, :] != 0)
    allowed = allowed | (pos[None, :, None] == pos[None, None, :])
    return allowed[:, None]


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.n_kv_heads = cfg.n_kv_heads
        self.head_dim = cfg.dim // cfg.n_heads
        self.wq = nn.Linear(cfg.dim, cfg.n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(cfg.dim, cfg.n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(cfg.dim, cfg.n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(cfg.n_heads * self.head_dim, cfg.dim, bias=False)

    def forward(self, x, cos, sin, mask=None):
        B, T, C = x.size()
        q = self.wq(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)
        k = self.wk(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, KV, T, hd)
        v = self.wv(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if self.n_kv_heads != self.n_heads:
            repeat = self.n_heads // self.n_kv_heads
            k = k.repeat_interleave(repeat, dim=1)  # (B, H, T, hd)
            v = v.repeat_interleave(repeat, dim=1)
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, hd)
        else:  # mask: (B, 1, T, T) bool from attention_bias
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.wo(y)


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.w1 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)  # gate
        self.w3 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)  # up
        self.w2 = nn.Linear(cfg.hidden_dim, cfg.dim, bias=False)  # down

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.ffn = FeedForward(cfg)

    def forward(self, x, cos, sin, mask=None):
        x = x + self.attn(self.attn_norm(x), cos, sin, mask)
        return x + self.ffn(self.ffn_norm(x))


class Llama(nn.Module):
    def __init__(self, **config):
        super().__init__()
        cfg = LlamaConfig(**config)
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.tok_emb.weight
        cos, sin = rope_tables(cfg.dim // cfg.n_heads, cfg.max_seq_len, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.init_weights()

    def init_weights(self):
        std = self.cfg.init_std
        # residual projections scaled down with depth (GPT-2 / torchtitan practice)
        out_std = std / math.sqrt(2 * self.cfg.n_layers)
        for name, p in self.named_parameters():
            if p.dim() < 2:
                continue
            nn.init.normal_(p, mean=0.0, std=out_std if name.endswith(("wo.weight", "w2.weight")) else std)

    def forward(self, input_ids, labels=None, attention_mask=None, position_ids=None, segment_ids=None):
        B, T = input_ids.shape  # (B, T) token ids; the optional inputs are (B, T) too
        x = self.tok_emb(input_ids)  # (B, T, C)
        if position_ids is None:
            cos = self.rope_cos[:T]  # (T, hd)
            sin = self.rope_sin[:T]
        else:
            cos = self.rope_cos[position_ids][:, None]  # (B, 1, T, hd)
            sin = self.rope_sin[position_ids][:, None]
        mask = None
        if attention_mask is not None or segment_ids is not None:
            mask = attention_bias(torch.arange(T, device=input_ids.device), attention_mask, segment_ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        logits = self.lm_head(self.norm(x))  # (B, T, V)
        if labels is None:
            return logits
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1))
        return loss


if __name__ == "__main__":
    torch.manual_seed(0)
    model = Llama(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=176)
    ids = torch.randint(0, 256, (2, 32))
    loss = model(ids, labels=ids)
    print(f"params={sum(p.numel() for p in model.parameters())} loss={loss.item():.4f} (ln 256 = {math.log(256):.4f})")
