"""Train the token classifier: python train.py [--epochs 3] [--batch-size 32] [--lr 3e-3]"""
import argparse

import torch
from torch.utils.data import DataLoader

from data import make_dataset, train_val_split
from model import TransformerClassifier
from trainer import EarlyStopping, ProgressLogger, Trainer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    train_set, val_set = train_val_split(make_dataset())
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, drop_last=True)
    val_loader = DataLoader(val_set, batch_size=64)

    model = TransformerClassifier(vocab_size=32)
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}")
    trainer = Trainer(model, lr=args.lr, max_epochs=args.epochs,
                      callbacks=[ProgressLogger(every=2), EarlyStopping(patience=2)])
    trainer.fit(train_loader, val_loader)


if __name__ == "__main__":
    main()
