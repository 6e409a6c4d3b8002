"""Cross-backend parity: run one recipe on torch and on MindSpore from the same initial weights and
batches, compare, and write parity/report.md, report.json and loss.png.

    python -m core.parity examples/llama/tiny.yaml --steps 20            # or: mindbridge parity ...
    python -m core.parity RECIPE --steps 5 --layers --out parity/         # + every module's output
    python -m core.parity RECIPE --steps 0 --layers --ms-override layers.1.ffn_norm.eps=1e-2

What is compared (MindSpore against torch, fp32 on CPU by default; tolerances in core/parity/metrics.py):
step 0 forward output, loss and per-parameter gradients on the first training batch; the loss of
every training step, the final eval loss and every weight after the last step (both backends are
driven by core.trainer, so batches and learning rates are identical). `--layers` adds every
module's forward output at step 0 and names the first module that diverges. Exit status: 0 when
everything is within tolerance, 1 when something is not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from core.batch import describe
from core.errors import ParityError
from core.parity.metrics import loss_check, probe_checks, rel_diff, tolerances, weights_check
from core.parity.probes import compare_layers


def _silent(*args, **kwargs) -> None:
    return None


def parse_attr_overrides(items: list[str]) -> list[tuple[str, str, Any]]:
    """'layers.1.ffn_norm.eps=1e-2' -> ('layers.1.ffn_norm', 'eps', 0.01); the value is read as YAML."""
    out = []
    for item in items:
        path, sep, value = item.partition("=")
        cell, _, attr = path.strip().rpartition(".")
        if not sep or not attr:
            raise ParityError(f"--ms-override '{item}' must look like module.path.attribute=value "
                              "(e.g. layers.1.ffn_norm.eps=1e-2)")
        parsed = yaml.safe_load(value)
        if isinstance(parsed, str):  # PyYAML reads 1e-2 (no dot) as a string
            try:
                parsed = float(parsed)
            except ValueError:
                pass
        out.append((cell, attr, parsed))
    return out


def _backend(recipe, attrs=()):
    """A backend whose build() also applies the attribute overrides (MindSpore side only)."""
    from core.registry import create_backend

    backend = create_backend(recipe)
    if attrs:
        build = backend.build

        def build_and_patch():
            build()
            backend.set_module_attributes(list(attrs))

        backend.build = build_and_patch
    return backend


def run_parity(recipe_path: str, *, steps: int = 20, layers: bool = False, out: str | Path = "parity",
               device: str = "cpu", overrides: list[str] | None = None, ms_overrides: list[str] | None = None,
               ms_attrs: list[str] | None = None, tol: dict[str, float | None] | None = None, log=print) -> dict:
    """Run the comparison, write the report files under `out`, return the report dict ('ok' says pass)."""
    from core.checkpoint import write_weights
    from core.data import recipe_data
    from core.launch import resolve_recipe
    from core.parity.report import write_report
    from core.trainer import Trainer

    out = Path(out)
    attrs = parse_attr_overrides(list(ms_attrs or []))
    init = out / "init.safetensors"
    common = list(overrides or [])
    run_keys = [f"model.init_from={init.resolve()}", "train.log_every=0", "train.save_every=0", "train.eval_every=0",
                "checkpoint.resume=none", "checkpoint.keep_last=1"] + ([f"train.steps={steps}"] if steps > 0 else [])
    r_t = resolve_recipe(recipe_path, "torch", device, common)
    r_m = resolve_recipe(recipe_path, "mindspore", device, common + list(ms_overrides or []))
    tols = tolerances(r_t.train.precision, **(tol or {}))
    timing: dict[str, float] = {}

    # One neutral starting point: the torch model's initial weights (or the recipe's model.init_from).
    t0 = time.perf_counter()
    tb = _backend(r_t)
    tb.build()
    Trainer(r_t, tb, progress=False, log=_silent).init_weights()
    w0 = tb.state_dict()
    write_weights(w0, init)
    batch = recipe_data(r_t).train_batch(0, 0)
    log(f"parity: step-0 probe on a batch of {describe(batch)}{' with per-module outputs' if layers else ''}")
    t_probe = tb.probe(batch, layers=layers)
    timing["torch probe"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mb = _backend(r_m, attrs)
    mb.build()
    mb.load_state_dict(w0)
    m_probe = mb.probe(batch, layers=layers)
    timing["mindspore probe"] = time.perf_counter() - t0

    checks: dict[str, Any] = probe_checks(t_probe, m_probe, tols)
    if layers:
        checks["layers"] = compare_layers(t_probe.modules, m_probe.modules, tols.logits)
        first = checks["layers"]["first_divergent"]
        log(f"parity: first diverging module: {first}" if first else "parity: no module output diverges")

    if steps > 0:
        runs = {}
        for name, recipe, extra in (("torch", r_t, ()), ("mindspore", r_m, attrs)):
            r = resolve_recipe(recipe_path, name, device, (common if name == "torch" else common + list(
                ms_overrides or [])) + run_keys + [f"train.out_dir={(out / name).resolve()}"])
            log(f"parity: {steps} steps on {name}")
            t0 = time.perf_counter()
            backend = _backend(r, extra)
            summary = Trainer(r, backend, progress=False, log=_silent).run()
            timing[f"{name} {steps} steps"] = time.perf_counter() - t0
            runs[name] = (summary, backend.state_dict())
        (st, wt), (sm, wm) = runs["torch"], runs["mindspore"]
        checks["losses"] = loss_check(st.losses, sm.losses, tols.loss)
        ev_rel = rel_diff(sm.eval_loss, st.eval_loss)
        checks["eval_loss"] = {"torch": st.eval_loss, "mindspore": sm.eval_loss, "abs": abs(sm.eval_loss - st.eval_loss),
                               "rel": ev_rel, "ok": bool(ev_rel <= tols.loss)}
        checks["params"] = weights_check(wm, wt, w0, tols.params)

    failed = [k for k, v in checks.items() if not v["ok"]]
    rep = {"recipe": str(recipe_path), "steps": steps, "precision": r_t.train.precision,
           "devices": {"torch": tb.describe_device(), "mindspore": mb.describe_device()},
           "batch": describe(batch), "init": str(init), "tolerances": tols.to_dict(),
           "checks": checks, "failed": failed, "ok": not failed, "timing_s": timing}
    rep["files"] = {k: str(v) for k, v in write_report(rep, out).items()}
    return rep


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core.parity",
                                description="Compare a recipe on torch and MindSpore; write OUT/report.md, "
                                            "report.json, loss.png. Exit 1 when a tolerance is exceeded.")
    p.add_argument("recipe")
    p.add_argument("--steps", type=int, default=20, help="training steps to compare (0: only the step-0 probe)")
    p.add_argument("--layers", action="store_true", help="compare every module's forward output at step 0 and "
                                                         "name the first module that diverges")
    p.add_argument("--out", default="parity", help="report folder (default: parity/)")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "gpu", "npu"])
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="recipe override for both backends (repeatable)")
    p.add_argument("--ms-set", dest="ms_overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="recipe override for the MindSpore side only, e.g. model.source=patched.py:Llama")
    p.add_argument("--ms-override", dest="ms_attrs", action="append", default=[], metavar="MODULE.ATTR=VALUE",
                   help="set an attribute of one converted module (debugging), e.g. layers.1.ffn_norm.eps=1e-2")
    for name in ("logits", "grads", "loss", "params"):
        p.add_argument(f"--tol-{name}", type=float, default=None, help=f"tolerance for {name} (default per precision)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from core.launch import user_errors

    if args.steps < 0:
        print("error: --steps must be >= 0", file=sys.stderr)
        return 2
    tol = {k: getattr(args, f"tol_{k}") for k in ("logits", "grads", "loss", "params")}
    try:
        rep = run_parity(args.recipe, steps=args.steps, layers=args.layers, out=args.out, device=args.device,
                         overrides=args.overrides, ms_overrides=args.ms_overrides, ms_attrs=args.ms_attrs, tol=tol)
    except user_errors() + (ParityError,) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    c = rep["checks"]
    print(f"forward rel-L2 {c['forward']['rel_l2']:.2e} | grads worst rel-L2 "
          f"{c['grads']['per_name'][c['grads']['worst']]['rel_l2']:.2e} ({c['grads']['worst']})"
          + (f" | loss max rel {c['losses']['max_rel']:.2e} over {rep['steps']} steps | weights worst rel-L2 "
             f"{c['params']['per_name'][c['params']['worst']]['rel_l2']:.2e}" if "losses" in c else ""))
    if "layers" in c:
        print(f"first diverging module: {c['layers']['first_divergent'] or 'none'}")
    print(f"{'PASS' if rep['ok'] else 'FAIL: ' + ', '.join(rep['failed'])} | report: {rep['files']['md']}")
    return 0 if rep["ok"] else 1

