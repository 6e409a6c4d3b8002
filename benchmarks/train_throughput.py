"""Training throughput of one recipe on each backend, as ratios measured in one run.

    python benchmarks/train_throughput.py                         # examples/llama/tiny.yaml, 20 timed steps
    python benchmarks/train_throughput.py RECIPE --steps 30 --rounds 3 --json out.json
    python benchmarks/train_throughput.py --hf                    # the same sizes as a Hugging Face Llama folder

Rows: the torch backend; a bare hand-written torch loop (the same model file, batches, AdamW and
clipping, no mindbridge code: the baseline for the torch backend's own overhead); the MindSpore
backend (the *converted* torch model) in graph and in PyNative mode; and a hand-written native
MindSpore version of the same Llama in graph mode. The two hand-written rows live here, in the
benchmark, only as baselines (the native one is what a MindSpore expert would write: ops with CPU
kernels, no codemods, no patches); neither is shipped. Every row runs the same batches, the same
optimizer (AdamW with torch semantics), clipping and learning rate, and is timed per step after
warm-up; a row's figure is tokens / median step time.
Targets: torch backend >= 0.97x the bare loop; MindSpore graph >= 0.95x native, >= 0.5x torch.

`--hf` writes a random Hugging Face Llama folder of the recipe's sizes to a temporary folder and
times `model.source: hf:DIR` instead: the torch backend (transformers' class), a bare transformers
loop (baseline), and the MindSpore backend on the converted transformers source in PyNative (graph
mode does not compile transformers' source yet, so that row is reported as not measured).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.atomic import atomic_write_text  # noqa: E402
from core.data import recipe_data  # noqa: E402
from core.launch import resolve_recipe  # noqa: E402


def native_mindspore_llama(cfg: dict):
    """The hand-written baseline: the same Llama written directly against MindSpore, graph-safe, mint
    where mint has a CPU kernel and ops where it has none (embedding gather, cross-entropy)."""
    import mindspore as ms
    from mindspore import mint, nn, ops
    from mindspore.common.initializer import Normal, initializer

    dim, n_heads, n_kv = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"]
    hd, vocab, eps = dim // n_heads, cfg["vocab_size"], cfg.get("norm_eps", 1e-5)

    class RMSNorm(nn.Cell):
        def __init__(self):
            super().__init__()
            self.weight = ms.Parameter(ops.ones((dim,), ms.float32))

        def construct(self, x):
            return x * mint.rsqrt(mint.mean(x * x, -1, keepdim=True) + eps) * self.weight

    class Block(nn.Cell):
        def __init__(self):
            super().__init__()
            self.attn_norm, self.ffn_norm = RMSNorm(), RMSNorm()
            self.wq = mint.nn.Linear(dim, n_heads * hd, bias=False)
            self.wk = mint.nn.Linear(dim, n_kv * hd, bias=False)
            self.wv = mint.nn.Linear(dim, n_kv * hd, bias=False)
            self.wo = mint.nn.Linear(n_heads * hd, dim, bias=False)
            self.w1 = mint.nn.Linear(dim, cfg["hidden_dim"], bias=False)
            self.w3 = mint.nn.Linear(dim, cfg["hidden_dim"], bias=False)
            self.w2 = mint.nn.Linear(cfg["hidden_dim"], dim, bias=False)

        def rope(self, x, cos, sin):
            x1, x2 = mint.split(x, hd // 2, -1)
            return x * cos + mint.cat((-x2, x1), -1) * sin

        def construct(self, x, cos, sin, mask):
            B, T, _ = x.shape
            h = self.attn_norm(x)
            q = mint.transpose(self.wq(h).reshape(B, T, n_heads, hd), 1, 2)  # (B, H, T, hd)
            k = mint.transpose(self.wk(h).reshape(B, T, n_kv, hd), 1, 2)  # (B, KV, T, hd)
            v = mint.transpose(self.wv(h).reshape(B, T, n_kv, hd), 1, 2)
            q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
            rep = n_heads // n_kv  # GQA by broadcasting: (B, KV, 1, T, hd) -> (B, H, T, hd)
            k = mint.broadcast_to(k.reshape(B, n_kv, 1, T, hd), (B, n_kv, rep, T, hd)).reshape(B, n_heads, T, hd)
            v = mint.broadcast_to(v.reshape(B, n_kv, 1, T, hd), (B, n_kv, rep, T, hd)).reshape(B, n_heads, T, hd)
            s = mint.matmul(q, mint.transpose(k, -2, -1)) * (1.0 / math.sqrt(hd)) + mask
            y = mint.matmul(mint.softmax(s, dim=-1), v)  # (B, H, T, hd)
            x = x + self.wo(mint.transpose(y, 1, 2).reshape(B, T, dim))
            h = self.ffn_norm(x)
            return x + self.w2(mint.nn.functional.silu(self.w1(h)) * self.w3(h))

    class NativeLlama(nn.Cell):
        def __init__(self):
            super().__init__()
            self.tok_emb = ms.Parameter(initializer(Normal(0.02), (vocab, dim), ms.float32), name="tok_emb.weight")
            self.layers = nn.CellList([Block() for _ in range(cfg["n_layers"])])
            self.norm = RMSNorm()
            self.lm_head = mint.nn.Linear(dim, vocab, bias=False)
            inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (np.arange(0, hd, 2, dtype=np.float32) / hd))
            freqs = np.outer(np.arange(cfg["max_seq_len"], dtype=np.float32), inv)
            emb = np.concatenate([freqs, freqs], -1)
            self.cos, self.sin = ms.Tensor(np.cos(emb)), ms.Tensor(np.sin(emb))
            T = cfg["max_seq_len"]
            self.mask = ms.Tensor(np.triu(np.full((T, T), -np.inf, np.float32), 1))

        def construct(self, ids, labels):
            T = ids.shape[1]
            x = ops.gather(self.tok_emb, ids, 0)
            cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
            for layer in self.layers:
                x = layer(x, cos, sin, mask)
            logits = self.lm_head(self.norm(x))
            return ops.cross_entropy(logits.reshape(-1, vocab), labels.reshape(-1))

    return NativeLlama()


class NativeRunner:
    """Same step structure as backends/mindspore/runtime.py, around the hand-written model."""

    def __init__(self, recipe):
        import mindspore as ms
        from mindspore import ops
        from mindspore.experimental.optim import AdamW

        from backends.mindspore.device import use_target

        use_target("CPU")
        ms.set_seed(recipe.train.seed)
        self.ms, self.ops = ms, ops
        self.model = native_mindspore_llama(recipe.model.config)
        self.clip = recipe.train.clip_grad_norm
        o = recipe.optim
        self.opt = AdamW(self.model.trainable_params(), lr=o.lr, betas=tuple(o.betas), eps=o.eps,
                         weight_decay=o.weight_decay)
        self.grad_fn = ms.value_and_grad(self.model, None, self.opt.parameters)
        self.step = ms.jit(self._step)

    def _step(self, input_ids, labels):
        ops = self.ops
        loss, grads = self.grad_fn(input_ids, labels)
        norm = ops.sqrt(ops.addn([ops.reduce_sum(ops.square(g)) for g in grads]))
        coef = ops.minimum(self.clip / (norm + 1e-6), 1.0)
        self.opt(tuple(g * coef for g in grads))
        return loss, norm

    def train_step(self, batches, weights, lr):
        ms = self.ms
        self.ops.assign(self.opt.param_groups[0]["lr"], ms.Tensor(lr, ms.float32))
        b = batches[0]
        loss, _ = self.step(ms.Tensor(b["input_ids"]), ms.Tensor(b["labels"]))
        return float(loss)


class BareTorchLoop:
    """The hand-written torch baseline: what a user writes without mindbridge, for the same model file."""

    def __init__(self, recipe):
        import importlib.util

        import torch

        file, cls = recipe.model.source.split(":")
        spec = importlib.util.spec_from_file_location("bare_model", Path(recipe.base_dir) / file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        torch.manual_seed(recipe.train.seed)
        self._setup(torch, getattr(module, cls)(**recipe.model.config), recipe)

    def _setup(self, torch, model, recipe):
        """The model and the trainer's AdamW (decay on matrices only) and clipping, as the torch backend has them."""
        self.torch, self.model = torch, model
        params = list(model.parameters())
        o = recipe.optim
        groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": o.weight_decay},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
        self.opt = torch.optim.AdamW(groups, lr=o.lr, betas=tuple(o.betas), eps=o.eps)
        self.clip = recipe.train.clip_grad_norm

    def train_step(self, batches, weights, lr):
        torch = self.torch
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        b = batches[0]
        loss = self.model(torch.from_numpy(b["input_ids"]), labels=torch.from_numpy(b["labels"]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        return float(loss.detach())


class BareTransformersLoop(BareTorchLoop):
    """The --hf baseline: transformers' model from the folder and a plain loop, no mindbridge code."""

    def __init__(self, recipe):
        import torch
        import torch.nn.functional as F
        import transformers

        folder = Path(recipe.base_dir) / recipe.model.source[len("hf:"):]
        torch.manual_seed(recipe.train.seed)
        hf = transformers.AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32)

        class Model(torch.nn.Module):  # the same loss as the trainer's: labels are the next tokens already
            def __init__(self):
                super().__init__()
                self.hf = hf

            def forward(self, input_ids, labels):
                logits = self.hf(input_ids=input_ids, use_cache=False).logits
                return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)

        self._setup(torch, Model(), recipe)


