"""Command line of the patch manager.

    python -m patches list                      # every registered patch: condition, applied or not
    python -m patches list --set mindspore --apply   # apply the set here first, then list
    python -m patches bisect RECIPE [--set mindspore] [--check "CMD {recipe}"] [--keep NAME ...]
"""

from __future__ import annotations

import argparse
import sys

from patches.manager import MANAGER

SETS = ("mindspore", "torch_npu")


def _load_sets(which) -> None:
    import importlib

    for name in which:
        try:
            importlib.import_module(f"patches.{name}")
        except ImportError as e:  # the framework of that set is not installed
            print(f"(set {name} not loaded: {e})", file=sys.stderr)


def cmd_list(args) -> int:
    sets = [args.set] if args.set else list(SETS)
    _load_sets(sets)
    if args.apply:
        import importlib

        for s in sets:
            importlib.import_module(f"patches.{s}").apply()
    rows = [p for p in MANAGER.patches.values() if p.group in sets]
    if not rows:
        print("no patches registered")
        return 0
    width = max(len(p.name) for p in rows)
    for group in sets:
        group_rows = [p for p in rows if p.group == group]
        if not group_rows:
            continue
        print(f"[{group}] {len(group_rows)} patches, {sum(MANAGER.is_applied(p.name) for p in group_rows)} applied")
        for p in group_rows:
            state = "applied" if MANAGER.is_applied(p.name) else "-"
            kind = "wrapper" if p.is_wrapper else "replace"
            extra = f"  [{p.note}]" if p.note else ""
            why = f"  (skipped: {MANAGER.skipped[p.name]})" if p.name in MANAGER.skipped else ""
            print(f"  {p.name:<{width}}  {kind:7s} {state:7s} if {p.condition.description}{extra}{why}")
    return 0


def cmd_bisect(args) -> int:
    from patches.bisect import bisect_prefix, check_command, command_check

    group = args.set or _recipe_set(args.recipe)
    _load_sets([group])
    names = [p.name for p in MANAGER.select(group=group) if p.name not in args.keep]
    command = check_command(args.check, args.recipe)
    print(f"bisecting {len(names)} patches of set '{group}' with: {' '.join(command)}")
    result = bisect_prefix(names, command_check(command, args.keep))
    print(result.message)
    return 0 if result.culprit or result.runs[0][1] else 1


def _recipe_set(recipe: str) -> str:
    """mindspore recipes bisect the fallback set; torch recipes the fused-kernel set."""
    try:
        from core.recipe import load_recipe

        backend = load_recipe(recipe).backend
    except Exception as e:
        raise SystemExit(f"error: cannot read recipe {recipe}: {e}") from None
    return "mindspore" if backend == "mindspore" else "torch_npu"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m patches", description="mindbridge patch manager")
    sub = ap.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("list", help="registered patches with their conditions and state")
    lp.add_argument("--set", choices=SETS)
    lp.add_argument("--apply", action="store_true", help="apply the set(s) here before listing")
    bp = sub.add_parser("bisect", help="find the patch that breaks a parity check")
    bp.add_argument("recipe")
    bp.add_argument("--set", choices=SETS, help="default: from the recipe's backend")
    bp.add_argument("--check", help='command template, {recipe} is substituted (default: python -m core.parity)')
    bp.add_argument("--keep", action="append", default=[], metavar="NAME", help="always applied (repeatable)")
    args = ap.parse_args(argv)
    return cmd_list(args) if args.cmd == "list" else cmd_bisect(args)


if __name__ == "__main__":
    sys.exit(main())
