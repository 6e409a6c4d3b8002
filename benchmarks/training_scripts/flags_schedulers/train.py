#!/usr/bin/env python
"""Image classification with a small ResNet-style CNN, configured by command-line flags, in the style
of the timm / torchvision reference scripts: SGD with Nesterov momentum, linear warmup then cosine
decay (SequentialLR, stepped per iteration) or multi-step decay, label smoothing, a custom collate_fn
and an explicit sampler.

    python train.py --epochs 2 --batch-size 32 --lr 0.1 --sched cosine --warmup-steps 4
"""
import argparse
import logging
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler

_logger = logging.getLogger("train")


def get_args():
    parser = argparse.ArgumentParser(description="tiny image classification training")
    group = parser.add_argument_group("Optimizer parameters")
    group.add_argument("--lr", type=float, default=0.05, help="learning rate")
    group.add_argument("--momentum", type=float, default=0.9, metavar="M")
    group.add_argument("--weight-decay", type=float, default=5e-4)
    group.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=True)
    group = parser.add_argument_group("Learning rate schedule parameters")
    group.add_argument("--sched", default="cosine", choices=["cosine", "step"])
    group.add_argument("--warmup-steps", type=int, default=4)
    group.add_argument("--decay-milestones", type=int, nargs="+", default=[10, 15])
    group.add_argument("--decay-rate", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("-b", "--batch-size", type=int, default=32)
    parser.add_argument("--smoothing", type=float, default=0.1, help="label smoothing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-interval", type=int, default=1)
    parser.add_argument("--num-samples", type=int, default=256)
    return parser.parse_args()


class ShapesDataset(Dataset):
    """3x16x16 images: one of 4 classes, a bright square in one quadrant, plus noise."""

    def __init__(self, n, seed):
        rng = np.random.RandomState(seed)
        self.labels = rng.randint(0, 4, size=n)
        self.images = rng.normal(0.0, 0.5, size=(n, 3, 16, 16)).astype(np.float32)
        for i, c in enumerate(self.labels):
            r, q = divmod(int(c), 2)
            self.images[i, :, r * 8:(r + 1) * 8, q * 8:(q + 1) * 8] += 1.5

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return {"image": self.images[index], "label": int(self.labels[index])}


def collate(samples):
    images = torch.stack([torch.as_tensor(s["image"]) for s in samples])
    labels = torch.tensor([s["label"] for s in samples], dtype=torch.long)
    return images, labels


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class TinyResNet(nn.Module):
    def __init__(self, num_classes=4, width=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.layer1 = BasicBlock(width, width)
        self.layer2 = BasicBlock(width, 2 * width, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):  # x: (B, 3, 16, 16)
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def build_scheduler(args, optimizer, steps_per_epoch):
    total = args.epochs * steps_per_epoch
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=args.warmup_steps)
    if args.sched == "cosine":
        main_sched = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total - args.warmup_steps, eta_min=1e-4)
    else:
        main_sched = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=args.decay_milestones, gamma=args.decay_rate)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, main_sched], milestones=[args.warmup_steps])


def train_one_epoch(epoch, model, loader, optimizer, scheduler, loss_fn, args):
    model.train()
    for batch_idx, (images, target) in enumerate(loader):
        output = model(images)
        loss = loss_fn(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if batch_idx % args.log_interval == 0:
            lr = optimizer.param_groups[0]["lr"]
            _logger.info(f"Train: {epoch} [{batch_idx:>3d}/{len(loader)}]  Loss: {loss.item():#.6g}  LR: {lr:.3e}")


def validate(model, loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, target in loader:
            correct += (model(images).argmax(1) == target).sum().item()
            total += target.size(0)
    return 100.0 * correct / total


def main():
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = get_args()
    torch.manual_seed(args.seed)

    train_set = ShapesDataset(args.num_samples, seed=args.seed)
    val_set = ShapesDataset(64, seed=args.seed + 1)
    loader_train = DataLoader(train_set, batch_size=args.batch_size, sampler=RandomSampler(train_set),
                              collate_fn=collate, drop_last=True, num_workers=0)
    loader_eval = DataLoader(val_set, batch_size=64, sampler=SequentialSampler(val_set), collate_fn=collate)

    model = TinyResNet()
    _logger.info(f"Model created, param count: {sum(p.numel() for p in model.parameters())}")
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                weight_decay=args.weight_decay, nesterov=args.nesterov)
    scheduler = build_scheduler(args, optimizer, len(loader_train))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.smoothing)

    start = time.time()
    for epoch in range(args.epochs):
        train_one_epoch(epoch, model, loader_train, optimizer, scheduler, loss_fn, args)
        top1 = validate(model, loader_eval)
        _logger.info(f"Eval: epoch {epoch}  Acc@1: {top1:.2f}")
    _logger.info(f"done in {time.time() - start:.1f}s")


if __name__ == "__main__":
    main()