ROWS = {  # row -> (label, backend for core.train, recipe overrides); backend None: a hand-written baseline
    "torch": ("torch backend", "torch", {}),
    "bare_torch": ("bare torch loop (baseline)", None, {}),
    "ms_graph": ("mindspore backend (graph)", "mindspore", {"train.mode": "graph"}),
    "ms_pynative": ("mindspore backend (pynative)", "mindspore", {"train.mode": "pynative"}),
    "native_graph": ("native mindspore (graph)", None, {}),
}
HF_ROWS = {  # --hf: a Hugging Face Llama folder of the tiny recipe's size, model.source: hf:DIR
    "torch": ("torch backend (hf:)", "torch", {}),
    "bare_transformers": ("bare transformers loop (baseline)", None, {}),
    "ms_pynative": ("mindspore backend (hf:, pynative)", "mindspore", {"train.mode": "pynative"}),
}
ALL_ROWS = {**ROWS, **HF_ROWS}
BASELINES = {"bare_torch": BareTorchLoop, "native_graph": NativeRunner, "bare_transformers": BareTransformersLoop}
# hf: folders run PyNative only: transformers' source does not compile in graph mode yet (docs/hf.md)
HF_GRAPH = "not measured: hf: folders do not compile in MindSpore graph mode yet (the run falls back to PyNative)"


