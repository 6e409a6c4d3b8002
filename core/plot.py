"""`python -m core.plot RUN_DIR` (or `mindbridge plot RUN_DIR`): a run's loss, lr and tokens/s as one PNG.

    python -m core.plot runs/tiny                  # writes runs/tiny/metrics.png
    python -m core.plot runs/tiny -o tiny.png

Reads RUN_DIR/metrics.jsonl (core/metrics.py); needs matplotlib (pip install matplotlib). The PNG is
written atomically. Errors are one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.atomic import atomic_path
from core.errors import UserError
from core.metrics import FILE


class PlotError(UserError):
    """A run folder that cannot be plotted."""


def read_records(run_dir: Path) -> list[dict]:
    path = run_dir / FILE
    if not path.is_file():
        raise PlotError(f"{path}: no such file (is {run_dir} a run folder?)")
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise PlotError(f"{path}:{n}: not a JSON line") from None
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
    if not records:
        raise PlotError(f"{path}: no steps recorded yet")
    return records


def plot(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw loss (and eval loss), learning rate and tokens/s against the step; returns the PNG path."""
    run_dir = Path(run_dir)
    records = read_records(run_dir)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError("plotting needs matplotlib: pip install matplotlib") from None

    def series(key):
        pts = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
        return [p[0] for p in pts], [p[1] for p in pts]

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = ((axes[0], ("loss", "eval_loss"), "loss"), (axes[1], ("lr",), "learning rate"),
              (axes[2], ("tokens_per_s",), "tokens/s"))
    for ax, keys, title in panels:
        for key in keys:
            xs, ys = series(key)
            if xs:
                ax.plot(xs, ys, marker="o" if key == "eval_loss" else None, label=key)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(str(run_dir))
    fig.tight_layout()
    target = Path(out) if out else run_dir / "metrics.png"
    with atomic_path(target, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.plot", description=__doc__.splitlines()[0])
    p.add_argument("run_dir")
    p.add_argument("-o", "--out", default=None, help="PNG path (default: RUN_DIR/metrics.png)")
    args = p.parse_args(argv)
    try:
        print(f"wrote {plot(args.run_dir, args.out)}")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
