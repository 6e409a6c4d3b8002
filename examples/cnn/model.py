"""A small CNN image classifier in plain PyTorch: Conv2d, BatchNorm2d, max and adaptive pooling.

Takes a batch as Hugging Face image models do: `forward(pixel_values, labels=None)` returns the
logits, or the cross-entropy loss when labels are given; the constructor takes keyword config, and
the file runs in a plain torch script. The MindSpore backend runs it through the codemods.

    python examples/cnn/model.py                           # the loss on random images
    python -m core.launch examples/cnn/shapes.yaml         # trains on generated shapes (core/data/images.py)
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, width=16):
        super().__init__()
        self.stem = conv_bn(in_channels, width)  # (B, w, H, W)
        self.stage1 = conv_bn(width, 2 * width)
        self.stage2 = conv_bn(2 * width, 4 * width)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.head = nn.Linear(4 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, pixel_values, labels=None):
        x = self.pool(self.stem(pixel_values))  # (B, w, H/2, W/2)
        x = self.pool(self.stage1(x))  # (B, 2w, H/4, W/4)
        x = self.stage2(x)  # (B, 4w, H/4, W/4)
        x = F.adaptive_avg_pool2d(x, 1)  # (B, 4w, 1, 1)
        x = torch.flatten(x, 1)  # (B, 4w)
        logits = self.head(x)  # (B, classes)
        if labels is None:
            return logits
        return F.cross_entropy(logits, labels)


if __name__ == "__main__":
    torch.manual_seed(0)
    model = SmallCNN(num_classes=10)
    images = torch.randn(4, 3, 16, 16)
    labels = torch.randint(0, 10, (4,))
    loss = model(pixel_values=images, labels=labels)
    print(f"params={sum(p.numel() for p in model.parameters())} loss={loss.item():.4f}")
