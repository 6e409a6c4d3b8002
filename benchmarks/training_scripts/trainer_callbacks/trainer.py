"""A small Trainer with callbacks, in the style of Lightning/Keras loops people write for themselves."""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Callback:
    def on_train_begin(self, trainer):
        pass

    def on_step_end(self, trainer, step, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_train_end(self, trainer):
        pass


class ProgressLogger(Callback):
    def __init__(self, every=1):
        self.every = every

    def on_step_end(self, trainer, step, logs):
        if step % self.every == 0:
            print(f"step {step:4d} | loss {logs['loss']:.6f} | lr {logs['lr']:.2e} | grad_norm {logs['grad_norm']:.4f}")

    def on_epoch_end(self, trainer, epoch, logs):
        print(f"epoch {epoch} | val_loss {logs['val_loss']:.6f} | val_acc {logs['val_acc']:.3f}")


class EarlyStopping(Callback):
    def __init__(self, monitor="val_loss", patience=2, min_delta=0.0):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.best = float("inf")
        self.wait = 0

    def on_epoch_end(self, trainer, epoch, logs):
        value = logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                print(f"early stopping at epoch {epoch}")
                trainer.should_stop = True


class Trainer:
    def __init__(self, model, lr=3e-3, weight_decay=0.01, max_epochs=3, max_grad_norm=1.0, callbacks=()):
        self.model = model
        self.max_epochs = max_epochs
        self.max_grad_norm = max_grad_norm
        self.callbacks = list(callbacks)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=weight_decay)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=10, gamma=0.5)
        self.global_step = 0
        self.should_stop = False

    def _call(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    def training_step(self, batch):
        tokens, labels = batch
        logits = self.model(tokens)
        return F.cross_entropy(logits, labels)

    @torch.no_grad()
    def evaluate(self, loader):
        self.model.eval()
        total, correct, loss_sum = 0, 0, 0.0
        for tokens, labels in loader:
            logits = self.model(tokens)
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(-1) == labels).sum().item()
            total += labels.numel()
        self.model.train()
        return {"val_loss": loss_sum / total, "val_acc": correct / total}

    def fit(self, train_loader, val_loader):
        self._call("on_train_begin")
        self.model.train()
        start = time.time()
        for epoch in range(self.max_epochs):
            for batch in train_loader:
                loss = self.training_step(batch)
                self.optimizer.zero_grad()
                loss.backward()
                grad_norm = nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
                self.optimizer.step()
                self.scheduler.step()
                logs = {"loss": loss.item(), "lr": self.optimizer.param_groups[0]["lr"],
                        "grad_norm": grad_norm.item()}
                self._call("on_step_end", self.global_step, logs)
                self.global_step += 1
            logs = self.evaluate(val_loader)
            self._call("on_epoch_end", epoch, logs)
            if self.should_stop:
                break
        self._call("on_train_end")
        print(f"trained {self.global_step} steps in {time.time() - start:.1f}s")