def write_hf_llama(recipe_path: str, out: Path) -> Path:
    """A Hugging Face Llama folder with the recipe's model.config sizes (random, seed 0), and a copy of
    the recipe that trains it as `model.source: hf:`; returns the new recipe's path."""
    import torch
    import transformers
    import yaml

    raw = yaml.safe_load(Path(recipe_path).read_text())
    c = raw["model"]["config"]
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=c["vocab_size"], hidden_size=c["dim"], intermediate_size=c["hidden_dim"],
                                      num_hidden_layers=c["n_layers"], num_attention_heads=c["n_heads"],
                                      num_key_value_heads=c["n_kv_heads"], max_position_embeddings=c["max_seq_len"],
                                      rms_norm_eps=c.get("norm_eps", 1e-5), tie_word_embeddings=False)
    transformers.LlamaForCausalLM(config).save_pretrained(out / "hf-llama")
    raw["model"] = {"source": "hf:hf-llama"}
    raw["name"] = f"{Path(recipe_path).stem}_hf"
    if raw.get("data", {}).get("source", "embedded") != "embedded":
        raw["data"]["source"] = str((Path(recipe_path).parent / raw["data"]["source"]).resolve())
    recipe = out / "hf_llama.yaml"
    recipe.write_text(yaml.safe_dump(raw, sort_keys=False))
    return recipe


def _step_times(elapsed: list[float], warmup: int) -> list[float]:
    """Per-step wall times from cumulative times taken after each step, without the warm-up steps."""
    return [b - a for a, b in zip(elapsed, elapsed[1:])][max(warmup - 1, 0):]


