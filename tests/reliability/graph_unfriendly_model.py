import torch
import torch.nn as nn
import torch.nn.functional as F


class Odd(nn.Module):
    """Trains eagerly; in a compiled graph its Python-side tensor-to-numpy call cannot be compiled."""

    def __init__(self, vocab_size=256, dim=8):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(dim, vocab_size)

    def forward(self, input_ids, labels=None):
        logits = self.head(self.emb(input_ids))
        scale = float(logits.detach().abs().mean().numpy()) if self.training else 1.0
        logits = logits / (1.0 + 0.0 * scale)
        if labels is None:
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1))
