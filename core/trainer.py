"""The one training loop, shared by every backend; it imports no framework.

For each step: this rank's micro-batches from core.data (named numpy arrays, a pure function of
seed, step and micro index), their token weights (core.batch), the lr from core.schedule, one
`backend.train_step`, then logging (progress bar, log lines, metrics.jsonl), eval, checkpointing
and a NaN/inf guard. The backend does forward, backward, clipping and the optimizer update behind
the contract in backends/base.py.

Initial weights come from one place: `model.init_from` when set, else the reference backend's
seeded init (the torch source built on the CPU), so one recipe and seed give one run on every
backend; a host without torch uses the backend's own init and says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from core import checkpoint as ckpt
from core import hfmodel, registry
from core.batch import loss_tokens, micro_batch_weights
from core.data import check_data_tokenizer, recipe_data
from core.atomic import atomic_write_text
from core.errors import CheckpointError, DataError, RecipeError, UserError
from core.metrics import MetricsLog
from core.recipe import Recipe
from core.schedule import recipe_lr


class NonFiniteLossError(UserError, RuntimeError):
    """Training produced a NaN/inf loss or gradient norm; the run stopped."""


class ModelError(UserError, RuntimeError):
    """The model failed while being built or in its first step: almost always a model.config that does
    not fit the model or the data; the full traceback is in the run folder."""


def reference_weights(recipe: Recipe, log=print) -> dict | None:
    """The seeded initial weights of the recipe's model on the reference backend (torch, on the CPU),
    or None when that backend is not installed here (the caller's backend then uses its own init)."""
    ref = registry.reference_backend()
    if not registry.available(ref):
        log(f"note: {ref} is not installed, so the {recipe.backend} backend starts from its own random init "
            f"(seed {recipe.train.seed}); a {ref} run of this recipe starts from other weights")
        return None
    r = dataclasses.replace(recipe, backend=ref, device="cpu",
                            train=dataclasses.replace(recipe.train, fused_kernels=False, precision="fp32"))
    backend = registry.create_backend(r)
    backend.build()
    return backend.state_dict()


@dataclass
class RunSummary:
    backend: str
    device: str
    steps: int  # last completed step (1-based count)
    losses: list[float] = field(default_factory=list)  # per step run in this process
    final_loss: float = float("nan")
    eval_loss: float | None = None
    tokens_per_s: float = 0.0
    elapsed_s: float = 0.0
    num_parameters: int = 0
    trainable_parameters: int = 0  # without what model.freeze / model.lora keep fixed
    run_dir: str = ""
    checkpoint: str | None = None
    resumed_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Trainer:
    def __init__(self, recipe: Recipe, backend, *, world_size: int = 1, rank: int = 0, progress: bool = True,
                 log=print):
        self.r = recipe
        self.backend = backend
        self.world_size = world_size
        self.rank = rank
        self.is_main = rank == 0
        self.progress = progress and self.is_main
        self._log = log if self.is_main else (lambda *a, **k: None)
        self.run_dir = recipe.run_dir
        self.ckpt_dir = recipe.checkpoint_dir

    # ------------------------------------------------------------ pieces

    def _micro_batches(self, data, step: int) -> list:
        """This rank's share of the step's global batch: micro indices rank*A .. rank*A+A-1, so one process
        with grad_accum A*W sees exactly the batch of W ranks with grad_accum A."""
        accum = self.r.train.grad_accum
        first = self.rank * accum
        return [data.train_batch(step, m) for m in range(first, first + accum)]

    def _weights(self, batches, step: int) -> list[float]:
        counts = [loss_tokens(b) for b in batches]
        try:
            weights = micro_batch_weights(counts, self.world_size, self.backend.all_reduce_mean)
        except ValueError as e:
            raise DataError(f"step {step + 1}: {e}") from None
        if not any(weights):  # this rank would skip its backward, and its peers would wait for it
            raise DataError(f"step {step + 1}: rank {self.rank}'s share of the batch has no label that carries loss")
        return weights

    def _evaluate(self, data) -> float:
        """Token-weighted mean loss over the held-out batches (batches without loss tokens are skipped)."""
        total = count = 0.0
        for batch in data.val_batches(self.r.train.eval_batches):
            n = loss_tokens(batch)
            if n:
                total += self.backend.eval_loss(batch) * n
                count += n
        return total / count if count else float("nan")

    def _save(self, step: int) -> Path | None:
        # Every rank gathers the state (a collective when it is sharded, e.g. FSDP); only rank 0 writes.
        save_optim = self.r.checkpoint.save_optimizer
        weights, optim = self.backend.state_dict(), self.backend.optimizer_state() if save_optim else {}
        if not self.is_main:
            return None
        meta = {"step": step, "backend": self.backend.name, "rng": self.backend.rng_state(),
                "recipe": self.r.to_dict(), "recipe_dir": str(Path(self.r.base_dir).resolve()),
                "optimizer_saved": save_optim}
        extra = None
        if self.r.model.lora:  # peft's adapter files, in the checkpoint folder and the run's adapter/ folder
            from core.finetune.lora import write_adapter
            from core.finetune.run_files import adapter_files_of_run

            extra = adapter_files_of_run(self.r, weights)
            write_adapter(self.run_dir / "adapter", extra)
        return ckpt.save_checkpoint(self.ckpt_dir, step, weights, optim, meta,
                                    keep_last=self.r.checkpoint.keep_last or None, extra=extra)

    def _resume(self) -> tuple[int, str | None]:
        """(step to continue after, checkpoint used); says which checkpoint and why others were passed over.

        `auto` with checkpoints present but none intact is an error: starting over would be silent data
        loss; `checkpoint.resume=none` is how to ask for a fresh start."""
        resume = self.r.checkpoint.resume
        if resume == "none":
            return 0, None
        if resume == "auto":
            path, skipped = ckpt.find_resumable(self.ckpt_dir)
            for step_dir, why in sorted(skipped.items()):
                self._log(f"resume: passing over {step_dir}: {why}")
            if path is None:
                if skipped:
                    newest = max(skipped)
                    raise CheckpointError(
                        f"checkpoint.resume=auto: none of the {len(skipped)} checkpoint(s) in {self.ckpt_dir} is "
                        f"usable (newest {newest.name}: {skipped[newest]}); move them away, or start over with "
                        f"--set checkpoint.resume=none")
                self._log(f"resume: no checkpoint in {self.ckpt_dir} yet; starting at step 0")
                return 0, None
        else:
            path = Path(resume)
        weights, optim, meta = ckpt.load_checkpoint(path)
        self.backend.load_state_dict(weights)
        c = self.r.checkpoint
        if not c.load_optimizer:
            self._log("resume: optimizer state not loaded (checkpoint.load_optimizer: false); it starts fresh")
        elif meta.get("optimizer_saved", True):
            self.backend.load_optimizer_state(optim)
        else:
            raise CheckpointError(f"{path} holds no optimizer state (saved with checkpoint.save_optimizer: false); "
                                  f"resume with --no-load-optim (checkpoint.load_optimizer: false)")
        if not c.load_rng:
            self._log("resume: random state not loaded (checkpoint.load_rng: false)")
        elif meta.get("backend") == self.backend.name and meta.get("rng"):
            self.backend.set_rng_state(meta["rng"])
        return int(meta["step"]), str(path)

    @contextlib.contextmanager
    def _model_errors(self, stage: str):
        """Turn a failure of the user's model code into one line naming the recipe keys to check; the full
        traceback goes to the run folder (error.log, or error-rank<N>.log under a launcher)."""
        try:
            yield
        except (UserError, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001 -- any failure inside third-party model code
            log = self.run_dir / (f"error-rank{self.rank}.log" if self.world_size > 1 else "error.log")
            atomic_write_text(log, traceback.format_exc())
            first = (str(e).strip().splitlines() or [""])[0]
            first = first if len(first) <= 240 else first[:237] + "..."
            memory = isinstance(e, MemoryError) or "allocate" in first.lower()
            hint = ("the model does not fit in memory: lower the sizes in model.config or data.batch_size" if memory
                    else "check model.config against the model (sizes, heads, divisibility) and data.seq_len "
                         "against its context length")
            config = ", ".join(f"{k}={v}" for k, v in self.r.model.config.items()) or "no keys"
            raise ModelError(f"{stage} of {self.r.model.source} failed with model.config ({config}) and data.seq_len "
                             f"{self.r.data.seq_len}: {type(e).__name__}: {first} ({hint}; full traceback: {log})"
                             ) from None

    def init_weights(self) -> str:
        """Load the run's initial weights; returns where they came from, for the log line."""
        init = self.r.model.init_from
        if hfmodel.is_hf_source(init):  # a Hugging Face folder, through the model's weight adapter
            from core.checkpoint.hf import recipe_init_weights

            self.backend.load_state_dict(recipe_init_weights(self.r))
            return f"Hugging Face weights from {init[3:]}"
        if init:
            src = Path(init)
            if not src.is_absolute() and not src.exists():
                src = Path(self.r.base_dir) / src
            self.backend.load_state_dict(ckpt.load_weights(src))
            return f"weights from {src}"
        if hfmodel.is_hf_source(self.r.model.source):  # backend.build() loaded them with the model
            return f"Hugging Face weights from {self.r.model.source[3:]}"
        if self.backend.capabilities.reference_init:
            return f"seeded init (seed {self.r.train.seed})"
        weights = reference_weights(self.r, log=self._log)
        if weights is None:
            return f"{self.backend.name}'s own seeded init (seed {self.r.train.seed})"
        self.backend.load_state_dict(weights)
        return f"{registry.reference_backend()}'s seeded init (seed {self.r.train.seed}, built on the CPU)"

    # ------------------------------------------------------------ loop

    def run(self) -> RunSummary:
        r = self.r
        data = recipe_data(r)
        model_vocab, where = r.model.config.get("vocab_size"), "recipe key 'model.config.vocab_size' is"
        if hfmodel.is_hf_source(r.model.source):  # the folder's config.json decides
            model_vocab, where = hfmodel.config_vocab_size(r.model.source, r.base_dir)
            check_data_tokenizer(data, hfmodel.source_folder(r.model.source, r.base_dir))
        data_vocab = getattr(data, "vocab_size", None)
        if isinstance(model_vocab, int) and data_vocab is not None and model_vocab < data_vocab:
            raise RecipeError(f"{where} {model_vocab}, smaller than the vocabulary of "
                              f"data.source '{r.data.source}' ({data_vocab} token ids)")
        with self._model_errors("building the model"):
            self.backend.build()
        start, resumed_from = self._resume()
        init = "the checkpoint's weights" if resumed_from else self.init_weights()  # no init work to throw away
        summary = RunSummary(backend=self.backend.name, device=self.backend.describe_device(), steps=start,
                             num_parameters=self.backend.num_parameters(),
                             trainable_parameters=self.backend.trainable_parameters(), run_dir=str(self.run_dir),
                             resumed_from=resumed_from)
        self._log(f"mindbridge: {r.name} | backend {self.backend.name} on {summary.device} | "
                  f"{summary.trainable_parameters:,} trainable / {summary.num_parameters:,} params | {r.train.steps} steps x {r.train.grad_accum * self.world_size} "
                  f"x {r.data.batch_size} | data: {data.describe()} | init: {init}")
        if resumed_from:
            self._log(f"resumed from {resumed_from} at step {start} (checksums verified)")
        if start >= r.train.steps:
            self._log(f"nothing to do: checkpoint is at step {start} >= train.steps {r.train.steps}")
            return summary

        metrics = MetricsLog.open(self.run_dir, resume_step=start) if self.is_main else None
        if metrics is not None and metrics.superseded:
            self._log(f"metrics: lines after step {start} of an earlier run moved to {metrics.superseded}")
        # "tokens" of token data; images of image data (data.unit names which, for the log lines)
        tokens_per_step = r.train.grad_accum * self.world_size * r.data.batch_size * getattr(data, "seq_len", 1)
        unit = data.unit
        bar = tqdm(total=r.train.steps, initial=start, disable=not self.progress, unit="step", dynamic_ncols=True,
                   desc=self.backend.name)
        t0 = time.perf_counter()
        last_saved = None
        try:
            for step in range(start, r.train.steps):
                lr = recipe_lr(r, step)
                t_step = time.perf_counter()
                batches = self._micro_batches(data, step)
                first = contextlib.nullcontext() if step > start else self._model_errors("the first training step")
                with first:
                    result = self.backend.train_step(batches, self._weights(batches, step), lr)
                if self.world_size > 1:  # report the loss of the global batch, not of this rank's share
                    result = dataclasses.replace(result, loss=self.backend.all_reduce_mean(result.loss))
                dt = time.perf_counter() - t_step
                done = step + 1
                if not (math.isfinite(result.loss) and math.isfinite(result.grad_norm)):
                    kept = ckpt.latest_checkpoint(self.ckpt_dir, verify=True) if self.is_main else None
                    update = "was skipped" if not result.applied else "was applied in memory and is not saved"
                    raise NonFiniteLossError(
                        f"step {done}: loss={result.loss} grad_norm={result.grad_norm} is not finite; stopped "
                        f"(the update {update}; last good checkpoint: {kept or 'none'}). "
                        f"Try a lower optim.lr, train.clip_grad_norm, or train.precision=fp32")
                elapsed = time.perf_counter() - t0
                tok_s = tokens_per_step / dt if dt > 0 else 0.0
                summary.losses.append(result.loss)
                summary.steps = done
                record = {"step": done, "loss": result.loss, "lr": lr, "grad_norm": result.grad_norm,
                          "tokens_per_s": tok_s, "elapsed_s": elapsed}
                if done == r.train.steps:  # the final eval goes on the last step's line: each step once
                    summary.elapsed_s = elapsed
                    record["eval_loss"] = self._evaluate(data)
                elif r.train.eval_every and done % r.train.eval_every == 0:
                    record["eval_loss"] = self._evaluate(data)
                if metrics is not None:
                    metrics.write(record)
                bar.set_postfix_str(f"loss {result.loss:.4f} lr {lr:.2e} {tok_s:,.0f} {unit}/s", refresh=False)
                bar.update(1)
                if r.train.log_every and (done % r.train.log_every == 0 or done == r.train.steps):
                    extra = f" eval {record['eval_loss']:.4f}" if "eval_loss" in record else ""
                    line = (f"step {done:>6}/{r.train.steps} loss {result.loss:.4f}{extra} lr {lr:.3e} "
                            f"grad_norm {result.grad_norm:.3f} {tok_s:,.0f} {unit}/s")
                    bar.write(line) if self.progress else self._log(line)
                if r.train.save_every and done % r.train.save_every == 0 and done != r.train.steps:
                    last_saved = self._save(done)
            run_steps = summary.steps - start
            summary.tokens_per_s = tokens_per_step * run_steps / summary.elapsed_s if summary.elapsed_s else 0.0
            summary.final_loss = summary.losses[-1]
            summary.eval_loss = record["eval_loss"]
            last_saved = self._save(summary.steps) or last_saved
        finally:
            bar.close()
            if metrics is not None:
                metrics.close()
        summary.checkpoint = str(last_saved) if last_saved else None
        self._log(f"done: {summary.steps} steps in {summary.elapsed_s:.1f}s | loss {summary.final_loss:.4f} | "
                  f"eval {summary.eval_loss:.4f} | {summary.tokens_per_s:,.0f} {unit}/s | "
                  f"checkpoint {summary.checkpoint} | metrics {self.run_dir / 'metrics.jsonl'}")
        return summary