def time_row(row: str, recipe_path: str, steps: int, warmup: int) -> float:
    """tokens/s of one row: tokens per step / median wall time of a step after warm-up, measured in this
    process (one framework's threads at a time). A step is one whole loop iteration: the batch from
    core.data, the update, and for the mindbridge rows everything core.trainer does around it (token
    weights, metrics line, progress), run through core.train exactly as `core.launch` runs it."""
    r = resolve_recipe(recipe_path, "torch", "cpu")
    label, backend, overrides = ALL_ROWS[row]
    tokens = r.data.batch_size * r.data.seq_len
    if backend is not None:
        import tempfile

        import core

        with tempfile.TemporaryDirectory() as out:
            core.train(recipe_path, backend=backend, device="cpu", log=lambda *a: None, overrides={
                **overrides, "train.steps": warmup + steps, "train.log_every": 0, "train.eval_every": 0,
                "train.save_every": 0, "train.eval_batches": 1, "checkpoint.keep_last": 1, "train.out_dir": out})
            lines = [json.loads(x) for x in (Path(out) / "metrics.jsonl").read_text().splitlines()]
        elapsed = [x["elapsed_s"] for x in lines if "loss" in x]
        return tokens / statistics.median(_step_times(elapsed, warmup))
    data = recipe_data(r)
    runner = BASELINES[row](r)
    elapsed, t0 = [], time.perf_counter()
    for step in range(warmup + steps):  # the warm-up steps include graph compilation
        runner.train_step([data.train_batch(step, 0)], [1.0], r.optim.lr)
        elapsed.append(time.perf_counter() - t0)
    return tokens / statistics.median(_step_times(elapsed, warmup))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recipe", nargs="?", default=str(REPO / "examples/llama/tiny.yaml"))
    p.add_argument("--steps", type=int, default=20, help="timed steps per row and round")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation)")
    p.add_argument("--rounds", type=int, default=2, help="rounds over all rows; the median is reported")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--hf", action="store_true", help="the same sizes as a Hugging Face Llama folder "
                                                     "(model.source: hf:DIR), transformers' own model")
    p.add_argument("--row", choices=list(ALL_ROWS), help=argparse.SUPPRESS)  # internal: time one row
    args = p.parse_args(argv)
    if args.row:
        print(json.dumps({"tokens_per_s": time_row(args.row, args.recipe, args.steps, args.warmup)}))
        return 0

    if args.hf:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mindbridge-hf-bench-") as tmp:
            return run_rows(args, str(write_hf_llama(args.recipe, Path(tmp))), HF_ROWS, {
                "torch / bare_transformers": ("torch", "bare_transformers"),
                "ms_pynative / torch": ("ms_pynative", "torch")}, notes={"mindspore backend (hf:, graph)": HF_GRAPH})
    return run_rows(args, args.recipe, ROWS, {
        "torch / bare_torch": ("torch", "bare_torch"), "ms_graph / native_graph": ("ms_graph", "native_graph"),
        "ms_graph / torch": ("ms_graph", "torch"), "ms_graph / ms_pynative": ("ms_graph", "ms_pynative")})


def run_rows(args, recipe: str, rows_spec: dict, ratio_spec: dict, notes: dict | None = None) -> int:
    # Each row runs in its own process: torch's and MindSpore's thread pools in one process slow
    # each other down (measured: torch 13x slower once MindSpore graphs were built beside it).
    # Rounds alternate the rows so that load from elsewhere on the machine hits them alike.
    samples: dict[str, list[float]] = {row: [] for row in rows_spec}
    r = resolve_recipe(recipe, "torch", "cpu")
    print(f"{r.name}: batch {r.data.batch_size} x {r.data.seq_len} tokens, {args.steps} timed steps x "
          f"{args.rounds} rounds per row, each row in its own process")
    for k in range(args.rounds):
        for row in rows_spec:
            cmd = [sys.executable, __file__, recipe, "--row", row, "--steps", str(args.steps),
                   "--warmup", str(args.warmup)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 1
            samples[row].append(json.loads(proc.stdout.strip().splitlines()[-1])["tokens_per_s"])
            print(f"  round {k + 1} {rows_spec[row][0]:<36} {samples[row][-1]:>10,.0f} tok/s", flush=True)
    rows = {row: statistics.median(v) for row, v in samples.items()}
    print("median tokens/s:")
    for row, v in rows.items():
        print(f"  {rows_spec[row][0]:<36} {v:>10,.0f}")
    for label, note in (notes or {}).items():
        print(f"  {label:<36} {note}")
    ratios = {name: rows[a] / rows[b] for name, (a, b) in ratio_spec.items()}
    print("ratios:")
    for k, v in ratios.items():
        print(f"  {k:<36} {v:6.2f}x")
    if args.json:
        atomic_write_text(args.json, json.dumps({"tokens_per_s": rows, "samples": samples, "ratios": ratios,
                                                 "notes": notes or {}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
