"""Regression training with save / resume, in the style of pytorch/examples imagenet/main.py:
AverageMeter/ProgressMeter logging, `save_checkpoint(state, is_best)`, `--resume PATH` restoring the
model, the optimizer, the lr scheduler and the epoch.

    python main.py --epochs 2                                     # writes checkpoint.pth.tar
    python main.py --epochs 4 --resume checkpoint.pth.tar         # continues at epoch 2
"""
import argparse
import os
import shutil
from enum import Enum

import numpy as np
import torch
import torch.nn as nn
import torch.optim
import torch.utils.data

parser = argparse.ArgumentParser(description="Regression Training")
parser.add_argument("--epochs", default=4, type=int, metavar="N", help="number of total epochs to run")
parser.add_argument("--start-epoch", default=0, type=int, metavar="N", help="manual epoch number (useful on restarts)")
parser.add_argument("-b", "--batch-size", default=32, type=int, metavar="N")
parser.add_argument("--lr", "--learning-rate", default=3e-3, type=float, metavar="LR", dest="lr")
parser.add_argument("--wd", "--weight-decay", default=1e-4, type=float, metavar="W", dest="weight_decay")
parser.add_argument("-p", "--print-freq", default=1, type=int, metavar="N")
parser.add_argument("--resume", default="", type=str, metavar="PATH", help="path to latest checkpoint (default: none)")
parser.add_argument("--seed", default=0, type=int)

best_loss = float("inf")


class Regressor(nn.Module):
    def __init__(self, in_features=12, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, 1))

    def forward(self, x):  # x: (B, in_features) -> (B,)
        return self.net(x).squeeze(-1)


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12)).astype(np.float32)
    w = np.linspace(-1, 1, 12, dtype=np.float32)
    y = (np.sin(x @ w) + 0.1 * rng.normal(size=n)).astype(np.float32)
    return torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def main():
    global best_loss
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    model = Regressor()
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    # optionally resume from a checkpoint
    if args.resume:
        if os.path.isfile(args.resume):
            print("=> loading checkpoint '{}'".format(args.resume))
            checkpoint = torch.load(args.resume, map_location="cpu")
            args.start_epoch = checkpoint["epoch"]
            best_loss = checkpoint["best_loss"]
            model.load_state_dict(checkpoint["state_dict"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            scheduler.load_state_dict(checkpoint["scheduler"])
            print("=> loaded checkpoint '{}' (epoch {})".format(args.resume, checkpoint["epoch"]))
        else:
            print("=> no checkpoint found at '{}'".format(args.resume))

    train_loader = torch.utils.data.DataLoader(make_data(256, args.seed), batch_size=args.batch_size, shuffle=True)
    val_loader = torch.utils.data.DataLoader(make_data(64, args.seed + 1), batch_size=64, shuffle=False)

    for epoch in range(args.start_epoch, args.epochs):
        train(train_loader, model, criterion, optimizer, epoch, args)
        val_loss = validate(val_loader, model, criterion)
        scheduler.step()

        is_best = val_loss < best_loss
        best_loss = min(val_loss, best_loss)
        save_checkpoint({
            "epoch": epoch + 1,
            "state_dict": model.state_dict(),
            "best_loss": best_loss,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
        }, is_best)


def train(train_loader, model, criterion, optimizer, epoch, args):
    losses = AverageMeter("Loss", ":.4e")
    progress = ProgressMeter(len(train_loader), [losses], prefix="Epoch: [{}]".format(epoch))

    model.train()
    for i, (features, target) in enumerate(train_loader):
        output = model(features)
        loss = criterion(output, target)
        losses.update(loss.item(), features.size(0))

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        if i % args.print_freq == 0:
            progress.display(i + 1)


def validate(val_loader, model, criterion):
    losses = AverageMeter("Loss", ":.4e", Summary.AVERAGE)
    model.eval()
    with torch.no_grad():
        for features, target in val_loader:
            losses.update(criterion(model(features), target).item(), features.size(0))
    print(f" * Val Loss {losses.avg:.6e}")
    return losses.avg


def save_checkpoint(state, is_best, filename="checkpoint.pth.tar"):
    torch.save(state, filename)
    if is_best:
        shutil.copyfile(filename, "model_best.pth.tar")


class Summary(Enum):
    NONE = 0
    AVERAGE = 1


class AverageMeter(object):
    """Computes and stores the average and current value"""

    def __init__(self, name, fmt=":f", summary_type=Summary.AVERAGE):
        self.name = name
        self.fmt = fmt
        self.summary_type = summary_type
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        fmtstr = "{name} {val" + self.fmt + "} ({avg" + self.fmt + "})"
        return fmtstr.format(**self.__dict__)


class ProgressMeter(object):
    def __init__(self, num_batches, meters, prefix=""):
        self.batch_fmtstr = self._get_batch_fmtstr(num_batches)
        self.meters = meters
        self.prefix = prefix

    def display(self, batch):
        entries = [self.prefix + self.batch_fmtstr.format(batch)]
        entries += [str(meter) for meter in self.meters]
        print("\t".join(entries))

    def _get_batch_fmtstr(self, num_batches):
        num_digits = len(str(num_batches // 1))
        fmt = "{:" + str(num_digits) + "d}"
        return "[" + fmt + "/" + fmt.format(num_batches) + "]"


if __name__ == "__main__":
    main()
