"""Write a parity report: report.json (everything), report.md (for people), loss.png (matplotlib).

Input is the dict core.parity.run.run_parity builds; each file is written atomically (core.atomic).
matplotlib is imported only when the plot is drawn (Agg backend, no display needed).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from core.atomic import atomic_path, atomic_write_text


def _clean(obj):
    """Strict JSON: non-finite floats become the strings 'inf', '-inf', 'nan'."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def _e(x) -> str:
    return f"{x:.2e}" if isinstance(x, (int, float)) else str(x)


def _mark(ok: bool) -> str:
    return "ok" if ok else "**FAIL**"


def render_markdown(rep: dict) -> str:
    tol = rep["tolerances"]
    c = rep["checks"]
    lines = [f"# Parity report: {rep['recipe']}", "",
             f"**{'PASS' if rep['ok'] else 'FAIL'}**" + ("" if rep["ok"] else f" ({', '.join(rep['failed'])})"), "",
             f"- torch: {rep['devices']['torch']}", f"- mindspore: {rep['devices']['mindspore']}",
             f"- precision {rep['precision']}, {rep['steps']} steps, batch {rep['batch']}, "
             f"initial weights `{rep['init']}` (both backends)", "",
             "Errors are MindSpore against torch: max-abs |ms - torch| and rel-L2 ||ms - torch|| / ||torch||.", "",
             "| check | max-abs | rel-L2 / rel | tolerance | result |", "|---|---|---|---|---|"]
    f = c["forward"]
    lines.append(f"| forward output (step 0) | {_e(f['max_abs'])} | {_e(f['rel_l2'])} | {_e(tol['logits'])} | "
                 f"{_mark(f['ok'])} |")
    lo = c["loss0"]
    lines.append(f"| loss (step 0) | {_e(lo['abs'])} | {_e(lo['rel'])} | {_e(tol['loss'])} | {_mark(lo['ok'])} |")
    g = c["grads"]
    if g["worst"]:
        w = g["per_name"][g["worst"]]
        lines.append(f"| grads (step 0), worst `{g['worst']}` of {len(g['per_name'])} | {_e(w['max_abs'])} | "
                     f"{_e(w['rel_l2'])} | {_e(tol['grads'])} | {_mark(g['ok'])} |")
    if "losses" in c:
        ls = c["losses"]
        lines.append(f"| per-step loss, worst step {ls['worst_step']} | {_e(ls['max_abs'])} | {_e(ls['max_rel'])} | "
                     f"{_e(tol['loss'])} | {_mark(ls['ok'])} |")
    if "eval_loss" in c:
        ev = c["eval_loss"]
        lines.append(f"| eval loss after step {rep['steps']} | {_e(ev['abs'])} | {_e(ev['rel'])} | {_e(tol['loss'])} | "
                     f"{_mark(ev['ok'])} |")
    if "params" in c:
        p = c["params"]
        if p["worst"]:
            w = p["per_name"][p["worst"]]
            lines.append(f"| weights after step {rep['steps']}, worst `{p['worst']}` | {_e(w['max_abs'])} | "
                         f"{_e(w['rel_l2'])} | {_e(tol['params'])} | {_mark(p['ok'])} |")
            lines.append(f"| drift / update size (info) | | {_e(p['drift_vs_update'])} | | |")
    for key in ("grads", "params"):
        if key in c and (c[key]["missing"] or c[key]["unexpected"]):
            lines.append(f"\n{key}: missing on mindspore {c[key]['missing'][:10]}, only on mindspore "
                         f"{c[key]['unexpected'][:10]}")
    if "layers" in c:
        lay = c["layers"]
        lines += ["", "## Per-module forward outputs (step 0)", ""]
        if lay["first_divergent"]:
            lines.append(f"**First module whose output diverges: `{lay['first_divergent']}`** "
                         f"(rel-L2 > {_e(tol['logits'])}; modules in the order their forward returned).")
        else:
            lines.append("No module output diverges beyond the forward tolerance.")
        if lay["missing"]:
            lines.append(f"\nModules with no MindSpore counterpart: {', '.join(lay['missing'][:20])}")
        lines += ["", "| # | module | call | shape | max-abs | rel-L2 | result |", "|---|---|---|---|---|---|---|"]
        for i, m in enumerate(lay["modules"]):
            lines.append(f"| {i} | `{m['name']}` | {m['call']} | {m['shape']} | {_e(m['max_abs'])} | "
                         f"{_e(m['rel_l2'])} | {_mark(m['ok'])} |")
        lines += ["", "## Per-parameter gradients (step 0)", "", "| parameter | max-abs | rel-L2 | result |",
                  "|---|---|---|---|"]
        for name, v in g["per_name"].items():
            lines.append(f"| `{name}` | {_e(v['max_abs'])} | {_e(v['rel_l2'])} | {_mark(v['ok'])} |")
    if "losses" in c:
        ls = c["losses"]
        lines += ["", "## Losses", "", "![loss curves](loss.png)", "", "| step | torch | mindspore | rel diff |",
                  "|---|---|---|---|"]
        for i, (a, b, r) in enumerate(zip(ls["torch"], ls["mindspore"], ls["rel"]), start=1):
            lines.append(f"| {i} | {a:.8f} | {b:.8f} | {_e(r)} |")
    lines += ["", f"Timing: {', '.join(f'{k} {v:.1f}s' for k, v in rep['timing_s'].items())}", ""]
    return "\n".join(lines)


def plot_losses(rep: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ls = rep["checks"]["losses"]
    steps = list(range(1, len(ls["torch"]) + 1))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.plot(steps, ls["torch"], "o-", label="torch", color="tab:blue", markersize=4)
    top.plot(steps, ls["mindspore"], "x--", label="mindspore", color="tab:orange", markersize=5)
    top.set_ylabel("training loss")
    top.set_title(f"{Path(rep['recipe']).name}: {rep['precision']}, same initial weights and batches")
    top.legend()
    top.grid(alpha=0.3)
    floor = 1e-12  # an exact match (0) still shows on the log axis
    bottom.semilogy(steps, [max(r, floor) for r in ls["rel"]], "s-", color="tab:green", markersize=4,
                    label="|ms - torch| / |torch|")
    bottom.axhline(rep["tolerances"]["loss"], color="tab:red", linestyle=":", label="tolerance")
    bottom.set_xlabel("step")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_ylabel("relative difference")
    bottom.legend(loc="best")
    bottom.grid(alpha=0.3, which="both")
    fig.tight_layout()
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)


def write_report(rep: dict, out: str | Path) -> dict[str, Path]:
    """Write report.json, report.md and (when steps ran) loss.png under `out`; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md"}
    atomic_write_text(paths["json"], json.dumps(_clean(rep), indent=2, allow_nan=False) + "\n")
    atomic_write_text(paths["md"], render_markdown(rep))
    if "losses" in rep["checks"]:
        paths["png"] = out / "loss.png"
        plot_losses(rep, paths["png"])
    return paths
