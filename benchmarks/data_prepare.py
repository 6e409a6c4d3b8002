"""Tokens/s of SFT preparation: `python -m core.data prepare` (--workers 1 and 2) against `datasets.map`.

The input is the shipped examples/sft/tiny_sft.jsonl repeated to --rows rows; the tokenizer is the shipped
examples/sft/tiny-model one and the template its own ChatML (`qwen`; `auto` renders the same text through
transformers' Jinja). The baseline loads the same jsonl with `datasets.load_dataset("json")` and maps
`apply_chat_template` + the tokenizer over it with `map(batched=True)` (no answer mask: less work than ours).
Each timing is the whole job in a warm process (imports done): read, tokenise, write; every run starts
without a cache. Ours runs its tokenizer on one thread per worker (TOKENIZERS_PARALLELISM=false); the
baseline gets the Rust default (batch encoding on every core). Tokens/s counts
the tokens of the rendered conversations before cutoff (the same number for every method).

    python benchmarks/data_prepare.py [--rows 20000] [--repeat 3]

On a shared machine the numbers move with the load: run it when nothing else runs, and read the
workers-2 ratio against the load average (printed). Tokens per CPU-second (all threads and worker
processes) do not depend on the load: equal values for workers 1 and 2 mean the parallel work is not
wasted, and 2 free cores would give close to 2x.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EXAMPLE = REPO / "examples" / "sft"
TOKENIZER = EXAMPLE / "tiny-model"


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and of its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def make_input(folder: Path, rows: int) -> Path:
    lines = (EXAMPLE / "tiny_sft.jsonl").read_text(encoding="utf-8").splitlines()
    path = folder / "bench.jsonl"
    path.write_text("\n".join(lines[i % len(lines)] for i in range(rows)) + "\n", encoding="utf-8")
    return path


def ours(path: Path, out: Path, workers: int, template: str) -> float:
    from core.data.sft import Settings, prepare_sft

    t0 = time.perf_counter()
    prepare_sft(str(path), out, Settings(tokenizer=str(TOKENIZER), template=template, cutoff_len=100_000),
                workers=workers, progress=False, log=lambda *a: None)
    return time.perf_counter() - t0


def baseline(path: Path, cache: Path, num_proc: int | None) -> tuple[float, int]:
    import datasets
    from transformers import AutoTokenizer

    datasets.disable_progress_bars()
    saved = os.environ.pop("TOKENIZERS_PARALLELISM", None)  # datasets users get the Rust default (all cores)
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(str(TOKENIZER))
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(cache))

    def fn(batch):
        texts = tok.apply_chat_template(batch["messages"], tokenize=False)
        return {"input_ids": tok(texts, add_special_tokens=False)["input_ids"]}

    ds = ds.map(fn, batched=True, remove_columns=ds.column_names, num_proc=num_proc)
    dt = time.perf_counter() - t0
    if saved is not None:
        os.environ["TOKENIZERS_PARALLELISM"] = saved
    return dt, sum(len(x) for x in ds["input_ids"])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--repeat", type=int, default=3, help="runs per method; the best is reported")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mb-prep-bench-"))
    try:
        path = make_input(tmp, args.rows)
        warm = make_input(tmp / "warm", 200) if (tmp / "warm").mkdir() is None else None
        runs: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        tokens = 0
        ours(warm, tmp / "warm" / "o", 1, "auto")  # imports (transformers, datasets) out of the timings
        baseline(warm, tmp / "warm" / "c", None)
        for r in range(args.repeat):
            for name, fn in [("ours workers=1", lambda o: ours(path, o, 1, "qwen")),
                             ("ours workers=2", lambda o: ours(path, o, 2, "qwen")),
                             ("ours workers=1 (jinja auto)", lambda o: ours(path, o, 1, "auto")),
                             ("datasets.map", lambda o: baseline(path, o, None)[0]),
                             ("datasets.map num_proc=2", lambda o: baseline(path, o, 2)[0])]:
                out = tmp / f"out-{r}-{len(runs.get(name, []))}-{abs(hash(name))}"
                c0 = cpu_seconds()
                runs.setdefault(name, []).append(fn(out))
                cpu.setdefault(name, []).append(cpu_seconds() - c0)
                shutil.rmtree(out, ignore_errors=True)
        _, tokens = baseline(path, tmp / "count", None)
        best = {k: min(v) for k, v in runs.items()}
        print(f"{args.rows:,} rows, {tokens:,} tokens, {path.stat().st_size / 1e6:.1f} MB; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; best of {args.repeat}")
        for name, t in best.items():
            c = cpu[name][runs[name].index(t)]
            print(f"  {name:<30} {t:6.2f} s  {tokens / t:>12,.0f} tok/s   {c:6.2f} CPU-s  "
                  f"{tokens / c:>10,.0f} tok/CPU-s")
        b, w1, w2 = best["datasets.map"], best["ours workers=1"], best["ours workers=2"]
        print(f"ours workers=1 / datasets.map: {b / w1:.2f}x (target >= 1)")
        print(f"ours workers=2 / datasets.map num_proc=2: {best['datasets.map num_proc=2'] / w2:.2f}x")
        print(f"ours workers=2 / workers=1: {w1 / w2:.2f}x (target >= 1.7 on 2 free cores)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
